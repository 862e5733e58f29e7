"""Data and concept drift of one model: recent window against the baseline before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from analytics import FEATURES, MIN_SAMPLES, DataDrift, FeatureDrift, concept_drift, data_drift
from analytics import drift_status as drift_verdict
from mlanalytics.v1 import common_pb2
from server.convert import timestamp
from server.db import Connection
from server.evaluation import Evaluation, evaluate
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model

DEFAULT_WINDOW_HOURS = 24
DEFAULT_BASELINE_DAYS = 7


@dataclass(frozen=True, slots=True)
class DriftThresholds:
    warning: float
    critical: float


@dataclass(frozen=True, slots=True)
class _Side:
    """One side of the comparison: its bounds and how many predictions it has."""

    start: datetime
    end: datetime
    predictions: int
    resolved: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.resolved if self.resolved else 0.0

    def proto(self) -> common_pb2.DriftWindow:
        return common_pb2.DriftWindow(
            start_time=timestamp(self.start),
            end_time=timestamp(self.end),
            predictions=self.predictions,
            resolved=self.resolved,
        )


def _side(evaluation: Evaluation, mask: np.ndarray, start: datetime, end: datetime) -> _Side:
    resolved = evaluation.resolved & mask
    return _Side(
        start=start,
        end=end,
        predictions=int(mask.sum()),
        resolved=int(resolved.sum()),
        correct=int((evaluation.correct & mask).sum()),
    )


def drift_report(
    conn: Connection,
    model_id: str,
    end: datetime,
    *,
    window_hours: int,
    baseline_days: int,
    thresholds: DriftThresholds,
    hold_band: float,
) -> common_pb2.DriftReport:
    """Drift of ``(end - window_hours, end]`` against the ``baseline_days`` before it (SPEC 4).

    A feature is compared when both sides have at least 10 non-NULL values. Concept drift needs
    at least 10 resolved predictions on each side, else it is absent (and the status rests on
    data drift alone). The status is "unknown" when either side has fewer than 10 predictions or
    no feature could be compared.
    """
    recent_start = end - timedelta(hours=window_hours)
    baseline_start = recent_start - timedelta(days=baseline_days)
    data = predictions_repo.window(conn, [model_id], baseline_start, end, features=FEATURES)
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
    verdict = drift_verdict(
        features.data_drift_score,
        concept.score if concept.HasField("score") else None,
        enough_data=unknown is None,
        warning_threshold=thresholds.warning,
        critical_threshold=thresholds.critical,
        reason_if_unknown=unknown,
    )
    return common_pb2.DriftReport(
        model_id=model_id,
        status=verdict.status,
        reason=verdict.reason,
        data_drift_score=features.data_drift_score,
        max_feature_drift=features.max_feature_drift,
        concept_drift_score=concept.score if concept.HasField("score") else None,
        features_drifted=features.features_drifted,
        feature_details=[feature_proto(f) for f in features.features],
        concept_drift=concept,
        recent=recent.proto(),
        baseline=baseline.proto(),
        window_hours=window_hours,
        baseline_days=baseline_days,
        features_checked=features.checked,
        warning_threshold=thresholds.warning,
        critical_threshold=thresholds.critical,
        last_check=timestamp(end),
    )


def _concept(recent: _Side, baseline: _Side) -> common_pb2.ConceptDrift:
    short = [
        f"{name} has {side.resolved} resolved predictions"
        for name, side in (("recent", recent), ("baseline", baseline))
        if side.resolved < MIN_SAMPLES
    ]
    if short:
        return common_pb2.ConceptDrift(
            reason=f"{' and '.join(short)}, at least {MIN_SAMPLES} needed",
            recent_accuracy=recent.accuracy if recent.resolved else None,
            baseline_accuracy=baseline.accuracy if baseline.resolved else None,
        )
    return common_pb2.ConceptDrift(
        score=concept_drift(recent.accuracy, baseline.accuracy),
        recent_accuracy=recent.accuracy,
        baseline_accuracy=baseline.accuracy,
    )


def _unknown_reason(recent: _Side, baseline: _Side, features: DataDrift) -> str | None:
    short = [
        f"{name} window has {side.predictions} predictions"
        for name, side in (("recent", recent), ("baseline", baseline))
        if side.predictions < MIN_SAMPLES
    ]
    if short:
        return f"{' and '.join(short)}, at least {MIN_SAMPLES} needed"
    if not features.checked:
        return f"no feature has {MIN_SAMPLES} non-NULL values on both sides"
    return None


def feature_proto(feature: FeatureDrift) -> common_pb2.FeatureDrift:
    """A feature's drift; its statistics are absent when it was skipped."""
    if not feature.checked:
        return common_pb2.FeatureDrift(
            feature=feature.feature,
            status="skipped",
            reason=feature.reason,
            recent_count=feature.recent_count,
            baseline_count=feature.baseline_count,
        )
    return common_pb2.FeatureDrift(
        feature=feature.feature,
        status="drifted" if feature.drifted else "stable",
        recent_count=feature.recent_count,
        baseline_count=feature.baseline_count,
        drift_score=feature.ks_statistic,
        ks_statistic=feature.ks_statistic,
        p_value=feature.p_value,
        psi=feature.psi,
        wasserstein=feature.wasserstein,
        recent_mean=feature.recent_mean,
        baseline_mean=feature.baseline_mean,
        recent_std=feature.recent_std,
        baseline_std=feature.baseline_std,
        mean_change=feature.mean_change,
        is_drifted=feature.drifted,
    )
