"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

import grpc
from psycopg_pool import ConnectionPool

from mlanalytics.parameters import PARAMETERS
from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, metrics
from server.api.validation import Params, model_window
from server.config import Settings
from server.db import connection
from server.reports import drift, windows

SUMMARY_WINDOW = "24h"


class MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    """Rolling metrics (docs/DEFINITIONS.md#rolling-metrics) over the windows 1h, 24h, 7d, 30d."""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._hold_band = settings.hold_band
        self._thresholds = settings.drift_thresholds

    def GetMetricsSummary(
        self, request: pb.GetMetricsSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricsSummaryResponse:
        params = Params()
        window = params.window(SUMMARY_WINDOW, params.end_time(request.end_time))
        params.check()
        with connection(self._pool) as conn:
            summary = windows.summary(conn, window, self._hold_band)
        return envelope(pb.GetMetricsSummaryResponse, metrics.metrics_summary(summary))

    def GetRollingMetrics(
        self, request: pb.GetRollingMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetRollingMetricsResponse:
        model_id, window = model_window(request.model_id, request.window, request.end_time)
        with connection(self._pool) as conn:
            model = windows.model_window(conn, model_id, window, self._hold_band)
        return envelope(pb.GetRollingMetricsResponse, common.rolling_metrics(model))

    def GetModelMetrics(
        self, request: pb.GetModelMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetricsResponse:
        model_id, window = model_window(request.model_id, request.window, request.end_time)
        with connection(self._pool) as conn:
            model = windows.model_window(conn, model_id, window, self._hold_band)
            report = drift.drift_report(
                conn,
                model_id,
                window.end,
                window_hours=PARAMETERS["window_hours"].integer_spec()[0],
                baseline_days=PARAMETERS["baseline_days"].integer_spec()[0],
                thresholds=self._thresholds,
                hold_band=self._hold_band,
            )
        return envelope(pb.GetModelMetricsResponse, metrics.model_metrics(model, report))
