"""The drift report of one model: its recent window against the baseline before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from analytics import (
    FEATURES,
    MIN_SAMPLES,
    DataDrift,
    DriftVerdict,
    FeatureDrift,
    concept_drift,
    data_drift,
    drift_status,
    shortfall,
)
from server.db import Connection
from server.domain import DriftThresholds, Evaluation, TimeRange
from server.reports.outcomes import evaluate
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model


@dataclass(frozen=True, slots=True)
class DriftSide:
    """One side of the comparison: its bounds and how many predictions it has."""

    start: datetime
    end: datetime
    predictions: int
    resolved: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.resolved if self.resolved else 0.0


@dataclass(frozen=True, slots=True)
class ConceptDrift:
    """|accuracy(recent) - accuracy(baseline)|; ``score`` is None (with a reason) when either
    side has too few resolved predictions."""

    score: float | None
    reason: str | None
    recent_accuracy: float | None
    baseline_accuracy: float | None


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Everything about one model's drift (docs/DEFINITIONS.md#data-drift)."""

    model_id: str
    verdict: DriftVerdict
    data: DataDrift
    concept: ConceptDrift
    recent: DriftSide
    baseline: DriftSide
    window_hours: int
    baseline_days: int
    thresholds: DriftThresholds
    end: datetime

    def features_by_drift(self) -> list[FeatureDrift]:
        """Checked features by KS statistic, largest first (schema order among equals), then
        the skipped ones."""
        checked = [f for f in self.data.features if f.checked]
        checked.sort(key=lambda f: -f.ks_statistic)
        return checked + [f for f in self.data.features if not f.checked]


def drift_report(
    conn: Connection,
    model_id: str,
    end: datetime,
    *,
    window_hours: int,
    baseline_days: int,
    thresholds: DriftThresholds,
    hold_band: float,
) -> DriftReport:
    """Drift of ``(end - window_hours, end]`` against the ``baseline_days`` before it.

    A feature is compared when both sides have at least 10 non-NULL values. Concept drift needs
    at least 10 resolved predictions on each side, else it is absent (and the status rests on
    data drift alone). The status is "unknown" when either side has fewer than 10 predictions or
    no feature could be compared.
    """
    recent_start = end - timedelta(hours=window_hours)
    baseline_start = recent_start - timedelta(days=baseline_days)
    data = predictions_repo.fetch_window(
        conn, [model_id], TimeRange(baseline_start, end), features=FEATURES
    )
    predictions = data.predictions
    if not len(predictions):
        require_model(conn, model_id)
    evaluation = evaluate(predictions, data.bars, end, hold_band)
    is_recent = predictions.time > np.datetime64(recent_start.replace(tzinfo=None), "us")
    recent = _side(evaluation, is_recent, recent_start, end)
    baseline = _side(evaluation, ~is_recent, baseline_start, recent_start)
    features = data_drift(
        {name: values[is_recent] for name, values in predictions.features.items()},
        {name: values[~is_recent] for name, values in predictions.features.items()},
        warning_threshold=thresholds.warning,
    )
    concept = _concept(recent, baseline)
    unknown = _unknown_reason(recent, baseline, features)
    verdict = drift_status(
        features.data_drift_score,
        concept.score,
        enough_data=unknown is None,
        warning_threshold=thresholds.warning,
        critical_threshold=thresholds.critical,
        reason_if_unknown=unknown,
    )
    return DriftReport(
        model_id=model_id,
        verdict=verdict,
        data=features,
        concept=concept,
        recent=recent,
        baseline=baseline,
        window_hours=window_hours,
        baseline_days=baseline_days,
        thresholds=thresholds,
        end=end,
    )


def _side(
    evaluation: Evaluation, mask: NDArray[np.bool_], start: datetime, end: datetime
) -> DriftSide:
    return DriftSide(
        start=start,
        end=end,
        predictions=int(mask.sum()),
        resolved=int((evaluation.resolved & mask).sum()),
        correct=int((evaluation.correct & mask).sum()),
    )


def _concept(recent: DriftSide, baseline: DriftSide) -> ConceptDrift:
    reason = shortfall(
        (
            (f"{name} has {side.resolved} resolved predictions", side.resolved)
            for name, side in (("recent", recent), ("baseline", baseline))
        ),
        MIN_SAMPLES,
    )
    if reason is not None:
        return ConceptDrift(
            score=None,
            reason=reason,
            recent_accuracy=recent.accuracy if recent.resolved else None,
            baseline_accuracy=baseline.accuracy if baseline.resolved else None,
        )
    return ConceptDrift(
        score=concept_drift(recent.accuracy, baseline.accuracy),
        reason=None,
        recent_accuracy=recent.accuracy,
        baseline_accuracy=baseline.accuracy,
    )


def _unknown_reason(recent: DriftSide, baseline: DriftSide, features: DataDrift) -> str | None:
    reason = shortfall(
        (
            (f"{name} window has {side.predictions} predictions", side.predictions)
            for name, side in (("recent", recent), ("baseline", baseline))
        ),
        MIN_SAMPLES,
    )
    if reason is None and not features.checked:
        return f"no feature has {MIN_SAMPLES} non-NULL values on both sides"
    return reason
