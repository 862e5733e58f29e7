"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

import grpc

from mlanalytics.v1 import drift_service_pb2, metrics_service_pb2_grpc
from mlanalytics.v1 import metrics_service_pb2 as pb
from server.api.convert import envelope
from server.api.messages import common, metrics
from server.api.servicers.base import DataServicer
from server.api.validation import checked, integer_default, window_range
from server.reports import windows

SUMMARY_WINDOW = "24h"
#: The drift of a model's metrics is over GetDriftStatus's default windows.
_DRIFT_REQUEST = drift_service_pb2.GetDriftStatusRequest.DESCRIPTOR


class MetricsServicer(DataServicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    """Rolling metrics (docs/DEFINITIONS.md#rolling-metrics) over the windows 1h, 24h, 7d, 30d."""

    def GetMetricsSummary(
        self, request: pb.GetMetricsSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricsSummaryResponse:
        window = window_range(SUMMARY_WINDOW, checked(request).end)
        summary = self._read(windows.summary, window, self._settings.hold_band)
        return envelope(pb.GetMetricsSummaryResponse, metrics.metrics_summary(summary))

    def GetRollingMetrics(
        self, request: pb.GetRollingMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetRollingMetricsResponse:
        model = self._model_window(request)
        return envelope(pb.GetRollingMetricsResponse, common.rolling_metrics(model))

    def GetModelMetrics(
        self, request: pb.GetModelMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetricsResponse:
        params = checked(request)
        overview = self._read(
            windows.model_overview,
            params.text("model_id"),
            params.window(),
            self._settings.hold_band,
            self._settings.drift_thresholds,
            window_hours=integer_default(_DRIFT_REQUEST, "window_hours"),
            baseline_days=integer_default(_DRIFT_REQUEST, "baseline_days"),
        )
        return envelope(pb.GetModelMetricsResponse, metrics.model_metrics(overview))
