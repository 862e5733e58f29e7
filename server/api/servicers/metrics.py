"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

import grpc

from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, metrics
from server.api.rules import DRIFT_BASELINE_DAYS, DRIFT_WINDOW_HOURS
from server.api.servicers.base import DataServicer
from server.api.validation import window_range
from server.reports import windows

SUMMARY_WINDOW = "24h"
#: The drift of a model's metrics is over GetDriftStatus's default windows.


class MetricsServicer(DataServicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    """Rolling metrics (docs/DEFINITIONS.md#rolling-metrics) over the windows 1h, 24h, 7d, 30d."""

    def GetMetricsSummary(
        self, request: pb.GetMetricsSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricsSummaryResponse:
        calendar = self._settings.market_calendar
        window = window_range(SUMMARY_WINDOW, self._checked(request).end, calendar)
        summary = self._read(windows.summary, window, self._settings.hold_band, calendar)
        return envelope(pb.GetMetricsSummaryResponse, metrics.metrics_summary(summary))

    def GetRollingMetrics(
        self, request: pb.GetRollingMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetRollingMetricsResponse:
        model = self._model_window(request)
        return envelope(pb.GetRollingMetricsResponse, common.rolling_metrics(model))

    def GetModelMetrics(
        self, request: pb.GetModelMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetricsResponse:
        params = self._checked(request)
        overview = self._read(
            windows.model_overview,
            params.text("model_id"),
            params.window(),
            self._settings.hold_band,
            self._settings.drift_thresholds,
            window_hours=DRIFT_WINDOW_HOURS,
            baseline_days=DRIFT_BASELINE_DAYS,
            calendar=self._settings.market_calendar,
        )
        return envelope(pb.GetModelMetricsResponse, metrics.model_metrics(overview))
