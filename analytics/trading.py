"""Trading performance of a reward series (docs/DEFINITIONS.md#trading-metrics, non-NULL rewards).

Rewards are per-bar P&L in log-return units, in time order. Annualization assumes 59 five-minute
bars per trading day and 252 trading days a year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import (
    as_float_array,
    check_finite,
    check_non_negative,
    check_positive_int,
    drop_nan,
)

__all__ = [
    "PERIODS_PER_YEAR",
    "LatencyStats",
    "TradingMetrics",
    "latency_stats",
    "sharpe_ratio",
    "sortino_ratio",
    "trading_metrics",
]

PERIODS_PER_YEAR: Final = 14868
"""Bars per year used to annualize: 252 trading days x 59 five-minute bars."""

# A standard deviation this small relative to the mean is the rounding noise of a constant series
# (numpy's two-pass std, or SQL's stddev_samp, of n equal values is ~n * 1e-16 * |mean|, not 0).
_STD_NOISE: Final = 1e-12


@dataclass(frozen=True, slots=True)
class TradingMetrics:
    """Return statistics of a reward series.

    Attributes
    ----------
    count : int
        Number of non-NULL rewards.
    total_return : float
        ``sum r``.
    avg_return : float
        ``mean r``; 0.0 when empty.
    std_return : float
        Sample standard deviation (ddof 1); 0.0 with fewer than 2 rows or all rewards equal.
    sharpe_ratio : float
        ``avg / std * sqrt(periods_per_year)``; 0.0 with fewer than 2 rows or std 0.
    sortino_ratio : float
        ``avg / sqrt(mean(min(r, 0)^2)) * sqrt(periods_per_year)``; 0.0 with fewer than 2 rows
        or no negative reward.
    win_rate : float
        ``#(r > 0) / #(r != 0)``, over the bars with realized P&L; 0.0 when none.
    profit_factor : float or None
        ``sum(r > 0) / |sum(r < 0)|``; None when there is no loss, 0.0 with losses but no wins.
    max_drawdown : float
        ``max_t (max_{s <= t} C_s - C_t)`` with ``C`` the cumulative sum starting at
        ``C_0 = 0``; >= 0.
    max_abs_return : float
        ``max |r|``; 0.0 when empty.
    """

    count: int
    total_return: float
    avg_return: float
    std_return: float
    sharpe_ratio: float
    sortino_ratio: float
    win_rate: float
    profit_factor: float | None
    max_drawdown: float
    max_abs_return: float


class LatencyStats(NamedTuple):
    """Inference latency summary in milliseconds (linear-interpolated percentiles)."""

    count: int  # type: ignore[assignment]  # the field shadows tuple.count, deliberately
    mean: float
    p50: float
    p95: float
    p99: float


def sharpe_ratio(
    mean: float, std: float, count: int, periods_per_year: int = PERIODS_PER_YEAR
) -> float:
    r"""Annualized Sharpe ratio from the moments of a reward series.

    .. math::

        S = \frac{\bar r}{s} \sqrt{P}

    with :math:`s` the sample standard deviation (ddof 1) and :math:`P` `periods_per_year`.
    Defined as 0.0 when `count` < 2 or :math:`s = 0`. A :math:`s \le 10^{-12} |\bar r|` counts
    as 0: it is the rounding noise of a constant series, whose exact std is 0.

    Use this when SQL computed ``avg``/``stddev_samp``/``count``; `trading_metrics` applies
    the same rule.

    Examples
    --------
    >>> round(sharpe_ratio(0.001, 0.01, 100), 4)
    12.1934
    """
    mean = check_finite(mean, "mean")
    std = check_non_negative(std, "std")
    if std <= _STD_NOISE * abs(mean):  # the rounding noise of a constant series
        std = 0.0
    return _annualized_ratio(mean, std, count, periods_per_year)


def sortino_ratio(
    mean: float, downside_deviation: float, count: int, periods_per_year: int = PERIODS_PER_YEAR
) -> float:
    r"""Annualized Sortino ratio from the mean and the downside deviation.

    .. math::

        \text{Sortino} = \frac{\bar r}{\sqrt{\tfrac1n \sum_t \min(r_t, 0)^2}} \sqrt{P}

    The downside deviation averages over *all* n rows (a gain contributes 0). Defined as 0.0
    when `count` < 2 or the downside deviation is 0 (no losing bar).

    Examples
    --------
    >>> round(sortino_ratio(0.001, 0.005, 100), 4)
    24.3869
    """
    mean = check_finite(mean, "mean")
    downside_deviation = check_non_negative(downside_deviation, "downside_deviation")
    return _annualized_ratio(mean, downside_deviation, count, periods_per_year)


def _annualized_ratio(mean: float, deviation: float, count: int, periods_per_year: int) -> float:
    """``mean / deviation * sqrt(periods_per_year)``; 0.0 when `count` < 2 or `deviation` is 0.

    Shared by `sharpe_ratio` and `sortino_ratio`, which validate `mean` and `deviation`.
    """
    count = check_positive_int(count, "count", minimum=0)
    periods_per_year = check_positive_int(periods_per_year, "periods_per_year")
    if count < 2 or deviation == 0.0:
        return 0.0
    return mean / deviation * math.sqrt(periods_per_year)


def trading_metrics(rewards: ArrayLike, periods_per_year: int = PERIODS_PER_YEAR) -> TradingMetrics:
    r"""Return, risk and win statistics of a reward series.

    Over the non-NULL rewards :math:`r_1..r_n` in time order:

    .. math::

        total = \sum r_t, \quad \bar r = total / n, \quad
        s = \sqrt{\tfrac{1}{n-1} \sum (r_t - \bar r)^2}

        Sharpe = \bar r / s \cdot \sqrt{P}, \quad
        Sortino = \bar r / \sqrt{\tfrac1n \sum \min(r_t, 0)^2} \cdot \sqrt{P}

        win\_rate = \frac{\#\{r_t > 0\}}{\#\{r_t \ne 0\}}, \quad
        profit\_factor = \frac{\sum_{r_t > 0} r_t}{|\sum_{r_t < 0} r_t|}

        C_0 = 0,\ C_t = \sum_{u \le t} r_u, \quad
        max\_drawdown = \max_t \left(\max_{s \le t} C_s - C_t\right)

    Parameters
    ----------
    rewards : array of float
        Per-bar rewards in time order; NaN (SQL NULL) entries are dropped.
    periods_per_year : int, default 14868
        Annualization factor :math:`P`.

    Returns
    -------
    TradingMetrics
        Edge cases: empty input gives all zeros and ``profit_factor=None``; with one row, std,
        Sharpe and Sortino are 0; with no loss, ``profit_factor`` is None (and also when the
        losses are so small that the ratio would overflow float64); with no wins but losses it
        is 0.0; all-zero rewards give ``win_rate`` 0.

    Raises
    ------
    ValueError
        If `rewards` contains an infinity or `periods_per_year` < 1.

    Examples
    --------
    >>> m = trading_metrics([-1.0, 2.0, -3.0, 1.0])
    >>> m.total_return, m.win_rate, m.profit_factor, m.max_drawdown
    (-1.0, 0.5, 0.75, 3.0)
    """
    r = drop_nan(as_float_array(rewards, "rewards"), "rewards")
    periods_per_year = check_positive_int(periods_per_year, "periods_per_year")
    n = int(r.size)
    if n == 0:
        return TradingMetrics(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, 0.0, 0.0)

    total = float(np.sum(r))
    mean = float(np.mean(r))
    low, high = float(r.min()), float(r.max())
    # Exactly 0 for a constant series (np.std would return rounding noise there).
    std = float(np.std(r, ddof=1)) if n >= 2 and low != high else 0.0
    downside = float(np.sqrt(np.mean(np.square(np.minimum(r, 0.0)))))

    wins = r > 0.0
    losses = r < 0.0
    n_wins, n_losses = int(wins.sum()), int(losses.sum())
    realized = n_wins + n_losses
    gross_profit = float(r[wins].sum())
    gross_loss = -float(r[losses].sum())
    profit_factor: float | None = None
    if n_losses and gross_loss > 0.0:
        ratio = gross_profit / gross_loss
        profit_factor = ratio if math.isfinite(ratio) else None

    return TradingMetrics(
        count=n,
        total_return=total,
        avg_return=mean,
        std_return=std,
        sharpe_ratio=sharpe_ratio(mean, std, n, periods_per_year),
        sortino_ratio=sortino_ratio(mean, downside, n, periods_per_year),
        win_rate=n_wins / realized if realized else 0.0,
        profit_factor=profit_factor,
        max_drawdown=_max_drawdown(r),
        max_abs_return=max(abs(low), abs(high)),
    )


def _max_drawdown(r: NDArray[np.float64]) -> float:
    """Largest fall of the equity curve ``C`` (``C_0 = 0``) from its running peak; 0.0 if empty.

    Internal: `r` is an already validated float64 array without NaN (see `trading_metrics`).
    """
    if r.size == 0:
        return 0.0
    equity = np.cumsum(r)
    peak = np.maximum.accumulate(equity)
    # The running max includes C_0 = 0, so a loss on the very first bar is a drawdown too.
    np.maximum(peak, 0.0, out=peak)
    return float(np.max(peak - equity))


def latency_stats(latency_ms: ArrayLike) -> LatencyStats | None:
    """Mean and percentiles of inference latency.

    Percentiles use numpy's default ``method="linear"`` (type 7 of Hyndman and Fan: the value at
    fractional rank ``q (n - 1)``, linearly interpolated between its neighbours), like
    PostgreSQL's ``percentile_cont``.

    Parameters
    ----------
    latency_ms : array of float
        Latencies in milliseconds; NaN (SQL NULL) entries are dropped.

    Returns
    -------
    LatencyStats or None
        None when no latency value remains.

    Examples
    --------
    >>> stats = latency_stats([10.0, 20.0, 30.0, 40.0, float("nan")])
    >>> stats.count, stats.p50, stats.p95, round(stats.p99, 9)
    (4, 25.0, 38.5, 39.7)
    """
    values = drop_nan(as_float_array(latency_ms, "latency_ms"), "latency_ms")
    if values.size == 0:
        return None
    p50, p95, p99 = (float(v) for v in np.percentile(values, [50.0, 95.0, 99.0]))
    return LatencyStats(int(values.size), float(np.mean(values)), p50, p95, p99)
