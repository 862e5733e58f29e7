"""The endpoint directory is read from the protos and matches docs/DEFINITIONS.md#endpoints."""

from __future__ import annotations

from server.api.directory import CACHED_METHODS, SERVICE_NAMES, endpoints

DOCUMENTED_ENDPOINTS = [
    ("/api/metrics/summary", "MetricsService", ["end_time"]),
    ("/api/metrics/rolling", "MetricsService", ["model_id", "window", "end_time"]),
    ("/api/metrics/model/{model_id}", "MetricsService", ["window", "end_time"]),
    ("/api/predictions/accuracy", "PredictionService", ["model_id", "window", "end_time"]),
    (
        "/api/predictions/history",
        "PredictionService",
        ["model_id", "page", "page_size", "start_time", "end_time"],
    ),
    ("/api/predictions/comparison", "PredictionService", ["model_id", "limit", "end_time"]),
    (
        "/api/drift/status",
        "DriftService",
        ["model_id", "window_hours", "baseline_days", "end_time"],
    ),
    (
        "/api/drift/features",
        "DriftService",
        ["model_id", "window_hours", "baseline_days", "end_time"],
    ),
    ("/health", "HealthService", []),
    ("/", "HealthService", []),
    ("/api/health/models", "HealthService", ["end_time"]),
    ("/api/health/model/{model_id}", "HealthService", ["end_time"]),
    ("/api/performance/trends/{model_id}", "HealthService", ["days", "end_time"]),
    ("/api/performance/comparison", "HealthService", ["window", "end_time"]),
    ("/api/performance/ab", "HealthService", ["model_a", "model_b", "window", "end_time"]),
    ("/api/health/models/watch", "HealthService", []),
    ("/metrics", "HealthService", []),
    ("/api/drift/watch", "DriftService", ["model_id", "window_hours", "baseline_days"]),
    ("/openapi.json", "DocsService", []),
    ("/docs", "DocsService", []),
    ("/redoc", "DocsService", []),
    ("/docs/{asset}", "DocsService", []),
]


def test_documented_paths_with_their_parameters() -> None:
    got = [
        (e.path, e.rpc.split("/")[0].removeprefix("mlanalytics.v1."), list(e.query_parameters))
        for e in endpoints()
    ]
    assert sorted(got) == sorted(DOCUMENTED_ENDPOINTS)
    assert {e.method for e in endpoints()} == {"GET"}


def test_service_names_come_from_the_package() -> None:
    assert SERVICE_NAMES == (
        "mlanalytics.v1.MetricsService",
        "mlanalytics.v1.PredictionService",
        "mlanalytics.v1.DriftService",
        "mlanalytics.v1.HealthService",
        "mlanalytics.v1.DocsService",
    )


def test_the_documentation_pages_are_not_cached() -> None:
    assert not any("DocsService" in method for method in CACHED_METHODS)
    assert "/mlanalytics.v1.MetricsService/GetRollingMetrics" in CACHED_METHODS
