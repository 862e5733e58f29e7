"""Messages of ``metrics_service.proto``."""

from __future__ import annotations

from mlanalytics.v1 import metrics_service_pb2 as pb
from server.api.convert import timestamp
from server.api.messages.common import accuracy_report, drift_report, rolling_metrics
from server.reports.windows import ModelOverview, Summary


def metrics_summary(summary: Summary) -> pb.MetricsSummary:
    return pb.MetricsSummary(
        window=summary.window.name,
        end_time=timestamp(summary.window.end),
        total_models=len(summary.models),
        active_models=summary.with_data,
        aggregate=pb.SummaryAggregate(
            models_with_data=summary.with_data,
            total_predictions=summary.total_predictions,
            avg_accuracy=summary.avg_accuracy,
            avg_sharpe_ratio=summary.avg_sharpe_ratio,
            avg_win_rate=summary.avg_win_rate,
        ),
        models=[rolling_metrics(m) for m in summary.models],
    )


def model_metrics(overview: ModelOverview) -> pb.ModelMetrics:
    model = overview.window
    return pb.ModelMetrics(
        model_id=model.model_id,
        window=model.window.name,
        rolling=rolling_metrics(model),
        drift=drift_report(overview.drift),
        accuracy=accuracy_report(model),
    )
