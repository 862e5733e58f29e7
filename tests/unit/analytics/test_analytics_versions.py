"""The rollback verdict's maths against scipy: Welch's test, the paired case and the edges."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analytics.ab import bar_rewards
from analytics.versions import compare_versions, version_side, welch_difference_test


def test_welch_matches_scipy(rng: np.random.Generator) -> None:
    c = rng.normal(-2e-4, 1e-3, int(rng.integers(30, 200)))
    b = rng.normal(1e-4, 3e-3, int(rng.integers(30, 200)))
    got = welch_difference_test(c, b)
    reference = stats.ttest_ind(c, b, equal_var=False)
    interval = reference.confidence_interval(0.95)
    assert got.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert got.mean_difference == pytest.approx(c.mean() - b.mean(), rel=1e-12)
    assert got.difference_ci95 is not None
    assert got.difference_ci95.lower == pytest.approx(interval.low, rel=1e-9)
    assert got.difference_ci95.upper == pytest.approx(interval.high, rel=1e-9)
    significant = reference.pvalue < 0.05
    expected = "no_significant_difference"
    if significant:
        expected = "rollback" if c.mean() < b.mean() else "candidate_better"
    assert got.verdict == expected


def test_welch_edges() -> None:
    assert welch_difference_test([], [1.0, 2.0]).verdict == "insufficient_data"
    one = welch_difference_test([1.0], [1.0, 2.0], min_bars=1)
    assert (one.mean_difference, one.p_value, one.difference_ci95) == (-0.5, None, None)
    flat = welch_difference_test([1.0] * 30, [2.0] * 30)  # no spread: decisive
    assert (flat.p_value, flat.verdict) == (None, "rollback")
    assert flat.difference_ci95 == (-1.0, -1.0)
    assert welch_difference_test([1.0] * 30, [1.0] * 30).verdict == "no_significant_difference"
    with pytest.raises(ValueError, match="finite"):
        welch_difference_test([np.nan], [1.0])


def test_version_side() -> None:
    side = version_side([0.002, -0.001, 0.0, 0.003])
    r = np.array([0.002, -0.001, 0.0, 0.003])
    assert side.data_points == 4
    assert side.win_rate == pytest.approx(2 / 3)
    assert side.sharpe_ratio == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(14868))
    assert version_side([]) == version_side(np.zeros(0))
    assert version_side([]).mean_reward is None


def _bars(start: str, rewards: list[float]) -> tuple[np.ndarray, list[float]]:
    times = np.datetime64(start, "us") + np.arange(len(rewards)) * np.timedelta64(5, "m")
    return times, rewards


def test_paired_when_enough_common_bars(rng: np.random.Generator) -> None:
    market = rng.normal(0, 3e-3, 40)
    base = market + rng.normal(0, 1e-4, 40)
    cand = market - 2e-4 + rng.normal(0, 1e-4, 40)
    candidate = bar_rewards(*_bars("2026-03-02T13:00", list(cand)))
    alongside = bar_rewards(*_bars("2026-03-02T13:00", list(base)))
    before = bar_rewards(*_bars("2026-02-27T13:00", list(rng.normal(0, 1e-3, 50))))
    got = compare_versions(candidate, alongside, before)
    assert (got.method, got.common_bars) == ("paired", 40)
    assert got.test.p_value == pytest.approx(stats.ttest_1samp(cand - base, 0.0).pvalue, rel=1e-9)
    p = got.test.p_value
    assert p is not None
    assert got.test.verdict == ("rollback" if p < 0.05 else "no_significant_difference")
    # 29 common bars: Welch against the bars before the candidate.
    short = bar_rewards(*_bars("2026-03-02T13:00", list(base[:29])))
    welch = compare_versions(candidate, short, before)
    assert (welch.method, welch.common_bars) == ("welch", 29)
    reference = stats.ttest_ind(cand, before.reward, equal_var=False)
    assert welch.test.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert welch.baseline is not None
    assert welch.baseline.data_points == 50


def test_no_baseline() -> None:
    candidate = bar_rewards(*_bars("2026-03-02T13:00", [1.0, 2.0]))
    got = compare_versions(candidate, None, None)
    assert (got.method, got.baseline, got.test.verdict) == ("welch", None, "insufficient_data")
    assert got.candidate.data_points == 2
