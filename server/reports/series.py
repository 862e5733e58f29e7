"""A metric at every step of a range: the history a chart needs (docs/DEFINITIONS.md#metric-series).

Point t is the metric over the window (trading_window_starts(t, length), t], exactly what the
rolling (or custom) call answers at end_time t. All points come from one fetch of the rows of the
whole range: each window's rows are found by binary search, the sums behind Sharpe, win rate,
returns and mean latency by prefix sums; the other metrics run their analytics function on each
window's slice. A prediction is resolved at t when its next bar is at or before t, as in the
rolling call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from analytics import (
    MarketCalendar,
    classification_report,
    latency_stats,
    risk_metrics,
    trading_metrics,
)
from analytics.custom import custom_aggregate
from analytics.series import reward_windows, window_bounds, window_sums
from server.custom_metrics import (
    CustomMetric,
    columns_of,
    extra_columns,
    matching,
)
from server.db import Connection
from server.domain import Bars, Evaluation, Predictions, TimeRange
from server.reports.outcomes import evaluate
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model

#: Each rolling metric (a number of the rolling call's `metrics`) from one window's evaluation.
_Extract = Callable[[Evaluation], float | None]


def _classification(name: str) -> _Extract:
    def extract(e: Evaluation) -> float | None:
        p, resolved = e.predictions, e.resolved
        report = classification_report(
            p.action[resolved], e.actual_action[resolved], p.action_raw[resolved]
        )
        return float(getattr(report, name))

    return extract


def _trading(name: str) -> _Extract:
    def extract(e: Evaluation) -> float | None:
        value = getattr(trading_metrics(e.predictions.reward), name)
        return None if value is None else float(value)

    return extract


def _risk(name: str) -> _Extract:
    def extract(e: Evaluation) -> float | None:
        value = getattr(risk_metrics(e.predictions.reward), name)
        return None if value is None else float(value)

    return extract


def _latency(name: str) -> _Extract:
    def extract(e: Evaluation) -> float | None:
        stats = latency_stats(e.predictions.latency_ms)
        return None if stats is None else float(getattr(stats, name))

    return extract


ROLLING_METRICS: dict[str, _Extract] = {
    **{
        n: _classification(n) for n in ("accuracy", "precision", "recall", "f1_score", "mse", "mae")
    },
    "sharpe_ratio": _trading("sharpe_ratio"),
    "sortino_ratio": _trading("sortino_ratio"),
    "profit_factor": _trading("profit_factor"),
    "win_rate": _trading("win_rate"),
    "max_drawdown": _trading("max_drawdown"),
    "total_return": _trading("total_return"),
    "avg_return": _trading("avg_return"),
    "std_return": _trading("std_return"),
    "reward_count": _trading("count"),
    "avg_latency_ms": _latency("mean"),
    "p50_latency_ms": _latency("p50"),
    "p95_latency_ms": _latency("p95"),
    "p99_latency_ms": _latency("p99"),
    **{n: _risk(n) for n in ("calmar_ratio", "var_95", "cvar_95", "tail_ratio")},
    "probabilistic_sharpe": _risk("probabilistic_sharpe"),
}
"""Every series metric of the rolling call, in the order of its `metrics`."""

#: Those computed for every window at once from prefix sums.
_BY_SUMS = frozenset(
    {"sharpe_ratio", "win_rate", "total_return", "avg_return", "std_return", "reward_count"}
)


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    end: datetime
    value: float | None
    data_points: int


@dataclass(frozen=True, slots=True)
class Series:
    model_id: str
    metric: str
    window: str
    step: timedelta
    start: datetime
    end: datetime
    points: list[SeriesPoint]  # ascending


def point_times(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """end, end - step, ... down to start (inclusive), ascending."""
    count = point_count(start, end, step)
    return [end - step * k for k in reversed(range(count))]


def point_count(start: datetime, end: datetime, step: timedelta) -> int:
    """How many points the range holds: t = end - k step >= start."""
    return (end - start) // step + 1 if end >= start else 0


def series(
    conn: Connection,
    model_id: str,
    metric: str,
    *,
    window: str,
    length: timedelta,
    step: timedelta,
    start: datetime,
    end: datetime,
    calendar: MarketCalendar,
    hold_band: float,
    custom: CustomMetric | None,
    zone: str,
) -> Series:
    """``metric`` (a rolling metric's name, or ``custom``) at every step of [start, end]."""
    times = point_times(start, end, step)
    ends = _us(times)
    starts = calendar.trading_window_starts(ends, length)
    first = starts.min().astype(datetime).replace(tzinfo=UTC)
    span = TimeRange(first, end)
    extras = extra_columns([custom]) if custom is not None else ()
    data = predictions_repo.fetch_window(conn, [model_id], span, extras)
    p = data.predictions
    if not len(p):
        require_model(conn, model_id)
    lo, hi = window_bounds(p.time, starts, ends)
    if custom is not None:
        values = _custom_values(custom, p, lo, hi, zone)
    elif metric in _BY_SUMS:
        sums = reward_windows(p.reward, lo, hi)
        field = "count" if metric == "reward_count" else metric
        values = [float(v) for v in getattr(sums, field)]
    elif metric == "avg_latency_ms":
        values = _mean_latency(p.latency_ms, lo, hi)
    else:
        values = _by_window(ROLLING_METRICS[metric], p, data.bars, end, hold_band, times, lo, hi)
    points = [
        SeriesPoint(t, v, int(b - a)) for t, v, a, b in zip(times, values, lo, hi, strict=True)
    ]
    return Series(model_id, metric, window, step, start, end, points)


def _us(instants: list[datetime]) -> NDArray[np.datetime64]:
    return np.array([t.replace(tzinfo=None) for t in instants], dtype="datetime64[us]")


def _mean_latency(
    latency: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp]
) -> list[float | None]:
    known = ~np.isnan(latency)
    n = window_sums(known.astype(np.float64), lo, hi)
    total = window_sums(np.where(known, latency, 0.0), lo, hi)
    return [float(t / c) if c else None for t, c in zip(total, n, strict=True)]


