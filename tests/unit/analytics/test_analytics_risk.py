"""Risk metrics (analytics.risk) against numpy, scipy and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from numpy.typing import NDArray
from scipy import stats

from analytics import RiskMetrics, risk_metrics
from analytics.risk import probabilistic_sharpe_ratio
from analytics.trading import PERIODS_PER_YEAR
from strategies import POWER_OF_TWO_SCALES, float_arrays, scalable_rewards

NAN = float("nan")


def _floats(*values: float | None) -> NDArray[np.float64]:
    """`values` as an array for assert_allclose; an absent (None) value becomes NaN and fails."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _phi(z: float) -> float:
    """Standard normal CDF through the error function (independent of scipy)."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _reference_psr(r: NDArray[np.float64]) -> float:
    """The textbook formula with scipy's moments and normal CDF."""
    sr = float(np.mean(r) / np.std(r, ddof=1))
    g3 = float(stats.skew(r))
    g4 = float(stats.kurtosis(r, fisher=False))
    z = sr * math.sqrt(r.size - 1) / math.sqrt(1.0 - g3 * sr + (g4 - 1.0) / 4.0 * sr**2)
    return float(stats.norm.cdf(z))


def _reference_drawdown(r: NDArray[np.float64]) -> float:
    equity = np.concatenate([[0.0], np.cumsum(r)])
    return float(np.max(np.maximum.accumulate(equity) - equity))


