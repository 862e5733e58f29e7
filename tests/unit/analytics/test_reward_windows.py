"""Windows' trading metrics from prefix sums equal `trading_metrics` of each window's slice."""

from __future__ import annotations

import math

import numpy as np

from analytics import trading_metrics
from analytics.series import reward_windows, window_bounds


def test_every_window_equals_trading_metrics_of_its_slice(rng: np.random.Generator) -> None:
    n = 600
    rewards = rng.normal(0.0003, 0.001, n)
    rewards[rng.random(n) < 0.15] = np.nan
    rewards[rng.random(n) < 0.1] = 0.0
    rewards[100:140] = 0.002  # a constant stretch: std exactly 0, Sharpe 0
    rewards[300:302] = np.nan
    lo = rng.integers(0, n, 300)
    hi = np.minimum(lo + rng.integers(0, 120, 300), n)
    lo = np.concatenate([lo, [100, 105, 0, 300]])
    hi = np.concatenate([hi, [140, 106, 0, 302]])  # constant, one value, empty, all NULL
    got = reward_windows(rewards, lo, hi)
    for k, (a, b) in enumerate(zip(lo, hi, strict=True)):
        want = trading_metrics(rewards[a:b])
        assert got.count[k] == want.count
        for name in ("total_return", "avg_return", "std_return", "sharpe_ratio", "win_rate"):
            value, expected = float(getattr(got, name)[k]), getattr(want, name)
            assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-15), (name, a, b)
    assert got.std_return[-4] == 0.0
    assert got.sharpe_ratio[-4] == 0.0


def test_window_bounds_are_the_half_open_windows() -> None:
    times = np.array(
        ["2026-01-01T00:00", "2026-01-01T00:05", "2026-01-01T00:05", "2026-01-01T00:10"],
        dtype="datetime64[us]",
    )
    starts = np.array(["2026-01-01T00:00", "2026-01-01T00:05"], dtype="datetime64[us]")
    ends = np.array(["2026-01-01T00:05", "2026-01-01T00:10"], dtype="datetime64[us]")
    lo, hi = window_bounds(times, starts, ends)
    assert (lo.tolist(), hi.tolist()) == ([1, 3], [3, 4])  # (start, end]
