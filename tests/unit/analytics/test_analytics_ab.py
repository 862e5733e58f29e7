"""Paired A/B comparison (analytics.ab) against scipy and hand-worked cases."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from numpy.typing import NDArray
from scipy import stats

from analytics import AB_MIN_COMMON_BARS, AB_SIGNIFICANCE_LEVEL, ABComparison, ab_comparison
from analytics.ab import (
    VERDICT_INSUFFICIENT_DATA,
    VERDICT_MODEL_A,
    VERDICT_MODEL_B,
    VERDICT_NO_SIGNIFICANT_DIFFERENCE,
    ConfidenceInterval,
    bar_rewards,
    paired_difference_test,
)

NAN = float("nan")
T0 = np.datetime64("2026-01-05T13:00", "us")
MINUTE = np.timedelta64(1, "m")
SECOND = np.timedelta64(1, "s")

FLIPPED = {
    VERDICT_MODEL_A: VERDICT_MODEL_B,
    VERDICT_MODEL_B: VERDICT_MODEL_A,
    VERDICT_NO_SIGNIFICANT_DIFFERENCE: VERDICT_NO_SIGNIFICANT_DIFFERENCE,
    VERDICT_INSUFFICIENT_DATA: VERDICT_INSUFFICIENT_DATA,
}

differences_strategy = hnp.arrays(
    np.float64,
    st.integers(0, 80),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


def _times(*offsets_seconds: int) -> NDArray[np.datetime64]:
    return T0 + np.array(offsets_seconds, dtype=np.int64) * SECOND


def _assert_mirrored(a: ABComparison, b: ABComparison) -> None:
    """`b` is `a` with the models swapped: negated difference, same p, flipped verdict."""
    assert b.common_bars == a.common_bars
    assert b.mean_difference == (None if a.mean_difference is None else -a.mean_difference)
    if a.difference_ci95 is None:
        assert b.difference_ci95 is None
    else:
        assert b.difference_ci95 == (-a.difference_ci95.upper, -a.difference_ci95.lower)
    assert b.p_value == a.p_value
    assert b.verdict == FLIPPED[a.verdict]


class TestBarRewards:
    def test_rows_are_summed_per_five_minute_bar(self) -> None:
        # 13:00:00 and 13:04:59.999999 share the 13:00 bar; 13:05:00 starts the next one.
        t = np.array(
            [T0, T0 + 5 * MINUTE - np.timedelta64(1, "us"), T0 + 5 * MINUTE, T0 + 12 * MINUTE]
        )
        bars = bar_rewards(t, [1.0, 2.0, 4.0, 8.0])
        assert bars.bar_start.tolist() == [T0, T0 + 5 * MINUTE, T0 + 10 * MINUTE]
        assert bars.reward.tolist() == [3.0, 4.0, 8.0]

    def test_null_rewards_are_dropped_and_all_null_bars_absent(self) -> None:
        t = _times(0, 60, 300, 310)
        bars = bar_rewards(t, [1.0, NAN, NAN, NAN])
        assert bars.bar_start.tolist() == [T0]
        assert bars.reward.tolist() == [1.0]

    def test_any_order_and_before_the_epoch(self) -> None:
        # Floor, not truncation towards zero: 1969-12-31 23:57:30 is in the 23:55 bar.
        early = np.datetime64("1969-12-31T23:57:30", "us")
        t = np.array([T0 + MINUTE, early, T0])
        bars = bar_rewards(t, [1.0, 5.0, 2.0])
        assert bars.bar_start.tolist() == [np.datetime64("1969-12-31T23:55", "us"), T0]
        assert bars.reward.tolist() == [5.0, 3.0]

    def test_empty(self) -> None:
        bars = bar_rewards(np.array([], dtype="datetime64[us]"), [])
        assert (bars.bar_start.size, bars.reward.size) == (0, 0)

    @pytest.mark.parametrize(
        ("times", "rewards", "message"),
        [
            (_times(0, 1), [1.0], "times=2, rewards=1"),
            (_times(0), [float("inf")], "rewards must not contain infinite"),
            (np.array(["NaT"], dtype="datetime64[us]"), [1.0], "times must not contain NaT"),
            (np.array([1, 2]), [1.0, 2.0], "times must be a datetime64 array"),
        ],
    )
    def test_bad_arguments(
        self, times: NDArray[np.datetime64], rewards: list[float], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            bar_rewards(times, rewards)


class TestPairedDifferenceTest:
    def test_hand_worked_with_two_degrees_of_freedom(self) -> None:
        # d = 1, 2, 3: mean 2, s = 1, se = 1 / sqrt 3, t = 2 sqrt 3, df = 2.
        # With 2 degrees of freedom the t distribution has closed forms:
        #   quantile t_p = (2p - 1) / sqrt(2 p (1 - p)) -> t_0.975 = 0.95 / sqrt(0.04875)
        #   two-sided p = 1 - |t| / sqrt(2 + t^2) = 1 - 2 sqrt 3 / sqrt 14
        got = paired_difference_test([1.0, 2.0, 3.0], min_common_bars=3)
        half = 0.95 / math.sqrt(0.04875) / math.sqrt(3)
        assert (got.common_bars, got.mean_difference) == (3, 2.0)
        assert got.difference_ci95 is not None
        assert got.p_value is not None
        # Closed forms against scipy's t distribution routines: ~1e-15 apart.
        assert_allclose(got.difference_ci95, [2.0 - half, 2.0 + half], rtol=1e-13)
        assert_allclose(got.p_value, 1 - 2 * math.sqrt(3) / math.sqrt(14), rtol=1e-13)
        assert got.verdict == VERDICT_NO_SIGNIFICANT_DIFFERENCE  # p = 0.074

    @pytest.mark.parametrize(("seed", "n", "shift"), [(0, 30, 0.0), (1, 45, 0.4), (2, 500, -0.1)])
    def test_against_scipy(self, seed: int, n: int, shift: float) -> None:
        d = np.random.default_rng(seed).normal(shift, 1.0, n)
        got = paired_difference_test(d)
        reference = stats.ttest_1samp(d, 0.0)
        low, high = stats.t.interval(
            0.95, n - 1, loc=np.mean(d), scale=np.std(d, ddof=1) / math.sqrt(n)
        )
        assert got.p_value is not None
        assert got.difference_ci95 is not None
        # Same formulas and the same t distribution code, arithmetic in another order:
        # agreement to rounding.
        assert got.mean_difference is not None
        assert_allclose(got.p_value, reference.pvalue, rtol=1e-12)
        assert_allclose(got.difference_ci95, [low, high], rtol=1e-12)
        assert_allclose(got.mean_difference, np.mean(d), rtol=1e-15)
        expected = (
            VERDICT_NO_SIGNIFICANT_DIFFERENCE
            if reference.pvalue >= 0.05
            else (VERDICT_MODEL_A if np.mean(d) > 0 else VERDICT_MODEL_B)
        )
        assert got.verdict == expected

    def test_significant_verdicts(self) -> None:
        d = np.random.default_rng(5).normal(1.0, 1.0, 40)
        assert paired_difference_test(d).verdict == VERDICT_MODEL_A
        assert paired_difference_test(-d).verdict == VERDICT_MODEL_B

    def test_fewer_than_thirty_bars_is_insufficient_but_reported(self) -> None:
        d = np.random.default_rng(5).normal(1.0, 1.0, 29)
        got = paired_difference_test(d)
        assert got.verdict == VERDICT_INSUFFICIENT_DATA
        assert got.p_value is not None
        assert got.p_value < 0.05  # significant, yet too few bars to say so
        assert paired_difference_test(np.append(d, 1.0)).verdict == VERDICT_MODEL_A  # 30 bars

    def test_the_thresholds_are_the_named_constants(self) -> None:
        assert (AB_MIN_COMMON_BARS, AB_SIGNIFICANCE_LEVEL) == (30, 0.05)
        d = np.random.default_rng(0).normal(0.35, 1.0, 40)
        got = paired_difference_test(d)
        assert got.p_value is not None
        assert 0.01 < got.p_value < 0.05  # 0.027  # between the two levels tried below
        assert got.verdict == VERDICT_MODEL_A
        assert paired_difference_test(d, significance_level=0.01).verdict == (
            VERDICT_NO_SIGNIFICANT_DIFFERENCE
        )
        assert paired_difference_test(d, min_common_bars=41).verdict == VERDICT_INSUFFICIENT_DATA

    def test_equal_differences(self) -> None:
        # s = 0: t is not finite, so no p-value; the interval is the point mean.
        for value, verdict in [
            (0.5, VERDICT_MODEL_A),
            (-0.5, VERDICT_MODEL_B),
            (0.1, VERDICT_MODEL_A),  # 0.1 is inexact in binary, but every copy is equal
            (0.0, VERDICT_NO_SIGNIFICANT_DIFFERENCE),
        ]:
            got = paired_difference_test([value] * 30)
            assert got == ABComparison(30, value, ConfidenceInterval(value, value), None, verdict)
        assert paired_difference_test([0.5] * 29).verdict == VERDICT_INSUFFICIENT_DATA

    def test_subnormal_spread_counts_as_none(self) -> None:
        # The variance of 1e-320 and 0 underflows to 0: no measurable spread, no division by 0.
        got = paired_difference_test([1e-320, 0.0] * 20)
        assert got.p_value is None
        assert got.verdict == VERDICT_MODEL_A

    def test_no_and_one_bar(self) -> None:
        assert paired_difference_test([]) == ABComparison(
            0, None, None, None, VERDICT_INSUFFICIENT_DATA
        )
        assert paired_difference_test([0.25]) == ABComparison(
            1, 0.25, None, None, VERDICT_INSUFFICIENT_DATA
        )
        # Without a minimum, one bar still decides nothing.
        assert paired_difference_test([0.25], min_common_bars=0).verdict == (
            VERDICT_NO_SIGNIFICANT_DIFFERENCE
        )

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"differences": [1.0, NAN]}, "differences must be finite"),
            ({"differences": [1.0], "min_common_bars": -1}, "min_common_bars must be >= 0"),
            ({"differences": [1.0], "significance_level": 1.5}, "significance_level must be in"),
        ],
    )
    def test_bad_arguments(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            paired_difference_test(**kwargs)  # type: ignore[arg-type]

    @settings(max_examples=100, deadline=None)
    @given(d=differences_strategy)
    def test_never_nan_and_the_interval_holds_the_mean(self, d: NDArray[np.float64]) -> None:
        got = paired_difference_test(d, min_common_bars=10)
        values = [v for v in dataclasses.astuple(got) if isinstance(v, float)]
        assert all(math.isfinite(v) for v in values)
        if got.difference_ci95 is not None:
            assert got.mean_difference is not None
            assert got.difference_ci95.lower <= got.mean_difference <= got.difference_ci95.upper
        assert got.p_value is None or 0.0 <= got.p_value <= 1.0

    @settings(max_examples=100, deadline=None)
    @given(d=differences_strategy)
    def test_negating_the_differences_mirrors_the_result(self, d: NDArray[np.float64]) -> None:
        _assert_mirrored(
            paired_difference_test(d, min_common_bars=5),
            paired_difference_test(-d, min_common_bars=5),
        )


class TestAbComparison:
    def test_pairs_the_bars_both_traded(self) -> None:
        rng = np.random.default_rng(9)
        # Model A: 60 bars, two rows in some, a few NULL rewards; model B: 45 of those bars
        # plus 10 of its own, at other seconds within the bar.
        times_a = T0 + rng.permutation(np.repeat(np.arange(60), 2)[:100]) * 5 * MINUTE
        times_a = times_a + rng.integers(0, 300, times_a.size) * SECOND
        rewards_a = rng.normal(0.0, 1.0, times_a.size)
        rewards_a[rng.random(times_a.size) < 0.1] = NAN
        bars_b = np.concatenate([np.arange(15, 60), np.arange(100, 110)])
        times_b = T0 + bars_b * 5 * MINUTE + rng.integers(0, 300, bars_b.size) * SECOND
        rewards_b = rng.normal(0.0, 1.0, bars_b.size)

        # Reference: dictionaries keyed by the bar's minute, one Python loop per row.
        def per_bar(
            times: NDArray[np.datetime64], rewards: NDArray[np.float64]
        ) -> dict[int, float]:
            sums: dict[int, float] = defaultdict(float)
            for t, r in zip(times.tolist(), rewards.tolist(), strict=True):
                if not math.isnan(r):
                    minutes = int((np.datetime64(t, "us") - T0) // MINUTE)
                    sums[minutes - minutes % 5] += r
            return sums

        a, b = per_bar(times_a, rewards_a), per_bar(times_b, rewards_b)
        common = sorted(set(a) & set(b))
        d = np.array([a[k] - b[k] for k in common])

        got = ab_comparison(times_a, rewards_a, times_b, rewards_b)
        assert got.common_bars == len(common) >= 30
        reference = stats.ttest_1samp(d, 0.0)
        assert got.p_value is not None
        assert got.mean_difference is not None
        # Per-bar sums of two or fewer rows in another order: equal to rounding.
        assert_allclose(got.mean_difference, np.mean(d), rtol=1e-12)
        assert_allclose(got.p_value, reference.pvalue, rtol=1e-10)

    def test_disjoint_bars_are_insufficient(self) -> None:
        t = T0 + np.arange(50) * 10 * MINUTE
        got = ab_comparison(t, np.ones(50), t + 5 * MINUTE, np.zeros(50))
        assert got == ABComparison(0, None, None, None, VERDICT_INSUFFICIENT_DATA)

    def test_a_bar_with_only_null_rewards_is_not_common(self) -> None:
        t = T0 + np.arange(40) * 5 * MINUTE
        rewards_b = np.where(np.arange(40) < 15, NAN, 0.0)
        got = ab_comparison(t, np.ones(40), t, rewards_b)
        assert (got.common_bars, got.verdict) == (25, VERDICT_INSUFFICIENT_DATA)

    def test_better_model_wins(self) -> None:
        rng = np.random.default_rng(2)
        t = T0 + np.arange(200) * 5 * MINUTE
        market = rng.normal(0.0, 1.0, 200)  # shared by both: pairing removes it
        good = market + 0.2 + rng.normal(0.0, 0.3, 200)
        coin = market + rng.normal(0.0, 0.3, 200)
        assert ab_comparison(t, good, t, coin).verdict == VERDICT_MODEL_A
        assert ab_comparison(t, coin, t, good).verdict == VERDICT_MODEL_B

    def test_arguments_are_named_in_errors(self) -> None:
        t = _times(0, 1)
        with pytest.raises(ValueError, match="times_a=2, rewards_a=1"):
            ab_comparison(t, [1.0], t, [1.0, 2.0])
        with pytest.raises(ValueError, match="rewards_b must not contain infinite"):
            ab_comparison(t, [1.0, 2.0], t, [1.0, float("inf")])
        with pytest.raises(ValueError, match="times_b must be a datetime64 array"):
            ab_comparison(t, [1.0, 2.0], [0, 1], [1.0, 2.0])

    @settings(max_examples=60, deadline=None)
    @given(
        data=st.lists(
            st.tuples(
                st.integers(0, 60 * 300),  # seconds: up to 60 bars
                st.floats(-10.0, 10.0) | st.just(NAN),
                st.booleans(),  # row of model A or B
            ),
            max_size=150,
        )
    )
    def test_swapping_the_models_mirrors_the_result(
        self, data: list[tuple[int, float, bool]]
    ) -> None:
        seconds = np.array([s for s, _, _ in data], dtype=np.int64)
        rewards = np.array([r for _, r, _ in data], dtype=np.float64)
        is_a = np.array([a for _, _, a in data], dtype=bool)
        t = T0 + seconds * SECOND
        ab = ab_comparison(t[is_a], rewards[is_a], t[~is_a], rewards[~is_a], min_common_bars=5)
        ba = ab_comparison(t[~is_a], rewards[~is_a], t[is_a], rewards[is_a], min_common_bars=5)
        _assert_mirrored(ab, ba)
