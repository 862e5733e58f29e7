"""Many windows over one sorted series at once: each window's rows by binary search, and the
sums behind counts, means, standard deviations, win rates and Sharpe ratios by prefix sums.

A window is the instants ``(start, end]``; the rows are sorted by time. Prefix sums make every
window's sum O(1) after an O(n) pass, so a series of k windows costs O(n + k log n) whatever the
windows' overlap (docs/DEFINITIONS.md#metric-series).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from analytics.trading import _STD_NOISE, PERIODS_PER_YEAR

__all__ = ["RewardWindows", "reward_windows", "window_bounds", "window_sums"]


def window_bounds(
    times: NDArray[np.datetime64], starts: NDArray[np.datetime64], ends: NDArray[np.datetime64]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Row positions ``[lo, hi)`` of each window ``(start, end]`` of times sorted ascending."""
    lo = np.searchsorted(times, starts, side="right")
    hi = np.searchsorted(times, ends, side="right")
    return lo, np.maximum(hi, lo)


def window_sums(
    values: NDArray[np.float64], lo: NDArray[np.intp], hi: NDArray[np.intp]
) -> NDArray[np.float64]:
    """``values[lo:hi].sum()`` of every window, from one prefix sum."""
    prefix = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    result: NDArray[np.float64] = prefix[hi] - prefix[lo]
    return result


class RewardWindows(NamedTuple):
    """The trading metrics of `analytics.trading` that are sums, per window (none None)."""

    count: NDArray[np.int64]  # type: ignore[assignment]  # shadows tuple.count, deliberately
    total_return: NDArray[np.float64]
    avg_return: NDArray[np.float64]
    std_return: NDArray[np.float64]
    sharpe_ratio: NDArray[np.float64]
    win_rate: NDArray[np.float64]


def reward_windows(
    rewards: NDArray[np.float64],
    lo: NDArray[np.intp],
    hi: NDArray[np.intp],
    periods_per_year: int = PERIODS_PER_YEAR,
) -> RewardWindows:
    """Count, total, mean, std (ddof 1), Sharpe ratio and win rate of the non-NaN rewards of each
    window ``rewards[lo:hi]``, as `trading_metrics` defines them (equal to rounding).

    Moments are summed around the overall mean, which keeps the sum-of-squares form of the
    variance accurate; a window whose rewards are all equal has std 0 exactly, as in
    `trading_metrics`.
    """
    known = ~np.isnan(rewards)
    r = np.where(known, rewards, 0.0)
    # Positions among the non-NaN rewards: window [lo, hi) of rows is [clo, chi) of rewards.
    before = np.concatenate([[0], np.cumsum(known)])
    clo, chi = before[lo], before[hi]
    kept = r[known]
    shift = float(kept.mean()) if kept.size else 0.0
    d = kept - shift
    n = (chi - clo).astype(np.int64)
    s1 = window_sums(d, clo, chi)
    s2 = window_sums(d * d, clo, chi)
    total = window_sums(kept, clo, chi)
    wins = window_sums((kept > 0).astype(np.float64), clo, chi)
    realized = window_sums((kept != 0).astype(np.float64), clo, chi)
    # Changes between neighbours: a window with none holds one repeated value.
    changes = window_sums(
        np.concatenate([[0.0], (kept[1:] != kept[:-1]).astype(np.float64)]),
        np.minimum(clo + 1, chi),
        chi,
    )
    safe_n = np.maximum(n, 1)
    mean_d = s1 / safe_n
    avg = np.where(n > 0, shift + mean_d, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * mean_d) / np.maximum(n - 1, 1)
    std = np.where((n >= 2) & (changes > 0), np.sqrt(np.maximum(var, 0.0)), 0.0)
    noise = std <= _STD_NOISE * np.abs(avg)
    std = np.where(noise, 0.0, std)
    with np.errstate(invalid="ignore", divide="ignore"):
        sharpe = np.where(
            (n >= 2) & (std > 0),
            avg / np.where(std > 0, std, 1.0) * math.sqrt(periods_per_year),
            0.0,
        )
        win_rate = np.where(realized > 0, wins / np.maximum(realized, 1), 0.0)
    return RewardWindows(n, total, avg, std, sharpe, win_rate)
