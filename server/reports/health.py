"""Model health, hourly performance trends and the per-version comparison."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from analytics import (
    HealthAssessment,
    HourExtreme,
    TrendSummary,
    assess_health,
    safe_ratio,
    sharpe_ratio,
    summarize_trend,
)
from server.db import Connection
from server.domain import HourlyAggregates, ModelActivity, TimeRange, VersionAggregates
from server.repositories import health as health_repo
from server.repositories import performance as performance_repo
from server.repositories.models import require_model

HEALTH_WINDOW = timedelta(hours=24)
_STATUS_ORDER = {"critical": 0, "warning": 1, "healthy": 2}
_HOUR = np.timedelta64(1, "h")


@dataclass(frozen=True, slots=True)
class ModelHealth:
    """The health rules applied to one model; ``activity`` is None when the model has no
    prediction at or before the end of the window."""

    model_id: str
    assessment: HealthAssessment
    activity: ModelActivity | None
    minutes_since_last: float | None


@dataclass(frozen=True, slots=True)
class HealthList:
    """Every model seen in the 7 days before ``end``: critical first, then warning, healthy."""

    end: datetime
    models: list[ModelHealth]

    def count(self, status: str) -> int:
        return Counter(m.assessment.status for m in self.models)[status]


@dataclass(frozen=True, slots=True)
class HourWinRate:
    hour: np.datetime64
    win_rate: float


@dataclass(frozen=True, slots=True)
class Trends:
    """Hourly buckets of one model over ``days`` days, and their direction."""

    model_id: str
    days: int
    span: TimeRange
    hours: HourlyAggregates
    win_rate: NDArray[np.float64]
    avg_reward: NDArray[np.float64]
    summary: TrendSummary
    best_hour: HourWinRate | None
    worst_hour: HourWinRate | None


@dataclass(frozen=True, slots=True)
class VersionPerformance:
    """One (model_id, model_version) of the comparison."""

    aggregates: VersionAggregates
    win_rate: float
    sharpe_ratio: float


def health_window(end: datetime) -> TimeRange:
    """The health rules' window: the 24 h before ``end``."""
    return TimeRange(end - HEALTH_WINDOW, end)


def assess(model_id: str, activity: ModelActivity | None, end: datetime) -> ModelHealth:
    """Apply the health rules (docs/DEFINITIONS.md#model-health) to one model's window."""
    if activity is None:  # the model exists, but not at or before end_time
        return ModelHealth(model_id, assess_health(0, 0.0, None, None), None, None)
    minutes = (end - activity.last_prediction).total_seconds() / 60.0
    verdict = assess_health(
        activity.predictions, activity.win_rate, activity.avg_latency_ms, minutes
    )
    return ModelHealth(activity.model_id, verdict, activity, minutes)


def model_health_list(conn: Connection, end: datetime) -> HealthList:
    models = [
        assess(a.model_id, a, end) for a in health_repo.recent_models(conn, health_window(end))
    ]
    models.sort(key=lambda m: (_STATUS_ORDER[m.assessment.status], m.model_id))
    return HealthList(end, models)


def model_health(conn: Connection, model_id: str, end: datetime) -> ModelHealth:
    activity = health_repo.model_activity(conn, model_id, health_window(end))
    if activity is None:
        require_model(conn, model_id)
    return assess(model_id, activity, end)


def trends(conn: Connection, model_id: str, end: datetime, days: int) -> Trends:
    """Clock-hour buckets of ``(end - days, end]`` with predictions, and their trends."""
    span = TimeRange(end - timedelta(days=days), end)
    hours = performance_repo.hourly(conn, model_id, span.start, span.end)
    if not hours.hour.size:
        require_model(conn, model_id)
    origin = np.datetime64(span.start.replace(minute=0, second=0, microsecond=0, tzinfo=None), "us")
    hour_index = ((hours.hour - origin) // _HOUR).astype(np.int64)
    win_rate = safe_ratio(hours.wins, hours.realized)
    avg_reward = safe_ratio(hours.total_reward, hours.rewarded)
    summary = summarize_trend(hour_index, win_rate, avg_reward, hours.realized)

    def at(extreme: HourExtreme | None) -> HourWinRate | None:
        if extreme is None:
            return None
        return HourWinRate(origin + extreme.hour_index * _HOUR, extreme.win_rate)

    return Trends(
        model_id=model_id,
        days=days,
        span=span,
        hours=hours,
        win_rate=win_rate,
        avg_reward=avg_reward,
        summary=summary,
        best_hour=at(summary.best_hour),
        worst_hour=at(summary.worst_hour),
    )


def version_comparison(conn: Connection, window: TimeRange) -> list[VersionPerformance]:
    """Every (model_id, model_version) with predictions in ``window``, best win rate first."""
    versions = [
        VersionPerformance(
            aggregates=v,
            win_rate=float(safe_ratio(v.wins, v.realized)),
            sharpe_ratio=sharpe_ratio(v.avg_reward, v.std_reward, v.rewarded),
        )
        for v in performance_repo.by_version(conn, window.start, window.end)
    ]
    versions.sort(key=lambda v: (-v.win_rate, v.aggregates.model_id, v.aggregates.model_version))
    return versions
