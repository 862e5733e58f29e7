"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

from datetime import timedelta

import grpc

from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, metrics
from server.api.rules import DRIFT_BASELINE_DAYS, DRIFT_WINDOW_HOURS
from server.api.servicers.base import DataServicer, requested_range
from server.api.validation import window_length, window_range
from server.reports import custom, series, windows

#: The steps of a metric series.
STEPS = {
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
}
#: The most points a series answers.
MAX_SERIES_POINTS = 1000
#: start_time's default: end_time - 7 days on the trading-day clock (its option says so).
SERIES_DEFAULT_SPAN = timedelta(days=7)

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
        overview = self._read_model_window(
            request,
            windows.model_overview,
            self._settings.hold_band,
            self._settings.drift_thresholds,
            window_hours=DRIFT_WINDOW_HOURS,
            baseline_days=DRIFT_BASELINE_DAYS,
            calendar=self._settings.market_calendar,
        )
        return envelope(pb.GetModelMetricsResponse, metrics.model_metrics(overview))

    def GetMetricSeries(
        self, request: pb.GetMetricSeriesRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricSeriesResponse:
        params = self._params(request)
        registry = self._settings.custom_metrics
        metric = params.text("metric")
        definition = registry.get(metric)
        if (
            not params.rejected("metric")
            and definition is None
            and (metric not in series.ROLLING_METRICS)
        ):
            names = [*series.ROLLING_METRICS, *(m.name for m in registry.metrics)]
            params.reject("metric", f"must be one of {', '.join(names)} (got {metric!r})")
        step = STEPS[params.text("step")]
        span = requested_range(params, SERIES_DEFAULT_SPAN)
        count = series.point_count(span.start, span.end, step)
        if span.start <= span.end and count > MAX_SERIES_POINTS:
            params.reject(
                "step",
                f"gives {count} points from start_time to end_time; at most {MAX_SERIES_POINTS}"
                " (a larger step or a shorter range)",
            )
        params.check()
        window = params.text("window")
        result = self._read(
            series.series,
            params.text("model_id"),
            metric,
            window=window,
            length=window_length(window),
            step=step,
            start=span.start,
            end=span.end,
            calendar=params.calendar,
            hold_band=self._settings.hold_band,
            custom=definition,
            zone=registry.zone,
        )
        return envelope(pb.GetMetricSeriesResponse, metrics.metric_series(result))

    def GetCustomMetrics(
        self, request: pb.GetCustomMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetCustomMetricsResponse:
        result = self._read_model_window(
            request, custom.custom_window, self._settings.custom_metrics
        )
        return envelope(pb.GetCustomMetricsResponse, metrics.custom_metrics(result))

    def GetCustomMetricDefinitions(
        self, request: pb.GetCustomMetricDefinitionsRequest, context: grpc.ServicerContext
    ) -> pb.GetCustomMetricDefinitionsResponse:
        definitions = self._settings.custom_metrics.metrics
        return envelope(
            pb.GetCustomMetricDefinitionsResponse, metrics.custom_definitions(definitions)
        )
