"""Messages of ``metrics_service.proto``."""

from __future__ import annotations

from datetime import timedelta

from mlanalytics.v1 import metrics_service_pb2 as pb
from server.api.convert import finite, timestamp
from server.api.messages.common import accuracy_report, drift_report, rolling_metrics
from server.api.messages.fields import window_fields
from server.custom_metrics import CustomMetric
from server.reports.custom import CustomWindow
from server.reports.series import Series
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


def metric_series(result: Series) -> pb.MetricSeries:
    return pb.MetricSeries(
        model_id=result.model_id,
        metric=result.metric,
        window=result.window,
        step=step_name(result.step),
        start_time=timestamp(result.start),
        end_time=timestamp(result.end),
        points=[
            pb.MetricPoint(
                end_time=timestamp(p.end), value=finite(p.value), data_points=p.data_points
            )
            for p in result.points
        ],
    )


def step_name(step: timedelta) -> str:
    """5m, 1h, 1d: the step as the request names it."""
    minutes = int(step.total_seconds()) // 60
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def custom_metrics(result: CustomWindow) -> pb.CustomMetrics:
    return pb.CustomMetrics(
        model_id=result.model_id,
        **window_fields(result.window),
        data_points=result.data_points,
        metrics=[
            pb.CustomMetricValue(
                name=v.metric.name,
                value=finite(v.value),
                rows=v.rows,
                unit=v.metric.unit,
                better=v.metric.better,
                status=v.status,
            )
            for v in result.values
        ],
    )


def custom_definitions(metrics: tuple[CustomMetric, ...]) -> pb.CustomMetricDefinitions:
    return pb.CustomMetricDefinitions(
        metrics=[
            pb.CustomMetricDefinition(
                name=m.name,
                description=m.description,
                aggregate=m.aggregate,
                of=m.of,
                q=m.q,
                where=[
                    pb.CustomMetricCondition(
                        field=c.field,
                        op=c.op,
                        values=[str(v) for v in (c.text if isinstance(c.text, list) else [c.text])],
                    )
                    for c in m.where
                ],
                unit=m.unit,
                better=m.better,
                warning=m.warning,
                critical=m.critical,
            )
            for m in metrics
        ]
    )
