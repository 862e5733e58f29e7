"""Model health, hourly performance trends and the per-version comparison."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from analytics import (
    HealthAssessment,
    HourExtreme,
    MarketCalendar,
    TrendSummary,
    assess_health,
    safe_ratio,
    sharpe_ratio,
    summarize_trend,
    with_critical_drift,
    with_rollback,
)
from analytics.anomalies import ChangePoint, with_change_points
from analytics.health import with_threshold_breaches
from analytics.versions import VERDICT_ROLLBACK
from server.custom_metrics import CustomValue, breach_text
from server.db import Connection
from server.domain import (
    HealthRules,
    HourlyAggregates,
    ModelActivity,
    TimeRange,
    VersionAggregates,
)
from server.reports.anomalies import recent_change_points
from server.reports.custom import custom_windows
from server.reports.drift import drift_reports
from server.reports.versions import rollback_verdicts
from server.repositories import health as health_repo
from server.repositories import performance as performance_repo
from server.repositories.models import require_model, seen_since

HEALTH_WINDOW = timedelta(hours=24)  # one trading day
_STATUS_ORDER = {"critical": 0, "warning": 1, "healthy": 2}
_HOUR = np.timedelta64(1, "h")
#: Models whose checks share one fetch each: the rows of a few days of 25 models (~90k at 5-minute
#: bars) bound the memory of a list at scale, and smaller fetches cost no more per model.
CHECKED_TOGETHER = 25


@dataclass(frozen=True, slots=True)
class MarketState:
    """The market at one instant: its calendar, whether it is open, its last close and next
    open (None with the ``always`` calendar)."""

    calendar: str
    open: bool
    last_close: datetime | None
    next_open: datetime | None


@dataclass(frozen=True, slots=True)
class ModelHealth:
    """The health rules applied to one model's window; ``activity`` is None when the model has
    no prediction at or before the end of the window."""

    model_id: str
    assessment: HealthAssessment
    activity: ModelActivity | None
    minutes_since_last: float | None  # calendar minutes
    market_minutes_since_last: float | None
    window: TimeRange
    market: MarketState
    custom: tuple[CustomValue, ...] = ()  # the custom metrics over the window, in file order
    rollback: bool = False  # the default version comparison says: roll back
    change_points: tuple[ChangePoint, ...] = ()  # starting in the window, in time order


@dataclass(frozen=True, slots=True)
class HealthList:
    """Every model seen in the 7 days before ``window.end``: critical first, then warning,
    healthy."""

    window: TimeRange
    market: MarketState
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


def health_window(end: datetime, calendar: MarketCalendar) -> TimeRange:
    """The health rules' window: the last trading day (24 h on the trading-day clock) before
    ``end``."""
    return TimeRange(calendar.trading_window_start(end, HEALTH_WINDOW), end)


def market_state(calendar: MarketCalendar, at: datetime) -> MarketState:
    return MarketState(
        calendar=calendar.describe(),
        open=bool(calendar.is_open(at)),
        last_close=calendar.last_close(at),
        next_open=calendar.next_open(at),
    )


def assess(
    model_id: str,
    activity: ModelActivity | None,
    window: TimeRange,
    rules: HealthRules,
    market: MarketState,
) -> ModelHealth:
    """Apply the health rules (docs/DEFINITIONS.md#model-health) to one model's window."""
    if activity is None:  # the model exists, but not at or before end_time
        verdict = assess_health(0, 0.0, None, None)
        return ModelHealth(model_id, verdict, None, None, None, window, market)
    end = window.end
    minutes = (end - activity.last_prediction).total_seconds() / 60.0
    market_minutes = rules.calendar.market_minutes(activity.last_prediction, end)
    verdict = assess_health(
        activity.predictions,
        activity.win_rate,
        activity.avg_latency_ms,
        market_minutes,
        trades=activity.realized,
        min_trades=rules.min_trades,
    )
    return ModelHealth(
        activity.model_id, verdict, activity, minutes, market_minutes, window, market
    )


def model_health_list(conn: Connection, end: datetime, rules: HealthRules) -> HealthList:
    window = health_window(end, rules.calendar)
    market = market_state(rules.calendar, end)
    assessed = [
        assess(a.model_id, a, window, rules, market)
        for a in health_repo.recent_models(conn, window, seen_since(end, rules.calendar))
    ]
    models = [
        model
        for first in range(0, len(assessed), CHECKED_TOGETHER)
        for model in with_checks(conn, assessed[first : first + CHECKED_TOGETHER], end, rules)
    ]
    models.sort(key=lambda m: (_STATUS_ORDER[m.assessment.status], m.model_id))
    return HealthList(window, market, models)


def model_health(conn: Connection, model_id: str, end: datetime, rules: HealthRules) -> ModelHealth:
    window = health_window(end, rules.calendar)
    activity = health_repo.model_activity(conn, model_id, window)
    if activity is None:
        require_model(conn, model_id)
    model = assess(model_id, activity, window, rules, market_state(rules.calendar, end))
    [model] = with_checks(conn, [model], end, rules)
    return model


def with_checks(
    conn: Connection, models: list[ModelHealth], end: datetime, rules: HealthRules
) -> list[ModelHealth]:
    """``models`` with the issues of the checks beyond their activity: critical drift, custom
    metric thresholds, the rollback verdict and change points (each check one fetch for all)."""
    window = models[0].window if models else health_window(end, rules.calendar)
    models = with_custom(conn, with_drift(conn, models, end, rules), window, rules)
    models = with_rollback_check(conn, models, end, rules)
    return with_change(conn, models, window, rules)


def with_change(
    conn: Connection, models: list[ModelHealth], window: TimeRange, rules: HealthRules
) -> list[ModelHealth]:
    """``models`` with their change points starting in the health ``window`` and a warning
    issue for each (docs/DEFINITIONS.md#anomalies; all models from one fetch)."""
    found = recent_change_points(conn, [m.model_id for m in models], window, rules.calendar)
    return [
        replace(
            m,
            assessment=with_change_points(m.assessment, d.change_points),
            change_points=d.change_points,
        )
        for m, d in zip(models, found, strict=True)
    ]


def with_drift(
    conn: Connection, models: list[ModelHealth], end: datetime, rules: HealthRules
) -> list[ModelHealth]:
    """``models`` with the warning of a critical drift status (default drift windows ending at
    ``end``, all models from one fetch); unchanged without a drift check in ``rules``."""
    if rules.drift is None or not models:
        return models
    reports = drift_reports(
        conn,
        [m.model_id for m in models],
        end,
        window_hours=rules.drift.window_hours,
        baseline_days=rules.drift.baseline_days,
        thresholds=rules.drift.thresholds,
        hold_band=rules.drift.hold_band,
        calendar=rules.calendar,
        detail=False,
    )
    return [
        replace(m, assessment=with_critical_drift(m.assessment, r.data.features_drifted))
        if r.verdict.status == "critical"
        else m
        for m, r in zip(models, reports, strict=True)
    ]


def with_custom(
    conn: Connection, models: list[ModelHealth], window: TimeRange, rules: HealthRules
) -> list[ModelHealth]:
    """``models`` with their custom metrics over the health window (all models from one fetch)
    and an issue per breached threshold; unchanged without custom metrics in ``rules``."""
    metrics = rules.custom.metrics if rules.custom is not None else ()
    if not metrics or not models:
        return models
    assert rules.custom is not None
    windows = custom_windows(conn, [m.model_id for m in models], window, metrics, rules.custom.zone)
    return [
        replace(
            m,
            custom=tuple(w.values),
            assessment=with_threshold_breaches(
                m.assessment, [(v.status, breach_text(v)) for v in w.values if v.breached]
            ),
        )
        for m, w in zip(models, windows, strict=True)
    ]


def with_rollback_check(
    conn: Connection, models: list[ModelHealth], end: datetime, rules: HealthRules
) -> list[ModelHealth]:
    """``models`` with the warning of a ``rollback`` verdict of the default version comparison
    at ``end`` (all models from two queries), for a current version first seen in the 7 trading
    days before ``end``; unchanged without a rollback check in ``rules``."""
    if rules.rollback_days is None or not models:
        return models
    verdicts = rollback_verdicts(
        conn,
        [m.model_id for m in models],
        end=end,
        baseline_days=rules.rollback_days,
        calendar=rules.calendar,
        since=seen_since(end, rules.calendar),
    )
    checked = []
    for m in models:
        v = verdicts.get(m.model_id)
        test = None if v is None else v.comparison.test
        if v is None or v.baseline is None or test is None or test.verdict != VERDICT_ROLLBACK:
            checked.append(m)
            continue
        assert test.mean_difference is not None
        assessment = with_rollback(
            m.assessment, v.candidate, v.baseline, test.mean_difference, test.p_value
        )
        checked.append(replace(m, assessment=assessment, rollback=True))
    return checked


def trends(
    conn: Connection, model_id: str, end: datetime, days: int, calendar: MarketCalendar
) -> Trends:
    """Clock-hour buckets of the last ``days`` trading days before ``end`` with predictions, and
    their trends (the bucket index counts clock hours from the window's first hour)."""
    span = TimeRange(calendar.trading_window_start(end, timedelta(days=days)), end)
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
