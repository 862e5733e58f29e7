"""Is model A really better than model B? Both windows, and the paired test on their common bars."""

from __future__ import annotations

from dataclasses import dataclass

from analytics import AB_MIN_COMMON_BARS, AB_SIGNIFICANCE_LEVEL, ABComparison, ab_comparison
from server.db import Connection
from server.domain import TimeRange
from server.reports.windows import ModelWindow, model_windows
from server.repositories.models import require_model


@dataclass(frozen=True, slots=True)
class ModelPair:
    """Two models over one window (docs/DEFINITIONS.md#model-ab)."""

    window: TimeRange
    hold_band: float
    model_a: ModelWindow
    model_b: ModelWindow
    comparison: ABComparison  # d = reward of A - reward of B per common 5-minute bar
    min_common_bars: int = AB_MIN_COMMON_BARS
    significance_level: float = AB_SIGNIFICANCE_LEVEL


def compare_models(
    conn: Connection, model_a: str, model_b: str, window: TimeRange, hold_band: float
) -> ModelPair:
    """Both models' windows from one fetch, and the paired comparison of their rewards.

    ModelNotFound for the first of the two that has no row at all in the log.
    """
    a, b = model_windows(conn, [model_a, model_b], window, hold_band)
    for side in (a, b):
        if not side.analysis.data_points:
            require_model(conn, side.model_id)
    rows_a, rows_b = a.analysis.evaluation.predictions, b.analysis.evaluation.predictions
    comparison = ab_comparison(
        rows_a.time,
        rows_a.reward,
        rows_b.time,
        rows_b.reward,
        min_common_bars=AB_MIN_COMMON_BARS,
        significance_level=AB_SIGNIFICANCE_LEVEL,
    )
    return ModelPair(window, hold_band, a, b, comparison)
