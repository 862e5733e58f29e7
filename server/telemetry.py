"""Prometheus metrics of the service (docs/DEFINITIONS.md#prometheus-metrics).

One registry per server (tests run several in one process). RPC counters and the latency
histogram are filled by ``server.api.rpc_metrics``; everything else is read at scrape time by
:class:`ServiceCollector`: the database probe, the pool's statistics, the response cache's
counters, the watch streams, and the per-model gauges, which come from the same shared
evaluations as the watch streams (``server.evaluations``): no second code path for a number.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from analytics.anomalies import SIGNALS
from server.cache import ResponseCache
from server.custom_metrics import CustomMetrics
from server.errors import ServiceError
from server.evaluations import DriftKey, Evaluations
from server.reports.drift import DriftReport
from server.reports.health import HealthList, ModelHealth
from server.reports.windows import Summary
from server.streams import Hub

log = logging.getLogger(__name__)

#: ``mlanalytics_model_health_status`` and ``mlanalytics_model_drift_status`` values.
STATUS_VALUES = {"healthy": 0, "warning": 1, "critical": 2}
DRIFT_STATUS_VALUES = {"unknown": -1, **STATUS_VALUES}
#: Latency buckets in seconds: fine below 20 ms (the targets), 0.2 s for the p99 alert.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The drift parameters of the per-model gauges (the defaults of GET /api/drift/status).
GAUGE_DRIFT = {"window_hours": 24, "baseline_days": 7}

_RPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")


class Telemetry:
    """The registry, the RPC metrics, and the text exposition of everything registered."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `*_created` series
        self.registry = CollectorRegistry(auto_describe=True)
        self.started = Counter(
            "grpc_server_started",
            "RPCs started on the server.",
            _RPC_LABELS,
            registry=self.registry,
        )
        self.handled = Counter(
            "grpc_server_handled",
            "RPCs completed on the server, by gRPC status code.",
            (*_RPC_LABELS, "grpc_code"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "grpc_server_handling_seconds",
            "Time from the start of an RPC to its answer, in seconds.",
            _RPC_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)

    def exposition(self) -> tuple[str, bytes]:
        """The content type and body of GET /metrics."""
        return CONTENT_TYPE_PLAIN_0_0_4, generate_latest(self.registry)


class ServiceCollector(Collector):
    """Reads the service's state at scrape time."""

    def __init__(
        self,
        *,
        pool: ConnectionPool,
        database_connected: Callable[[], bool],
        cache: ResponseCache[Any] | None,
        hub: Hub,
        evaluations: Evaluations,
        custom: CustomMetrics | None = None,
    ) -> None:
        self._custom = custom
        self._pool = pool
        self._database_connected = database_connected
        self._cache = cache
        self._hub = hub
        self._evaluations = evaluations

    def describe(self) -> list[Metric]:
        return []  # evaluated only at scrape time, never at registration

    def collect(self) -> Iterator[Metric]:
        yield _gauge(
            "mlanalytics_database_up",
            "1 while the database answers the background probe (once a second), else 0.",
            int(self._database_connected()),
        )
        yield from self._pool_metrics()
        yield from self._cache_metrics()
        yield from self._stream_metrics()
        yield from self._custom_definitions()
        yield from self._model_metrics()

    def _custom_definitions(self) -> Iterator[Metric]:
        if self._custom is None:
            return
        yield _gauge(
            "mlanalytics_custom_metrics_defined",
            "Custom metrics in force (CUSTOM_METRICS_FILE).",
            len(self._custom.metrics),
        )
        reloads = CounterMetricFamily(
            "mlanalytics_custom_metrics_reloads",
            "Reloads of CUSTOM_METRICS_FILE (SIGHUP): ok, or failed (the old definitions stayed).",
            labels=["result"],
        )
        reloads.add_metric(["ok"], self._custom.reloads)
        reloads.add_metric(["failed"], self._custom.failed_reloads)
        yield reloads

    def _pool_metrics(self) -> Iterator[Metric]:
        stats = self._pool.get_stats()
        size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
        connections = GaugeMetricFamily(
            "mlanalytics_db_pool_connections",
            "Connections held by the pool: in use by a call, or idle.",
            labels=["state"],
        )
        connections.add_metric(["in_use"], size - available)
        connections.add_metric(["idle"], available)
        yield connections
        yield _gauge(
            "mlanalytics_db_pool_max_connections", "The pool's maximum size.", self._pool.max_size
        )
        yield _gauge(
            "mlanalytics_db_pool_requests_waiting",
            "Calls waiting for a connection right now.",
            stats.get("requests_waiting", 0),
        )
        for key, name, help_text in (
            ("requests_num", "requests", "Connections handed out by the pool."),
            ("requests_queued", "requests_queued", "Requests that had to wait for a connection."),
            ("requests_errors", "requests_errors", "Requests that got no connection in time."),
            ("connections_errors", "connection_errors", "Failed attempts to open a connection."),
            ("connections_lost", "connections_lost", "Connections found broken and replaced."),
        ):
            yield CounterMetricFamily(
                f"mlanalytics_db_pool_{name}", help_text, value=stats.get(key, 0)
            )

    def _cache_metrics(self) -> Iterator[Metric]:
        if self._cache is None:
            return
        stats = self._cache.stats()
        lookups = CounterMetricFamily(
            "mlanalytics_cache_lookups",
            "Response cache lookups: hit (served from an entry), shared (served the result of an"
            " identical call's computation), miss (computed).",
            labels=["result"],
        )
        lookups.add_metric(["hit"], stats.hits)
        lookups.add_metric(["shared"], stats.shared)
        lookups.add_metric(["miss"], stats.misses)
        yield lookups
        yield _gauge("mlanalytics_cache_entries", "Entries in the response cache.", stats.entries)

    def _stream_metrics(self) -> Iterator[Metric]:
        subscribers = GaugeMetricFamily(
            "mlanalytics_stream_subscribers", "Open watch streams.", labels=["stream"]
        )
        topics = GaugeMetricFamily(
            "mlanalytics_stream_topics",
            "Distinct keys watched (each evaluated once per tick).",
            labels=["stream"],
        )
        evaluations = CounterMetricFamily(
            "mlanalytics_stream_evaluations",
            "Evaluations done by the stream publishers.",
            labels=["stream"],
        )
        dropped = CounterMetricFamily(
            "mlanalytics_stream_dropped_subscribers",
            "Subscribers dropped for reading too slowly.",
            labels=["stream"],
        )
        for stream, stats in self._hub.stats().items():
            subscribers.add_metric([stream], stats.subscribers)
            topics.add_metric([stream], stats.topics)
            evaluations.add_metric([stream], stats.evaluations)
            dropped.add_metric([stream], stats.dropped)
        yield from (subscribers, topics, evaluations, dropped)
        yield _gauge(
            "mlanalytics_stream_max_subscribers",
            "Open watch streams allowed (STREAM_MAX_SUBSCRIBERS).",
            self._hub.max_subscribers,
        )

    def _model_metrics(self) -> Iterator[Metric]:
        try:
            health = self._evaluations.health()
            summary = self._evaluations.summary()
        except ServiceError as error:
            log.info("per-model gauges skipped: %s", error)
            yield _gauge(
                "mlanalytics_model_metrics_up",
                "1 when the per-model gauges could be computed, else 0.",
                0,
            )
            return
        yield _gauge(
            "mlanalytics_model_metrics_up",
            "1 when the per-model gauges could be computed, else 0.",
            1,
        )
        yield from _market(health)
        yield from _health_gauges(health)
        yield from _custom_gauges(health)
        yield from _change_point_gauges(health)
        yield from _summary_gauges(summary)
        drift = {}
        for model in health.models:
            try:
                drift[model.model_id] = self._evaluations.drift(
                    DriftKey(model.model_id, **GAUGE_DRIFT), settled=True
                )
            except ServiceError as error:
                log.info("drift gauges of %s skipped: %s", model.model_id, error)
        yield from _drift_gauges(drift)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _per_model(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=["model_id"])


def _market(health: HealthList) -> Iterator[Metric]:
    yield _gauge(
        "mlanalytics_market_open",
        "1 while the market session is open, else 0.",
        int(health.market.open),
    )


def _recency_minutes(model: ModelHealth) -> float | None:
    """The minutes the health rules' recency uses: market minutes."""
    return model.market_minutes_since_last


def _health_gauges(health: HealthList) -> Iterator[Metric]:
    models = GaugeMetricFamily(
        "mlanalytics_models", "Models on the health list, by status.", labels=["status"]
    )
    for name in STATUS_VALUES:
        models.add_metric([name], health.count(name))
    yield models
    score = _per_model("mlanalytics_model_health_score", "Health score, 0 to 100.")
    status = _per_model(
        "mlanalytics_model_health_status", "Health status: 0 healthy, 1 warning, 2 critical."
    )
    minutes = _per_model(
        "mlanalytics_model_minutes_since_last_prediction",
        "Minutes since the model's last prediction, as the health rules count them.",
    )
    win_rate = _per_model(
        "mlanalytics_model_win_rate", "Win rate over the health window (24 h), 0 to 1."
    )
    predictions = _per_model(
        "mlanalytics_model_predictions", "Predictions in the health window (24 h)."
    )
    rollback = _per_model(
        "mlanalytics_model_rollback",
        "1 when the current version trades significantly worse than the one it replaced"
        " (the default version comparison's verdict is rollback), else 0.",
    )
    for model in health.models:
        labels = [model.model_id]
        score.add_metric(labels, model.assessment.health_score)
        status.add_metric(labels, STATUS_VALUES[model.assessment.status])
        recency = _recency_minutes(model)
        if recency is not None:
            minutes.add_metric(labels, recency)
        activity = model.activity
        win_rate.add_metric(labels, activity.win_rate if activity else 0.0)
        predictions.add_metric(labels, activity.predictions if activity else 0)
        rollback.add_metric(labels, int(model.rollback))
    yield from (score, status, minutes, win_rate, predictions, rollback)


def _custom_gauges(health: HealthList) -> Iterator[Metric]:
    values = GaugeMetricFamily(
        "mlanalytics_model_custom_metric",
        "Each custom metric (CUSTOM_METRICS_FILE) over the health window (24 h); absent when"
        " undefined.",
        labels=["model_id", "metric"],
    )
    breached = GaugeMetricFamily(
        "mlanalytics_model_custom_metric_status",
        "Each custom metric's threshold status: 0 ok, 1 warning, 2 critical.",
        labels=["model_id", "metric"],
    )
    levels = {"warning": 1, "critical": 2}
    for model in health.models:
        for value in model.custom:
            labels = [model.model_id, value.metric.name]
            if value.value is not None:
                values.add_metric(labels, value.value)
            breached.add_metric(labels, levels.get(value.status, 0))
    yield from (values, breached)


def _change_point_gauges(health: HealthList) -> Iterator[Metric]:
    """Change points starting in the health window, per model and signal (0 when none)."""
    counts = GaugeMetricFamily(
        "mlanalytics_model_change_points",
        "Change points of the model's signal starting in the health window (24 h).",
        labels=["model_id", "signal"],
    )
    for model in health.models:
        found = collections.Counter(c.signal for c in model.change_points)
        for signal in SIGNALS:
            counts.add_metric([model.model_id, signal], found[signal])
    yield counts


def _summary_gauges(summary: Summary) -> Iterator[Metric]:
    sharpe = _per_model(
        "mlanalytics_model_sharpe_ratio_24h", "Annualized Sharpe ratio of the last 24 h rewards."
    )
    for model in summary.models:
        sharpe.add_metric([model.model_id], model.analysis.trading.sharpe_ratio)
    yield sharpe


def _drift_gauges(drift: dict[str, DriftReport]) -> Iterator[Metric]:
    score = _per_model(
        "mlanalytics_model_data_drift_score",
        "Mean KS statistic over the checked features (24 h against the 7 days before).",
    )
    drifted = _per_model(
        "mlanalytics_model_features_drifted", "Features whose KS statistic exceeds the warning."
    )
    status = _per_model(
        "mlanalytics_model_drift_status",
        "Drift status: -1 unknown, 0 healthy, 1 warning, 2 critical.",
    )
    for model_id, report in drift.items():
        score.add_metric([model_id], report.data.data_drift_score)
        drifted.add_metric([model_id], len(report.data.features_drifted))
        status.add_metric([model_id], DRIFT_STATUS_VALUES[report.verdict.status])
    yield from (score, drifted, status)
