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
    MarketCalendar,
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
    calendar: MarketCalendar,
) -> DriftReport:
    """Drift of the last ``window_hours`` before ``end`` against the ``baseline_days`` before
    them, both on the trading-day clock of ``calendar``.

    A feature is compared when both sides have at least 10 non-NULL values. Concept drift needs
    at least 10 resolved predictions on each side, else it is absent (and the status rests on
    data drift alone). The status is "unknown" when either side has fewer than 10 predictions or
    no feature could be compared.
    """
    [report] = drift_reports(
        conn,
        [model_id],
        end,
        window_hours=window_hours,
        baseline_days=baseline_days,
        thresholds=thresholds,
        hold_band=hold_band,
        calendar=calendar,
    )
    if not report.recent.predictions and not report.baseline.predictions:
        require_model(conn, model_id)
    return report


def drift_reports(
    conn: Connection,
    model_ids: list[str],
    end: datetime,
    *,
    window_hours: int,
    baseline_days: int,
    thresholds: DriftThresholds,
    hold_band: float,
    calendar: MarketCalendar,
    detail: bool = True,
) -> list[DriftReport]:
    """`drift_report` of every model of ``model_ids`` from one fetch (models without rows get
    an ``unknown`` report, not ModelNotFound). Without ``detail`` the reports' ``data`` has no
    per-feature entries, only the score and the drifted features (the same verdict, computed
    without the p-values, PSI and distances): for a check that reads the status."""
    recent_start = calendar.trading_window_start(end, timedelta(hours=window_hours))
    baseline_start = calendar.trading_window_start(recent_start, timedelta(days=baseline_days))
    data = predictions_repo.fetch_window(
        conn, model_ids, TimeRange(baseline_start, end), features=FEATURES
    )
    evaluation = evaluate(data.predictions, data.bars, end, hold_band)
    recent_since = np.datetime64(recent_start.replace(tzinfo=None), "us")
    reports: list[DriftReport] = []
    for model_id, part in zip(model_ids, data.predictions.by_model(len(model_ids)), strict=True):
        model = evaluation.take(part)
        predictions = model.predictions
        is_recent = predictions.time > recent_since
        recent = _side(model, is_recent, recent_start, end)
        baseline = _side(model, ~is_recent, baseline_start, recent_start)
        features = data_drift(
            {name: values[is_recent] for name, values in predictions.features.items()},
            {name: values[~is_recent] for name, values in predictions.features.items()},
            warning_threshold=thresholds.warning,
            detail=detail,
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
        reports.append(
            DriftReport(
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
        )
    return reports


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
