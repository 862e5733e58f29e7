"""Is a model getting better or worse? (docs/DEFINITIONS.md#performance-trends, hourly buckets.)

Bucket ``h`` covers ``[origin + h hours, origin + (h + 1) hours)``: clock hours when ``origin``
is on the hour (the server uses the hour in which the window starts), so a dashboard sees the
familiar 13:00, 14:00, ... and ``h = floor((t - origin) / 1 h)``. In SQL:
``date_trunc('hour', t)``. The first and last buckets of a window may be partial hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import (
    as_datetime_array,
    as_datetime_scalar,
    as_finite_array,
    as_float_array,
    as_int_array,
    check_finite,
    check_non_negative,
    check_positive_int,
    check_same_length,
    drop_nan,
)

__all__ = [
    "DEFAULT_MOVING_AVERAGE_WINDOW",
    "DEFAULT_TREND_TOLERANCE",
    "HourExtreme",
    "HourlyBuckets",
    "TrendSummary",
    "hourly_buckets",
    "moving_average",
    "summarize_trend",
    "trend_direction",
    "trend_slope",
]

DEFAULT_TREND_TOLERANCE: Final = 0.001
DEFAULT_MOVING_AVERAGE_WINDOW: Final = 24
_HOUR_US: Final = 3_600_000_000


class HourExtreme(NamedTuple):
    """The bucket with the best (or worst) win rate."""

    hour_index: int
    win_rate: float


@dataclass(frozen=True, slots=True, eq=False)
class HourlyBuckets:
    """Per-hour aggregates, parallel arrays over the buckets that have at least one prediction.

    Attributes
    ----------
    hour_index : numpy.ndarray of int64
        Hours since the origin (see the module docstring), ascending.
    predictions : numpy.ndarray of int64
        Inference rows in the bucket.
    win_rate : numpy.ndarray of float64
        ``#(r > 0) / #(r != 0)`` over the bucket's non-NULL rewards; 0.0 when none is non-zero.
    avg_reward : numpy.ndarray of float64
        Mean non-NULL reward; 0.0 when none.
    total_reward : numpy.ndarray of float64
        Sum of non-NULL rewards.
    avg_latency_ms : numpy.ndarray of float64
        Mean non-NULL latency; 0.0 where `has_latency` is False.
    has_latency : numpy.ndarray of bool
        Whether the bucket has any latency value.
    realized : numpy.ndarray of int64
        Bars with realized P&L (non-NULL ``r != 0``).
    """

    hour_index: NDArray[np.int64]
    predictions: NDArray[np.int64]
    win_rate: NDArray[np.float64]
    avg_reward: NDArray[np.float64]
    total_reward: NDArray[np.float64]
    avg_latency_ms: NDArray[np.float64]
    has_latency: NDArray[np.bool_]
    realized: NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class TrendSummary:
    """Direction of the hourly win rate and reward.

    Attributes
    ----------
    win_rate_slope, reward_slope : float
        Least-squares slopes per hour (see `trend_slope`).
    win_rate_trend, reward_trend : str
        ``"improving"``, ``"declining"`` or ``"stable"`` (see `trend_direction`).
    best_hour, worst_hour : HourExtreme or None
        Highest / lowest win rate over the buckets with at least one realized-P&L bar (the
        earliest bucket on ties); None when there is no such bucket.
    win_rate_moving_average : numpy.ndarray of float64
        Trailing moving average of the bucket win rates (see `moving_average`).
    """

    win_rate_slope: float
    win_rate_trend: str
    reward_slope: float
    reward_trend: str
    best_hour: HourExtreme | None
    worst_hour: HourExtreme | None
    win_rate_moving_average: NDArray[np.float64]


def trend_slope(x: ArrayLike, y: ArrayLike) -> float:
    r"""Least-squares slope of `y` on `x`.

    .. math::

        \beta = \frac{\sum (x_i - \bar x)(y_i - \bar y)}{\sum (x_i - \bar x)^2}

    Defined as 0.0 with fewer than 2 points or a constant `x`.

    Examples
    --------
    >>> trend_slope([0.0, 1.0, 2.0], [0.5, 0.6, 0.7])
    0.09999999999999998
    """
    xs = as_finite_array(x, "x")
    ys = as_finite_array(y, "y")
    n = check_same_length(x=xs, y=ys)
    if n < 2 or xs.min() == xs.max():
        return 0.0
    dx = xs - xs.mean()
    return float(np.dot(dx, ys - ys.mean()) / np.dot(dx, dx))


def trend_direction(slope: float, tolerance: float = DEFAULT_TREND_TOLERANCE) -> str:
    """Direction of a trend: ``"improving"``, ``"declining"`` or ``"stable"``.

    ``"improving"`` if `slope` > `tolerance`, ``"declining"`` if `slope` < -`tolerance`, else
    ``"stable"`` (a slope exactly at the tolerance is stable).

    Examples
    --------
    >>> trend_direction(0.002), trend_direction(-0.001), trend_direction(-0.0011)
    ('improving', 'stable', 'declining')
    """
    slope = check_finite(slope, "slope")
    tolerance = check_non_negative(tolerance, "tolerance")
    if slope > tolerance:
        return "improving"
    if slope < -tolerance:
        return "declining"
    return "stable"


def moving_average(
    values: ArrayLike, window: int = DEFAULT_MOVING_AVERAGE_WINDOW
) -> NDArray[np.float64]:
    r"""Trailing mean over the last `window` values (fewer at the start).

    .. math::

        m_i = \frac{1}{i - j + 1} \sum_{k=j}^{i} v_k, \quad j = \max(0, i - window + 1)

    Same length as `values`; each window is summed directly (no running-sum differences), so the
    result stays within the range of the values.

    Examples
    --------
    >>> moving_average([1.0, 2.0, 3.0, 4.0], window=2).tolist()
    [1.0, 1.5, 2.5, 3.5]
    """
    v = as_finite_array(values, "values")
    window = check_positive_int(window, "window")
    n = v.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    sums = np.convolve(v, np.ones(min(window, n)))[:n]
    counts = np.minimum(np.arange(1, n + 1), window)
    return np.asarray(sums / counts, dtype=np.float64)


def summarize_trend(
    hour_index: ArrayLike,
    win_rate: ArrayLike,
    avg_reward: ArrayLike,
    realized: ArrayLike,
    ma_window: int = DEFAULT_MOVING_AVERAGE_WINDOW,
) -> TrendSummary:
    """Slopes, directions, best/worst hour and moving average of hourly buckets.

    Slopes are least squares of `win_rate` and `avg_reward` on `hour_index` (so an hour without
    predictions is a gap, not a zero); directions use the 0.001 tolerance of
    docs/DEFINITIONS.md#performance-trends.

    Parameters
    ----------
    hour_index : array of int
        Bucket hours since the window start, strictly increasing; buckets without predictions
        are absent.
    win_rate, avg_reward : array of float
        Per bucket, as `HourlyBuckets`.
    realized : array of int
        Bars with realized P&L per bucket; only buckets with ``realized > 0`` compete for the
        best and worst hour.
    ma_window : int, default 24
        Window of the win-rate moving average (over the buckets present).

    Returns
    -------
    TrendSummary
    """
    hours = as_int_array(hour_index, "hour_index")
    rates = as_finite_array(win_rate, "win_rate")
    rewards = as_finite_array(avg_reward, "avg_reward")
    bars = as_int_array(realized, "realized")
    check_same_length(hour_index=hours, win_rate=rates, avg_reward=rewards, realized=bars)
    if hours.size > 1 and (np.diff(hours) <= 0).any():
        raise ValueError("hour_index must be strictly increasing")
    x = hours.astype(np.float64)
    win_rate_slope = trend_slope(x, rates)
    reward_slope = trend_slope(x, rewards)

    best = worst = None
    scored = np.flatnonzero(bars > 0)
    if scored.size:
        # argmax/argmin return the first extreme, i.e. the earliest bucket on ties.
        top = scored[int(np.argmax(rates[scored]))]
        bottom = scored[int(np.argmin(rates[scored]))]
        best = HourExtreme(int(hours[top]), float(rates[top]))
        worst = HourExtreme(int(hours[bottom]), float(rates[bottom]))
    return TrendSummary(
        win_rate_slope=win_rate_slope,
        win_rate_trend=trend_direction(win_rate_slope),
        reward_slope=reward_slope,
        reward_trend=trend_direction(reward_slope),
        best_hour=best,
        worst_hour=worst,
        win_rate_moving_average=moving_average(rates, ma_window),
    )


def hourly_buckets(
    times: ArrayLike, rewards: ArrayLike, latency_ms: ArrayLike, origin: np.datetime64
) -> HourlyBuckets:
    r"""Aggregate inference rows into hourly buckets (the reference for the SQL version).

    Row :math:`i` at time :math:`t_i` falls in bucket
    :math:`h_i = \lfloor (t_i - origin) / 1\,h \rfloor`, i.e. :math:`[origin + h, origin + h + 1)`
    hours. Per bucket, over its non-NULL rewards :math:`r`: ``win_rate`` =
    :math:`\#(r > 0) / \#(r \ne 0)` (0 if no realized bar), ``avg_reward`` = mean (0 if none),
    ``total_reward`` = sum; ``avg_latency_ms`` = mean non-NULL latency.

    Parameters
    ----------
    times : array of datetime64
        Inference timestamps, any order, none before `origin`.
    rewards : array of float
        Rewards, NaN for NULL.
    latency_ms : array of float
        Latencies, NaN for NULL.
    origin : numpy.datetime64
        Start of bucket 0, e.g. the window start truncated to the hour.

    Returns
    -------
    HourlyBuckets
        Only buckets with at least one row, in hour order; empty arrays for no rows.

    Raises
    ------
    ValueError
        Mismatched lengths, infinite rewards or latencies, or a time before `origin`.
    """
    t = as_datetime_array(times, "times")
    r = as_float_array(rewards, "rewards")
    lat = as_float_array(latency_ms, "latency_ms")
    check_same_length(times=t, rewards=r, latency_ms=lat)
    drop_nan(r, "rewards")  # validates: infinities are rejected
    drop_nan(lat, "latency_ms")
    first = as_datetime_scalar(origin, "origin")

    elapsed = (t - first).astype(np.int64)  # microseconds
    if elapsed.size and elapsed.min() < 0:
        raise ValueError("times must not be before origin (bucket 0 is [origin, origin + 1 h))")
    hour = elapsed // _HOUR_US
    buckets, slot = np.unique(hour, return_inverse=True)
    k = buckets.size

    def count(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.bincount(slot[mask], minlength=k).astype(np.int64)

    def ratio(
        numerator: NDArray[np.float64], denominator: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        out = np.zeros(k, dtype=np.float64)
        np.divide(numerator, denominator, out=out, where=denominator > 0)
        return out

    has_reward = ~np.isnan(r)
    realized = count(has_reward & (r != 0.0))
    wins = count(has_reward & (r > 0.0))
    # With weights bincount sums float64 (numpy's stubs say intp: astype is for mypy).
    total_reward = np.bincount(slot[has_reward], weights=r[has_reward], minlength=k).astype(
        np.float64
    )
    has_lat = ~np.isnan(lat)
    latency_count = count(has_lat)
    latency_total = np.bincount(slot[has_lat], weights=lat[has_lat], minlength=k).astype(np.float64)
    return HourlyBuckets(
        hour_index=buckets.astype(np.int64),
        predictions=np.bincount(slot, minlength=k).astype(np.int64),
        win_rate=ratio(wins.astype(np.float64), realized),
        avg_reward=ratio(total_reward, count(has_reward)),
        total_reward=total_reward,
        avg_latency_ms=ratio(latency_total, latency_count),
        has_latency=latency_count > 0,
        realized=realized,
    )
