"""``AnalyticsClient``: the typed Python client of the ML Analytics Service over gRPC.

>>> with AnalyticsClient("localhost:8004") as client:  # doctest: +SKIP
...     rolling = client.rolling_metrics("ppo_lstm_v3.2", window="7d")
...     print(rolling.metrics.sharpe_ratio)

Every method takes keyword arguments named like the REST query parameters, has a deadline
(``timeout``, default 10 s), is retried on UNAVAILABLE only (gRPC service config: up to 5
attempts, exponential backoff), and returns the typed ``data`` message of the response. Failures
raise the typed exceptions of ``mlanalytics.errors``.

The watch methods (``watch_model_health``, ``watch_drift``) are iterators over a server stream,
without a deadline, that reconnect by themselves and resume cleanly (docs/DEFINITIONS.md#watch-
streams): a snapshot already delivered is not delivered again after a reconnection.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import grpc

from mlanalytics.errors import from_rpc_error
from mlanalytics.v1 import (
    anomaly_service_pb2,
    anomaly_service_pb2_grpc,
    common_pb2,
    drift_service_pb2,
    drift_service_pb2_grpc,
    health_service_pb2,
    health_service_pb2_grpc,
    metrics_service_pb2,
    metrics_service_pb2_grpc,
    performance_service_pb2,
    performance_service_pb2_grpc,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
    version_service_pb2,
    version_service_pb2_grpc,
)

DEFAULT_TARGET = "localhost:8004"
DEFAULT_TIMEOUT_S = 10.0

_SERVICES = tuple(
    service.full_name
    for module in (
        metrics_service_pb2,
        prediction_service_pb2,
        drift_service_pb2,
        health_service_pb2,
        performance_service_pb2,
    )
    for service in module.DESCRIPTOR.services_by_name.values()
)
_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": name} for name in _SERVICES],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)

Request = TypeVar("Request")
Response = TypeVar("Response")
Event = TypeVar(
    "Event", health_service_pb2.WatchModelHealthResponse, drift_service_pb2.WatchDriftResponse
)

#: A watch is reopened after these codes (the server stopping or restarting, a dropped slow reader,
#: the stream limit); any other ends it with the typed exception.
RECONNECT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
#: The server sends a heartbeat at least every 15 s; a stream silent this long is dead.
DEFAULT_IDLE_TIMEOUT_S = 45.0
Time = datetime | str | None


def _time(value: Time) -> str:
    """RFC 3339 for a datetime (naive means UTC); strings pass through; None is ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat()
    return value


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready")
    ),
    grpc.ClientCallDetails,
):
    pass


if TYPE_CHECKING:  # generic in grpc-stubs only
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.UnaryStreamClientInterceptor[Any, Any]
else:
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor
    _UnaryStream = grpc.UnaryStreamClientInterceptor