def _custom_values(
    metric: CustomMetric,
    p: Predictions,
    lo: NDArray[np.intp],
    hi: NDArray[np.intp],
    zone: str,
) -> list[float | None]:
    columns = columns_of(p, zone, metric.columns)
    mask = matching(metric, columns, len(p))
    rows = window_sums(mask.astype(np.float64), lo, hi)
    of = columns[metric.of] if metric.of else np.empty(len(p))
    values: list[float | None] = []
    for a, b, n in zip(lo, hi, rows, strict=True):
        part = of[a:b][mask[a:b]] if metric.of else of[:0]
        values.append(custom_aggregate(metric.aggregate, part, int(n), int(b - a), metric.q))
    return values


def _by_window(  # noqa: PLR0917
    extract: _Extract,
    p: Predictions,
    bars: Bars,
    end: datetime,
    hold_band: float,
    times: list[datetime],
    lo: NDArray[np.intp],
    hi: NDArray[np.intp],
) -> list[float | None]:
    """The metric of each window's slice, its predictions resolved as of the window's end."""
    final = evaluate(p, bars, end, hold_band)
    settles = _next_bar_times(p, bars)
    values: list[float | None] = []
    for t, a, b in zip(_us(times), lo, hi, strict=True):
        part = final.take(slice(int(a), int(b)))
        resolved = part.resolved & (settles[a:b] <= t)
        values.append(
            extract(
                Evaluation(
                    part.predictions,
                    np.where(resolved, part.actual_return, 0.0),
                    np.where(resolved, part.actual_action, 0).astype(np.int8),
                    resolved,
                    part.correct & resolved,
                )
            )
        )
    return values


def _next_bar_times(p: Predictions, bars: Bars) -> NDArray[np.datetime64]:
    """The time of each prediction's next bar (the one that resolves it); the far future when
    there is none yet."""
    settles = np.full(len(p), np.datetime64("9999-12-31T00:00:00", "us"))
    for symbol in np.unique(p.symbol):
        rows = p.symbol == symbol
        bar_times = bars.time[bars.symbol == symbol]
        after = np.searchsorted(bar_times, p.time[rows], side="right")
        found = after < bar_times.size
        chosen = settles[rows]
        chosen[found] = bar_times[after[found]]
        settles[rows] = chosen
    return settles
