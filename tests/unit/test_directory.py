"""The endpoint directory is read from the protos; the endpoint tables of the README and
docs/DEFINITIONS.md#endpoints are the blocks `make gen` writes from them."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from mlanalytics.v1.services import SERVICES
from server.api import servicers
from server.api.directory import CACHED_METHODS, SERVICE_NAMES, endpoints

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("generate", ROOT / "clients" / "generate.py")
assert _SPEC is not None
assert _SPEC.loader is not None
generate = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(generate)
DOCUMENTS: dict[str, str] = generate.DOCUMENTS
endpoint_tables = generate.endpoint_tables
generated_block = generate.generated_block

DOCUMENTED_ENDPOINTS = [
    ("/api/metrics/summary", "MetricsService", ["end_time"]),
    ("/api/metrics/rolling", "MetricsService", ["model_id", "window", "end_time"]),
    ("/api/metrics/model/{model_id}", "MetricsService", ["window", "end_time"]),
    (
        "/api/metrics/series",
        "MetricsService",
        ["model_id", "metric", "window", "step", "start_time", "end_time"],
    ),
    ("/api/metrics/custom", "MetricsService", ["model_id", "window", "end_time"]),
    ("/api/metrics/custom/definitions", "MetricsService", []),
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
    ("/api/performance/trends/{model_id}", "PerformanceService", ["days", "end_time"]),
    ("/api/performance/comparison", "PerformanceService", ["window", "end_time"]),
    ("/api/performance/ab", "PerformanceService", ["model_a", "model_b", "window", "end_time"]),
    ("/api/models/{model_id}/versions", "ModelVersionService", ["end_time"]),
    (
        "/api/models/{model_id}/versions/compare",
        "ModelVersionService",
        ["baseline", "candidate", "baseline_days", "end_time"],
    ),
    ("/api/anomalies/{model_id}", "AnomalyService", ["window", "end_time"]),
    ("/api/health/models/watch", "HealthService", []),
    ("/metrics", "HealthService", []),
    ("/api/drift/watch", "DriftService", ["model_id", "window_hours", "baseline_days"]),
    ("/openapi.json", "DocsService", []),
    ("/docs", "DocsService", []),
    ("/redoc", "DocsService", []),
    ("/docs/{asset}", "DocsService", []),
    ("/dashboard", "DocsService", []),
    ("/dashboard/{asset}", "DocsService", []),
]


def test_documented_paths_with_their_parameters() -> None:
    got = [
        (e.path, e.rpc.split("/")[0].removeprefix("mlanalytics.v1."), list(e.query_parameters))
        for e in endpoints()
    ]
    assert sorted(got) == sorted(DOCUMENTED_ENDPOINTS)
    assert {e.method for e in endpoints()} == {"GET"}


def _transcoded(node: object) -> list[str] | None:
    """The ``services`` of the gRPC-JSON transcoder's config in envoy.yaml."""
    if isinstance(node, dict):
        if "proto_descriptor" in node:
            return list(node["services"])
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = _transcoded(item)
            if found is not None:
                return found
    return None


def test_every_service_of_the_protos_is_served_listed_and_transcoded() -> None:
    declared = {
        f"mlanalytics.v1.{name}"
        for proto in (ROOT / "protos" / "mlanalytics" / "v1").glob("*.proto")
        for name in re.findall(r"^service (\w+)", proto.read_text(), re.M)
    }
    assert sorted(SERVICE_NAMES) == sorted(declared)
    assert SERVICE_NAMES[-1] == "mlanalytics.v1.DocsService"  # the pages last
    assert _transcoded(yaml.safe_load((ROOT / "envoy.yaml").read_text())) == list(SERVICE_NAMES)
    classes = servicers._servicer_classes()
    for service in SERVICES:
        implemented = servicers.servicer_class(service, classes)
        assert implemented.__module__.startswith("server.api.servicers."), service.full_name


def test_no_service_has_more_than_six_rpcs() -> None:
    sizes = {service.name: len(service.methods) for service in SERVICES}
    assert max(sizes.values()) <= 6, sizes


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_the_endpoint_tables_are_what_make_gen_writes(document: str) -> None:
    text = (ROOT / document).read_text()
    block = generated_block(text, DOCUMENTS[document])
    assert block is not None, f"{document} lost its generated block"
    assert block == endpoint_tables()[document], f"{document}: run make gen"
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    assert len(rows) == len(endpoints())


def test_the_documentation_pages_are_not_cached() -> None:
    assert not any("DocsService" in method for method in CACHED_METHODS)
    assert "/mlanalytics.v1.MetricsService/GetRollingMetrics" in CACHED_METHODS
