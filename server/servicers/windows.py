"""Evaluate one or many models over a window: the shared first step of several RPCs."""

from __future__ import annotations

from dataclasses import dataclass

from server.builders import Analysis, analyze
from server.db import Connection
from server.evaluation import evaluate
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model
from server.validation import Window


@dataclass(frozen=True, slots=True)
class ModelWindow:
    """One model's analysed window."""

    model_id: str
    model_version: str  # the latest in the window; "" without rows
    analysis: Analysis


def analyze_models(
    conn: Connection, model_ids: list[str], window: Window, hold_band: float
) -> list[ModelWindow]:
    """Every model's window from one fetch (the same three queries for 1 or 100 models)."""
    data = predictions_repo.window(conn, model_ids, window.start, window.end)
    evaluation = evaluate(data.predictions, data.bars, window.end, hold_band)
    rows = data.predictions.by_model(len(model_ids))
    return [
        ModelWindow(model_id, version, analyze(evaluation.take(part)))
        for model_id, version, part in zip(model_ids, data.versions, rows, strict=True)
    ]


def analyze_model(conn: Connection, model_id: str, window: Window, hold_band: float) -> ModelWindow:
    """One model's window; NOT_FOUND if the model has no rows at all (not just in the window)."""
    [result] = analyze_models(conn, [model_id], window, hold_band)
    if not result.analysis.data_points:
        require_model(conn, model_id)
    return result
