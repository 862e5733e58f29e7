"""MetricsService: rolling metrics of one model, of every model, and everything about one model."""

from __future__ import annotations

import grpc
import numpy as np
from psycopg_pool import ConnectionPool

from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from server.builders import accuracy_report, rolling_metrics
from server.config import Settings
from server.convert import envelope, timestamp
from server.db import connection
from server.drift import DEFAULT_BASELINE_DAYS, DEFAULT_WINDOW_HOURS, DriftThresholds, drift_report
from server.repositories.models import seen_models
from server.servicers.windows import analyze_model, analyze_models
from server.validation import Params, model_window

SUMMARY_WINDOW = "24h"


class MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    """Rolling metrics (SPEC section 4) over the windows 1h, 24h, 7d, 30d."""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._hold_band = settings.hold_band
        self._thresholds = DriftThresholds(
            settings.drift_warning_threshold, settings.drift_critical_threshold
        )

    def GetMetricsSummary(
        self, request: pb.GetMetricsSummaryRequest, context: grpc.ServicerContext
    ) -> pb.GetMetricsSummaryResponse:
        params = Params()
        end = params.end_time(request.end_time)
        window = params.window(SUMMARY_WINDOW, end)
        params.check()
        with connection(self._pool) as conn:
            models = analyze_models(conn, seen_models(conn, end), window, self._hold_band)
        with_data = [m.analysis for m in models if m.analysis.data_points]

        def mean(values: list[float]) -> float:
            return float(np.mean(values)) if values else 0.0

        return envelope(
            pb.GetMetricsSummaryResponse,
            pb.MetricsSummary(
                window=window.name,
                end_time=timestamp(end),
                total_models=len(models),
                active_models=len(with_data),
                aggregate=pb.SummaryAggregate(
                    models_with_data=len(with_data),
                    total_predictions=sum(a.data_points for a in with_data),
                    avg_accuracy=mean([a.report.accuracy for a in with_data]),
                    avg_sharpe_ratio=mean([a.trading.sharpe_ratio for a in with_data]),
                    avg_win_rate=mean([a.trading.win_rate for a in with_data]),
                ),
                models=[
                    rolling_metrics(
                        m.model_id, m.model_version, window, m.analysis, self._hold_band
                    )
                    for m in models
                ],
            ),
        )

    def GetRollingMetrics(
        self, request: pb.GetRollingMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetRollingMetricsResponse:
        model_id, window = model_window(request.model_id, request.window, request.end_time)
        with connection(self._pool) as conn:
            model = analyze_model(conn, model_id, window, self._hold_band)
        return envelope(
            pb.GetRollingMetricsResponse,
            rolling_metrics(model_id, model.model_version, window, model.analysis, self._hold_band),
        )

    def GetModelMetrics(
        self, request: pb.GetModelMetricsRequest, context: grpc.ServicerContext
    ) -> pb.GetModelMetricsResponse:
        model_id, window = model_window(request.model_id, request.window, request.end_time)
        with connection(self._pool) as conn:
            model = analyze_model(conn, model_id, window, self._hold_band)
            drift = drift_report(
                conn,
                model_id,
                window.end,
                window_hours=DEFAULT_WINDOW_HOURS,
                baseline_days=DEFAULT_BASELINE_DAYS,
                thresholds=self._thresholds,
                hold_band=self._hold_band,
            )
        return envelope(
            pb.GetModelMetricsResponse,
            pb.ModelMetrics(
                model_id=model_id,
                window=window.name,
                rolling=rolling_metrics(
                    model_id, model.model_version, window, model.analysis, self._hold_band
                ),
                drift=drift,
                accuracy=accuracy_report(model_id, window, model.analysis, self._hold_band),
            ),
        )
