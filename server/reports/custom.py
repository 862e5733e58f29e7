"""The desk's own metrics over one model's window, or every model's
(docs/DEFINITIONS.md#custom-metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from server.custom_metrics import CustomMetric, CustomMetrics, CustomValue, evaluate, extra_columns
from server.db import Connection
from server.domain import TimeRange
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model


@dataclass(frozen=True, slots=True)
class CustomWindow:
    """The custom metrics of one model over one window."""

    model_id: str
    window: TimeRange
    data_points: int  # all predictions of the window
    values: list[CustomValue]  # in file order


def custom_windows(
    conn: Connection,
    model_ids: list[str],
    window: TimeRange,
    metrics: tuple[CustomMetric, ...],
    zone: str,
) -> list[CustomWindow]:
    """Every model's custom metrics from one fetch (the same queries for 1 or 100 models)."""
    if not metrics:
        return [CustomWindow(m, window, 0, []) for m in model_ids]
    data = predictions_repo.fetch_window(conn, model_ids, window, extra_columns(metrics))
    rows = data.predictions.by_model(len(model_ids))
    return [
        CustomWindow(
            model_id,
            window,
            part.stop - part.start,
            evaluate(metrics, data.predictions.take(part), zone),
        )
        for model_id, part in zip(model_ids, rows, strict=True)
    ]


def custom_window(
    conn: Connection, model_id: str, window: TimeRange, registry: CustomMetrics
) -> CustomWindow:
    """One model's custom metrics; ModelNotFound if the model has no rows at all."""
    metrics = registry.metrics
    data = predictions_repo.fetch_window(conn, [model_id], window, extra_columns(metrics))
    predictions = data.predictions
    if not len(predictions):
        require_model(conn, model_id)
    return CustomWindow(
        model_id, window, len(predictions), evaluate(metrics, predictions, registry.zone)
    )