class _BearerToken(_UnaryUnary, _UnaryStream):
    """Adds ``authorization: Bearer <token>`` to every call (also over a plaintext channel, for
    a local stack with tokens but no TLS, where gRPC's call credentials would refuse)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> _CallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            [*(details.metadata or ()), self._header],
            details.credentials,
            details.wait_for_ready,
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class AnalyticsClient:
    """A connection to the service (Envoy's port 8004, or the server's own gRPC port)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
        root_certificates: bytes | None = None,
        tls: bool = False,
    ) -> None:
        """``token``: a bearer token (JWT) sent with every call, for a deployment that asks for
        one (docs/SECURITY.md). ``root_certificates`` (PEM): TLS, trusting these roots (a
        self-signed deployment's certificate); ``tls``: TLS with the system's roots."""
        if credentials is None and (tls or root_certificates is not None):
            credentials = grpc.ssl_channel_credentials(root_certificates)
        options = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", _SERVICE_CONFIG),
            # Reconnect quickly after the server comes back.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        self._channel = (
            grpc.secure_channel(target, credentials, options)
            if credentials
            else grpc.insecure_channel(target, options)
        )
        if token:
            self._channel = grpc.intercept_channel(self._channel, _BearerToken(token))
        self.timeout = timeout
        self._metrics = metrics_service_pb2_grpc.MetricsServiceStub(self._channel)
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        self._drift = drift_service_pb2_grpc.DriftServiceStub(self._channel)
        self._health = health_service_pb2_grpc.HealthServiceStub(self._channel)
        self._performance = performance_service_pb2_grpc.PerformanceServiceStub(self._channel)
        self._versions = version_service_pb2_grpc.ModelVersionServiceStub(self._channel)
        self._anomalies = anomaly_service_pb2_grpc.AnomalyServiceStub(self._channel)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(
        self,
        method: Callable[..., Response],
        request: Any,
        timeout: float | None,
    ) -> Response:
        try:
            return method(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None

    # --- MetricsService -------------------------------------------------------------------------

    def metrics_summary(
        self, *, end_time: Time = None, timeout: float | None = None
    ) -> metrics_service_pb2.MetricsSummary:
        """GET /api/metrics/summary: 24 h metrics of every model seen in the last 7 days."""
        request = metrics_service_pb2.GetMetricsSummaryRequest(end_time=_time(end_time))
        return self._call(self._metrics.GetMetricsSummary, request, timeout).data

    def rolling_metrics(
        self,
        model_id: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> common_pb2.RollingMetrics:
        """GET /api/metrics/rolling: one model's metrics over 1h, 24h (default), 7d or 30d."""
        request = metrics_service_pb2.GetRollingMetricsRequest(
            model_id=model_id, window=window, end_time=_time(end_time)
        )
        return self._call(self._metrics.GetRollingMetrics, request, timeout).data

    def model_metrics(
        self,
        model_id: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> metrics_service_pb2.ModelMetrics:
        """GET /api/metrics/model/{model_id}: rolling metrics, drift and accuracy."""
        request = metrics_service_pb2.GetModelMetricsRequest(
            model_id=model_id, window=window, end_time=_time(end_time)
        )
        return self._call(self._metrics.GetModelMetrics, request, timeout).data

    def metric_series(
        self,
        model_id: str,
        metric: str,
        *,
        window: str = "",
        step: str = "",
        start_time: Time = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> metrics_service_pb2.MetricSeries:
        """GET /api/metrics/series: a rolling (or custom) metric at every step of a range."""
        request = metrics_service_pb2.GetMetricSeriesRequest(
            model_id=model_id,
            metric=metric,
            window=window,
            step=step,
            start_time=_time(start_time),
            end_time=_time(end_time),
        )
        return self._call(self._metrics.GetMetricSeries, request, timeout).data

    def custom_metrics(
        self,
        model_id: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> metrics_service_pb2.CustomMetrics:
        """GET /api/metrics/custom: the desk's own metrics of one model over one window."""
        request = metrics_service_pb2.GetCustomMetricsRequest(
            model_id=model_id, window=window, end_time=_time(end_time)
        )
        return self._call(self._metrics.GetCustomMetrics, request, timeout).data

    def custom_metric_definitions(
        self, *, timeout: float | None = None
    ) -> metrics_service_pb2.CustomMetricDefinitions:
        """GET /api/metrics/custom/definitions: the custom metric definitions in force."""
        request = metrics_service_pb2.GetCustomMetricDefinitionsRequest()
        return self._call(self._metrics.GetCustomMetricDefinitions, request, timeout).data

    # --- PredictionService ----------------------------------------------------------------------

    def prediction_accuracy(
        self,
        model_id: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> common_pb2.AccuracyReport:
        """GET /api/predictions/accuracy: accuracy, per-class metrics, confusion matrix."""
        request = prediction_service_pb2.GetPredictionAccuracyRequest(
            model_id=model_id, window=window, end_time=_time(end_time)
        )
        return self._call(self._predictions.GetPredictionAccuracy, request, timeout).data

    def prediction_history(
        self,
        model_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        start_time: Time = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> prediction_service_pb2.PredictionHistory:
        """GET /api/predictions/history: one page of predictions, newest first."""
        request = prediction_service_pb2.GetPredictionHistoryRequest(
            model_id=model_id,
            page=page,
            page_size=page_size,
            start_time=_time(start_time),
            end_time=_time(end_time),
        )
        return self._call(self._predictions.GetPredictionHistory, request, timeout).data

    def prediction_comparison(
        self,
        model_id: str,
        *,
        limit: int | None = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> prediction_service_pb2.PredictionComparison:
        """GET /api/predictions/comparison: the last ``limit`` predictions against outcomes."""
        request = prediction_service_pb2.GetPredictionComparisonRequest(
            model_id=model_id, limit=limit, end_time=_time(end_time)
        )
        return self._call(self._predictions.GetPredictionComparison, request, timeout).data

    # --- DriftService ---------------------------------------------------------------------------

    def drift_status(
        self,
        model_id: str,
        *,
        window_hours: int | None = None,
        baseline_days: int | None = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> common_pb2.DriftReport:
        """GET /api/drift/status: data and concept drift with the overall status."""
        request = drift_service_pb2.GetDriftStatusRequest(
            model_id=model_id,
            window_hours=window_hours,
            baseline_days=baseline_days,
            end_time=_time(end_time),
        )
        return self._call(self._drift.GetDriftStatus, request, timeout).data

    def drift_features(
        self,
        model_id: str,
        *,
        window_hours: int | None = None,
        baseline_days: int | None = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> drift_service_pb2.DriftFeatures:
        """GET /api/drift/features: per-feature drift, most drifted first."""
        request = drift_service_pb2.GetDriftFeaturesRequest(
            model_id=model_id,
            window_hours=window_hours,
            baseline_days=baseline_days,
            end_time=_time(end_time),
        )
        return self._call(self._drift.GetDriftFeatures, request, timeout).data

    # --- HealthService --------------------------------------------------------------------------

    def service_health(
        self, *, timeout: float | None = None
    ) -> health_service_pb2.GetServiceHealthResponse:
        """GET /health: the service and its database connection."""
        request = health_service_pb2.GetServiceHealthRequest()
        return self._call(self._health.GetServiceHealth, request, timeout)

    def service_info(
        self, *, timeout: float | None = None
    ) -> health_service_pb2.GetServiceInfoResponse:
        """GET /: service information and the endpoint directory."""
        request = health_service_pb2.GetServiceInfoRequest()
        return self._call(self._health.GetServiceInfo, request, timeout)

    def models_health(
        self, *, end_time: Time = None, timeout: float | None = None
    ) -> health_service_pb2.ModelHealthList:
        """GET /api/health/models: every model seen in the last 7 days, worst first."""
        request = health_service_pb2.ListModelHealthRequest(end_time=_time(end_time))
        return self._call(self._health.ListModelHealth, request, timeout).data

    def model_health(
        self, model_id: str, *, end_time: Time = None, timeout: float | None = None
    ) -> common_pb2.ModelHealth:
        """GET /api/health/model/{model_id}: one model's health."""
        request = health_service_pb2.GetModelHealthRequest(
            model_id=model_id, end_time=_time(end_time)
        )
        return self._call(self._health.GetModelHealth, request, timeout).data

    def performance_trends(
        self,
        model_id: str,
        *,
        days: int | None = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> performance_service_pb2.PerformanceTrends:
        """GET /api/performance/trends/{model_id}: hourly buckets and trend words."""
        request = performance_service_pb2.GetPerformanceTrendsRequest(
            model_id=model_id, days=days, end_time=_time(end_time)
        )
        return self._call(self._performance.GetPerformanceTrends, request, timeout).data

    def performance_comparison(
        self, *, window: str = "", end_time: Time = None, timeout: float | None = None
    ) -> performance_service_pb2.PerformanceComparison:
        """GET /api/performance/comparison: every model version of the window side by side."""
        request = performance_service_pb2.GetPerformanceComparisonRequest(
            window=window, end_time=_time(end_time)
        )
        return self._call(self._performance.GetPerformanceComparison, request, timeout).data

    def compare_models(
        self,
        model_a: str,
        model_b: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> performance_service_pb2.ModelAbComparison:
        """GET /api/performance/ab: both models' metrics over 1h, 24h, 7d (default) or 30d, and
        a paired t-test of their per-bar rewards with a verdict."""
        request = performance_service_pb2.CompareModelsRequest(
            model_a=model_a, model_b=model_b, window=window, end_time=_time(end_time)
        )
        return self._call(self._performance.CompareModels, request, timeout).data

    def model_versions(
        self, model_id: str, *, end_time: Time = None, timeout: float | None = None
    ) -> version_service_pb2.ModelVersions:
        """GET /api/models/{model_id}/versions: every version of the model, first seen first."""
        request = version_service_pb2.ListModelVersionsRequest(
            model_id=model_id, end_time=_time(end_time)
        )
        return self._call(self._versions.ListModelVersions, request, timeout).data

    def compare_model_versions(
        self,
        model_id: str,
        *,
        baseline: str = "",
        candidate: str = "",
        baseline_days: int | None = None,
        end_time: Time = None,
        timeout: float | None = None,
    ) -> version_service_pb2.ModelVersionComparison:
        """GET /api/models/{model_id}/versions/compare: is the candidate (default: the current
        version) worse than the baseline (default: the version before it)? The verdict."""
        request = version_service_pb2.CompareModelVersionsRequest(
            model_id=model_id,
            baseline=baseline,
            candidate=candidate,
            baseline_days=baseline_days,
            end_time=_time(end_time),
        )
        return self._call(self._versions.CompareModelVersions, request, timeout).data

    def anomalies(
        self,
        model_id: str,
        *,
        window: str = "",
        end_time: Time = None,
        timeout: float | None = None,
    ) -> anomaly_service_pb2.ModelAnomalies:
        """GET /api/anomalies/{model_id}: change points and single-row anomalies of the model's
        signals over 1h, 24h, 7d (default) or 30d."""
        request = anomaly_service_pb2.GetAnomaliesRequest(
            model_id=model_id, window=window, end_time=_time(end_time)
        )
        return self._call(self._anomalies.GetAnomalies, request, timeout).data

    # --- Watch streams --------------------------------------------------------------------------

    def watch_model_health(
        self,
        *,
        heartbeats: bool = False,
        reconnect: bool = True,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        max_backoff: float = 5.0,
    ) -> Generator[health_service_pb2.WatchModelHealthResponse, None, None]:
        """GET /api/health/models/watch: the model-health list now and on every change.

        Yields ``WatchModelHealthResponse`` messages: ``kind`` "snapshot" with ``data`` (and
        "heartbeat" ones too with ``heartbeats=True``). See :meth:`watch_drift` for the rest.
        """
        request = health_service_pb2.WatchModelHealthRequest()
        return _watch(
            lambda: self._health.WatchModelHealth(request),
            heartbeats=heartbeats,
            reconnect=reconnect,
            idle_timeout=idle_timeout,
            max_backoff=max_backoff,
        )

    def watch_drift(
        self,
        model_id: str,
        *,
        window_hours: int | None = None,
        baseline_days: int | None = None,
        heartbeats: bool = False,
        reconnect: bool = True,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
        max_backoff: float = 5.0,
    ) -> Generator[drift_service_pb2.WatchDriftResponse, None, None]:
        """GET /api/drift/watch: one model's drift report now and whenever its status or its
        drifted features change.

        The stream has no deadline. When it breaks (server restart, dropped as a slow reader,
        UNAVAILABLE) or stays silent for ``idle_timeout`` seconds (no heartbeat), it is reopened
        after an exponential backoff (0.1 s doubling up to ``max_backoff``, with jitter); the
        first snapshot after that is skipped if its ``revision`` is the last one delivered, so
        nothing is delivered twice and no change is missed. ``reconnect=False`` raises instead.
        Bad parameters or an unknown model raise ``InvalidArgument`` / ``NotFound`` at once.
        ``close()`` the generator (or let it go) to stop: the call is cancelled.
        """
        request = drift_service_pb2.WatchDriftRequest(
            model_id=model_id, window_hours=window_hours, baseline_days=baseline_days
        )
        return _watch(
            lambda: self._drift.WatchDrift(request),
            heartbeats=heartbeats,
            reconnect=reconnect,
            idle_timeout=idle_timeout,
            max_backoff=max_backoff,
        )


class _Watchdog:
    """Cancels a call that receives nothing for ``timeout`` seconds."""

    def __init__(self, call: Any, timeout: float) -> None:
        self._call = call
        self._timeout = timeout
        self._timer: threading.Timer | None = None
        self.expired = False
        self.reset()

    def _expire(self) -> None:
        self.expired = True
        self._call.cancel()

    def reset(self) -> None:
        self.stop()
        self._timer = threading.Timer(self._timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _watch(
    open_call: Callable[[], Any],
    *,
    heartbeats: bool,
    reconnect: bool,
    idle_timeout: float,
    max_backoff: float,
) -> Generator[Any, None, None]:
    """The messages of a watch, across reconnections, without repeating a snapshot."""
    delivered = ""  # revision of the last snapshot yielded
    backoff = 0.1
    while True:
        call = open_call()
        watchdog = _Watchdog(call, idle_timeout)
        try:
            for message in call:
                watchdog.reset()
                backoff = 0.1
                if message.kind == "snapshot":
                    if message.revision == delivered:
                        continue  # reconnected, and nothing changed meanwhile
                    delivered = message.revision
                    yield message
                elif heartbeats:
                    yield message
        except grpc.RpcError as error:
            code = error.code()  # a failed stream is also a Call
            retry = watchdog.expired or code in RECONNECT_CODES
            if not (reconnect and retry):
                raise from_rpc_error(error) from None
        finally:
            watchdog.stop()
            call.cancel()
        if not reconnect:
            return
        time.sleep(backoff * random.uniform(0.5, 1.0))  # jitter: clients do not come back in step
        backoff = min(backoff * 2, max_backoff)