class TestRiskMetrics:
    def test_hand_worked_series(self) -> None:
        # r = -3, -1, 0, 2, 4 (n = 5), mean 0.4.
        # C = 0, -3, -4, -4, -2, 2: peak stays 0 until the end -> max drawdown 4.
        # Calmar = 0.4 * 14868 / 4 = 1486.8.
        # Q(0.05): rank 0.05 * 4 = 0.2 -> -3 + 0.2 * (-1 - -3) = -2.6 -> VaR 2.6.
        # r <= -2.6 is {-3} -> CVaR 3.
        # Q(0.95): rank 3.8 -> 2 + 0.8 * (4 - 2) = 3.6 -> tail ratio 3.6 / 2.6 = 18 / 13.
        # Deviations -3.4, -1.4, -0.4, 1.6, 3.6:
        #   sum d^2 = 11.56 + 1.96 + 0.16 + 2.56 + 12.96 = 29.2 -> s^2 = 7.3, m2 = 5.84
        #   sum d^3 = -39.304 - 2.744 - 0.064 + 4.096 + 46.656 = 8.64 -> m3 = 1.728
        #   sum d^4 = 133.6336 + 3.8416 + 0.0256 + 6.5536 + 167.9616 = 312.016 -> m4 = 62.4032
        sr = 0.4 / math.sqrt(7.3)
        g3 = 1.728 / 5.84**1.5
        g4 = 62.4032 / 5.84**2
        psr = _phi(sr * math.sqrt(4) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
        m = risk_metrics([-3.0, -1.0, 0.0, 2.0, 4.0])
        # Decimal inputs (0.4, 2.6, 7.3, ...) carry ~1e-16 representation error each, and a
        # few operations compound it: 1e-12 is loose enough for that, tight enough for a bug.
        assert m.calmar_ratio is not None
        assert_allclose(m.calmar_ratio, 1486.8, rtol=1e-12)
        assert_allclose(_floats(m.var_95, m.cvar_95, m.tail_ratio), [2.6, 3.0, 18 / 13], rtol=1e-12)
        assert m.probabilistic_sharpe is not None
        assert_allclose(m.probabilistic_sharpe, psr, rtol=1e-12)

    @pytest.mark.parametrize("seed", range(6))
    def test_against_numpy_and_scipy(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(3, 3000))
        r = rng.standard_t(3, n) * 1e-3 + rng.normal(0.0, 3e-4)
        m = risk_metrics(r)
        q05, q95 = np.quantile(r, [0.05, 0.95])
        # The same numpy quantile and mean over the same values: exact.
        assert m.var_95 == -q05
        assert m.cvar_95 == -np.mean(r[r <= q05])
        assert m.tail_ratio == abs(q95) / abs(q05)
        # Calmar: the same mean, a drawdown computed here independently (cumsum from 0).
        assert m.calmar_ratio is not None
        assert_allclose(m.calmar_ratio, np.mean(r) * 14868 / _reference_drawdown(r), rtol=1e-13)
        # PSR: the moments are computed on r / max|r| (scale-free) while scipy uses r; the
        # rounding differs at ~1e-15 relative in g3, g4, SR, and Phi's relative condition number
        # is modest away from the far left tail (observed differences < 1e-13).
        assert m.probabilistic_sharpe is not None
        assert_allclose(m.probabilistic_sharpe, _reference_psr(r), rtol=1e-10)

    def test_default_annualization_is_the_trading_constant(self) -> None:
        r = [1.0, -2.0, 3.0]  # mean 2/3, drawdown 2
        a, b = risk_metrics(r), risk_metrics(r, periods_per_year=PERIODS_PER_YEAR)
        assert a == b
        assert a.calmar_ratio is not None
        assert_allclose(a.calmar_ratio, 2 / 3 * 14868 / 2, rtol=1e-15)

    def test_empty_and_all_null(self) -> None:
        for rewards in ([], [NAN, NAN]):
            assert risk_metrics(rewards) == RiskMetrics(None, None, None, None, None)

    def test_one_reward(self) -> None:
        # A sample of one: every quantile is that reward; C = 0, -0.5 gives drawdown 0.5.
        m = risk_metrics([-0.5])
        assert (m.var_95, m.cvar_95, m.tail_ratio) == (0.5, 0.5, 1.0)
        assert m.calmar_ratio == -0.5 * 14868 / 0.5
        assert m.probabilistic_sharpe is None
        # A single gain: no drawdown, VaR of a gain is negative.
        m = risk_metrics([2.0])
        assert (m.calmar_ratio, m.var_95, m.cvar_95, m.tail_ratio) == (None, -2.0, -2.0, 1.0)

    def test_fewer_than_three_rewards_has_no_psr(self) -> None:
        assert risk_metrics([0.01, 0.03]).probabilistic_sharpe is None
        assert risk_metrics([0.01, 0.03, -0.01]).probabilistic_sharpe is not None

    def test_zero_std_has_no_psr(self) -> None:
        # 0.1 is not exact in binary: np.std([0.1] * 7, ddof=1) is ~1.5e-17, not 0.
        for rewards in ([0.1] * 7, [0.0] * 5, [-2.0] * 3):
            assert risk_metrics(rewards).probabilistic_sharpe is None

    def test_zero_radicand_has_no_psr(self) -> None:
        # Two-valued r = c, c, c + 1: a share p = 1/3 of the bars at the high value, so
        # g3 = (1 - 2p) / sqrt(p (1 - p)) = 1 / sqrt 2, g4 = 1 + g3^2 = 3/2 (any two-point law),
        # std(ddof 1) = sqrt(p (1 - p) n / (n - 1)) = 1 / sqrt 3, mean = c + 1/3.
        # With c = 4/3 sqrt(3/2) - 1/3: SR = 4/3 sqrt(3/2) sqrt 3 = 2 sqrt 2, so g3 SR = 2 and
        # the radicand 1 - 2 + (1/2) / 4 * 8 = 0: the ratio is undefined.
        c = 4 / 3 * math.sqrt(1.5) - 1 / 3
        assert risk_metrics([c, c, c + 1.0]).probabilistic_sharpe is None
        assert risk_metrics([c + 1.0, c, c]).probabilistic_sharpe is None
        # Moving c off the root makes it defined again.
        assert risk_metrics([c + 0.5, c + 0.5, c + 1.5]).probabilistic_sharpe is not None

    def test_zero_lower_quantile_has_no_tail_ratio(self) -> None:
        # 5 zeros then 15 ones: Q(0.05) at rank 0.95 lies between two zeros -> 0.
        m = risk_metrics([0.0] * 5 + [1.0] * 15)
        assert m.tail_ratio is None
        assert m.var_95 == 0.0
        assert math.copysign(1.0, m.var_95) == 1.0  # 0.0, not -0.0
        assert m.cvar_95 == 0.0

    def test_no_drawdown_has_no_calmar(self) -> None:
        assert risk_metrics([1.0, 2.0, 3.0]).calmar_ratio is None
        assert risk_metrics([0.0, 0.0]).calmar_ratio is None
        assert risk_metrics([1.0, -1.0]).calmar_ratio == 0.0  # drawdown 1, mean 0

    def test_calmar_that_would_overflow_is_absent(self) -> None:
        # Drawdown 5e-324 (the smallest subnormal): 0.5 * 14868 / 5e-324 is inf in float64.
        assert risk_metrics([-5e-324, 1.0]).calmar_ratio is None

    def test_null_rewards_are_dropped(self) -> None:
        assert risk_metrics([NAN, 1.0, NAN, -2.0, 3.0]) == risk_metrics([1.0, -2.0, 3.0])

    def test_only_calmar_depends_on_the_order(self) -> None:
        r = np.random.default_rng(3).normal(0.0, 1.0, 200)
        a, b = risk_metrics(r), risk_metrics(r[::-1])
        assert (a.var_95, a.tail_ratio) == (b.var_95, b.tail_ratio)
        # Means of the same values in another order: summation rounding only.
        assert_allclose(
            _floats(a.cvar_95, a.probabilistic_sharpe),
            _floats(b.cvar_95, b.probabilistic_sharpe),
            rtol=1e-12,
        )

    # The argument checks, and finite values: test_analytics_reward_metrics.py.

    @settings(max_examples=100, deadline=None)
    @given(rewards=float_arrays(0, 60))
    def test_tail_bounds(self, rewards: NDArray[np.float64]) -> None:
        m = risk_metrics(rewards)
        if rewards.size:
            assert m.var_95 is not None
            assert m.cvar_95 is not None
            # The shortfall is at least the VaR: the tail's values are all <= Q(0.05); only
            # the rounding of their mean can put it a hair above.
            assert m.cvar_95 >= m.var_95 - 1e-12 * abs(m.var_95)
        assert m.tail_ratio is None or m.tail_ratio >= 0.0
        assert m.probabilistic_sharpe is None or 0.0 <= m.probabilistic_sharpe <= 1.0

    @settings(max_examples=60, deadline=None)
    @given(rewards=scalable_rewards(3, 40), scale=POWER_OF_TWO_SCALES)
    def test_ratios_are_scale_free(self, rewards: NDArray[np.float64], scale: float) -> None:
        # A power-of-two scale is exact in binary floating point: r / max|r| is the same array,
        # so the PSR must not move at all; quantiles, means and drawdown scale exactly.
        a, b = risk_metrics(rewards), risk_metrics(rewards * scale)
        assert b.probabilistic_sharpe == a.probabilistic_sharpe
        assert b.tail_ratio == a.tail_ratio
        assert b.calmar_ratio == a.calmar_ratio
        assert b.var_95 == (None if a.var_95 is None else a.var_95 * scale)

    @settings(max_examples=80, deadline=None)
    @given(
        # Subnormal rewards (~1e-320) make the mean underflow to 0 while the per-bar Sharpe,
        # computed from scaled moments, stays defined: no reward is that small.
        rewards=hnp.arrays(
            np.float64,
            st.integers(0, 60),
            elements=st.floats(
                -1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False
            ),
        )
    )
    def test_psr_sides_with_the_mean(self, rewards: NDArray[np.float64]) -> None:
        psr = risk_metrics(rewards).probabilistic_sharpe
        if psr is not None:
            mean = float(np.mean(rewards))
            assert (psr >= 0.5) if mean > 0.0 else (psr <= 0.5)


class TestProbabilisticSharpeRatio:
    def test_normal_moments(self) -> None:
        # g3 = 0, g4 = 3: z = SR sqrt(n - 1) / sqrt(1 + SR^2 / 2).
        # SR = 0.1, n = 101: z = 1 / sqrt(1.005).
        got = probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0)
        assert got is not None
        assert_allclose(got, _phi(1 / math.sqrt(1.005)), rtol=1e-14)
        assert probabilistic_sharpe_ratio(0.0, 10, 0.5, 4.0) == 0.5

    def test_skew_and_kurtosis_move_it(self) -> None:
        # SR = 0.2, n = 50, g3 = -1, g4 = 6: radicand 1 + 0.2 + 5/4 * 0.04 = 1.25.
        got = probabilistic_sharpe_ratio(0.2, 50, -1.0, 6.0)
        assert got is not None
        assert_allclose(got, _phi(0.2 * 7 / math.sqrt(1.25)), rtol=1e-14)
        # Negative skew and fat tails lower the confidence in the same Sharpe.
        normal = probabilistic_sharpe_ratio(0.2, 50, 0.0, 3.0)
        assert normal is not None
        assert got < normal

    def test_agrees_with_risk_metrics(self) -> None:
        r = np.random.default_rng(11).standard_t(5, 400) + 0.05
        sr = float(np.mean(r) / np.std(r, ddof=1))
        got = probabilistic_sharpe_ratio(
            sr, r.size, float(stats.skew(r)), float(stats.kurtosis(r, fisher=False))
        )
        assert got is not None
        expected = risk_metrics(r).probabilistic_sharpe
        assert expected is not None
        assert_allclose(got, expected, rtol=1e-10)  # moments rounded differently, see above

    def test_absent_cases(self) -> None:
        assert probabilistic_sharpe_ratio(0.5, 2, 0.0, 3.0) is None  # fewer than 3 rewards
        assert probabilistic_sharpe_ratio(1.0, 50, 2.0, 2.0) is None  # 1 - 2 + 0.25 < 0
        assert probabilistic_sharpe_ratio(1.0, 50, 1.0, 1.0) is None  # 1 - 1 + 0 = 0
        # 1 - 2 + (2 - 1) / 4 * 4 = 0: the two-point bound, exactly.
        assert probabilistic_sharpe_ratio(2.0, 50, 1.0, 2.0) is None

    def test_extreme_z_saturates_without_nan(self) -> None:
        assert probabilistic_sharpe_ratio(50.0, 10**9, 0.0, 3.0) == 1.0
        assert probabilistic_sharpe_ratio(-50.0, 10**9, 0.0, 3.0) == 0.0

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((NAN, 10, 0.0, 3.0), "sharpe must be finite"),
            ((0.1, -1, 0.0, 3.0), "count must be >= 0"),
            ((0.1, 2.5, 0.0, 3.0), "count must be an integer"),
            ((0.1, 10, float("inf"), 3.0), "skewness must be finite"),
            ((0.1, 10, 0.0, "x"), "kurtosis must be a number"),
        ],
    )
    def test_bad_arguments(self, args: tuple[float, int, float, float], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            probabilistic_sharpe_ratio(*args)
