"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

import grpc

from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, metrics
from server.api.servicers.base import DataServicer
from server.api.validation import model_window
from server.reports import windows

SUMMARY_WINDOW = "24h"


class MetricsServicer(DataServicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    """Rolling metrics (docs/DEFINITIONS.md#rolling-metrics) over the windows 1h, 24h, 7d, 30d."""

    def GetMetricsSummary(
        self, request: pb.GetMetricsSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricsSummaryResponse:
        params = self._params()
        window = params.window(SUMMARY_WINDOW, params.end_time(request.end_time))
        params.check()
        summary = self._read(
            windows.summary, window, self._settings.hold_band, self._settings.market_calendar
        )
        return envelope(pb.GetMetricsSummaryResponse, metrics.metrics_summary(summary))

    def GetRollingMetrics(
        self, request: pb.GetRollingMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetRollingMetricsResponse:
        model_id, window = model_window(
            request.model_id, request.window, request.end_time, self._settings.market_calendar
        )
        model = self._read(windows.model_window, model_id, window, self._settings.hold_band)
        return envelope(pb.GetRollingMetricsResponse, common.rolling_metrics(model))

    def GetModelMetrics(
        self, request: pb.GetModelMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetricsResponse:
        model_id, window = model_window(
            request.model_id, request.window, request.end_time, self._settings.market_calendar
        )
        overview = self._read(
            windows.model_overview,
            model_id,
            window,
            self._settings.hold_band,
            self._settings.drift_thresholds,
            calendar=self._settings.market_calendar,
        )
        return envelope(pb.GetModelMetricsResponse, metrics.model_metrics(overview))
