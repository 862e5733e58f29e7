"""Trading metrics (analytics.trading), hand-computed cases and properties."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose
from numpy.typing import NDArray

from analytics import latency_stats, sharpe_ratio, trading_metrics
from analytics.trading import PERIODS_PER_YEAR, sortino_ratio
from conftest import NAN
from strategies import POWER_OF_TWO_SCALES, float_arrays, scalable_rewards

finite_rewards = float_arrays(0, 60)


class TestTradingMetrics:
    def test_hand_computed_series(self) -> None:
        # r = 4, -2, 4, -2 (periods_per_year 2, so sqrt(P) = sqrt(2)):
        # total 4, mean 1; deviations 3, -3, 3, -3 -> s^2 = 36 / 3 = 12, s = 2 sqrt(3)
        # Sharpe = 1 / (2 sqrt 3) * sqrt 2 = 1 / sqrt 6
        # downside deviation = sqrt((0 + 4 + 0 + 4) / 4) = sqrt 2 -> Sortino = 1 / sqrt2 * sqrt2 = 1
        # wins 2 of 4 realized -> 0.5; profit factor 8 / 4 = 2
        # C = 0, 4, 2, 6, 4 -> running max 0, 4, 4, 6, 6 -> drawdowns 0, 0, 2, 0, 2 -> 2
        m = trading_metrics([4.0, -2.0, 4.0, -2.0], periods_per_year=2)
        assert (m.count, m.total_return, m.avg_return) == (4, 4.0, 1.0)
        assert_allclose(m.std_return, 2 * math.sqrt(3), rtol=1e-15)
        assert_allclose(m.sharpe_ratio, 1 / math.sqrt(6), rtol=1e-15)
        assert_allclose(m.sortino_ratio, 1.0, rtol=1e-15)
        assert (m.win_rate, m.profit_factor) == (0.5, 2.0)
        assert (m.max_drawdown, m.max_abs_return) == (2.0, 4.0)

    def test_sharpe_with_default_annualization(self) -> None:
        # r = 1, 2, 3: mean 2, sample std 1 -> Sharpe = 2 * sqrt(14868) = 243.8688...
        m = trading_metrics([1.0, 2.0, 3.0])
        assert_allclose(m.sharpe_ratio, 2 * math.sqrt(14868), rtol=1e-15)
        assert PERIODS_PER_YEAR == 252 * 59

    def test_drawdown_counts_an_initial_loss(self) -> None:
        # C = 0, -1, 1, -2, -1: running max 0, 0, 1, 1, 1 -> drawdowns 0, 1, 0, 3, 2 -> 3
        assert trading_metrics([-1.0, 2.0, -3.0, 1.0]).max_drawdown == 3.0
        # A single loss from the start: C = 0, -0.5 -> 0.5 (a running max from C_1 would give 0).
        assert trading_metrics([-0.5]).max_drawdown == 0.5
        # Only losses: C = 0, -2, -3 -> 3.
        assert trading_metrics([-2.0, -1.0]).max_drawdown == 3.0

    def test_win_rate_over_bars_with_realized_pnl(self) -> None:
        # 2 wins, 1 loss, 2 flat bars: 2 / 3, not 2 / 5.
        assert_allclose(trading_metrics([1.0, 0.0, 0.0, -1.0, 2.0]).win_rate, 2 / 3, rtol=1e-15)

    def test_no_losses(self) -> None:
        m = trading_metrics([1.0, 2.0, 0.0])
        assert m.profit_factor is None  # absent, never inf
        assert m.sortino_ratio == 0.0  # downside deviation 0
        assert m.win_rate == 1.0
        assert m.max_drawdown == 0.0

    def test_no_wins(self) -> None:
        m = trading_metrics([-1.0, -2.0])
        assert m.profit_factor == 0.0
        assert m.win_rate == 0.0
        assert m.sharpe_ratio < 0.0

    def test_all_zero_rewards(self) -> None:
        m = trading_metrics([0.0, 0.0, 0.0])
        assert (m.win_rate, m.profit_factor, m.std_return, m.sharpe_ratio) == (0.0, None, 0.0, 0.0)

    def test_std_zero_gives_zero_sharpe(self) -> None:
        # 0.1 is not exact in binary: np.std([0.1] * 7, ddof=1) is ~1.5e-17, not 0.
        m = trading_metrics([0.1] * 7)
        assert (m.std_return, m.sharpe_ratio) == (0.0, 0.0)

    def test_one_row(self) -> None:
        m = trading_metrics([-0.5])
        assert (m.count, m.total_return, m.avg_return, m.std_return) == (1, -0.5, -0.5, 0.0)
        assert (m.sharpe_ratio, m.sortino_ratio) == (0.0, 0.0)
        assert (m.win_rate, m.profit_factor) == (0.0, 0.0)

    def test_empty_and_all_null(self) -> None:
        for rewards in ([], [NAN, NAN]):
            m = trading_metrics(rewards)
            assert m.count == 0
            assert m.profit_factor is None
            assert all(
                v == 0.0
                for k, v in dataclasses.asdict(m).items()
                if k not in ("count", "profit_factor")
            )

    def test_null_rewards_are_dropped(self) -> None:
        assert trading_metrics([NAN, 1.0, NAN, 3.0]) == trading_metrics([1.0, 3.0])

    def test_profit_factor_that_would_overflow_is_absent(self) -> None:
        # 1 / 5e-324 is inf in float64: a loss that small is no measurable loss.
        assert trading_metrics([1.0, -5e-324]).profit_factor is None

    # The argument checks, and finite values: test_analytics_reward_metrics.py.

    @settings(max_examples=80, deadline=None)
    @given(rewards=finite_rewards)
    def test_rates_bounded(self, rewards: NDArray[np.float64]) -> None:
        m = trading_metrics(rewards)
        assert 0.0 <= m.win_rate <= 1.0
        assert m.max_drawdown >= 0.0
        assert m.std_return >= 0.0
        assert m.profit_factor is None or m.profit_factor >= 0.0

    @settings(max_examples=60, deadline=None)
    @given(
        rewards=hnp.arrays(
            np.float64, st.integers(0, 40), elements=st.floats(0.0, 1e6, allow_subnormal=True)
        )
    )
    def test_no_drawdown_for_non_decreasing_equity(self, rewards: NDArray[np.float64]) -> None:
        # Adding r >= 0 never lowers a float sum, so the equity curve is monotone exactly.
        assert trading_metrics(rewards).max_drawdown == 0.0

    @settings(max_examples=80, deadline=None)
    @given(rewards=finite_rewards)
    def test_sharpe_sign_follows_the_mean(self, rewards: NDArray[np.float64]) -> None:
        m = trading_metrics(rewards)
        assert np.sign(m.sharpe_ratio) in (0.0, np.sign(m.avg_return))
        assert np.sign(m.sortino_ratio) in (0.0, np.sign(m.avg_return))
        # Strictly the mean's sign whenever the ratio is defined and does not underflow.
        if m.count >= 2 and m.std_return > 1e-9 * abs(m.avg_return) and abs(m.avg_return) > 1e-300:
            assert np.sign(m.sharpe_ratio) == np.sign(m.avg_return)

    @settings(max_examples=50, deadline=None)
    @given(rewards=scalable_rewards(2, 40), scale=POWER_OF_TWO_SCALES)
    def test_ratios_are_scale_free(self, rewards: NDArray[np.float64], scale: float) -> None:
        # Scaling by a power of two is exact in binary floating point (sums, std and sqrt
        # included), so the ratios must not move at all; rtol covers nothing but a libm quirk.
        a, b = trading_metrics(rewards), trading_metrics(rewards * scale)
        assert_allclose(
            [b.sharpe_ratio, b.sortino_ratio], [a.sharpe_ratio, a.sortino_ratio], rtol=1e-14
        )
        assert (b.win_rate, b.profit_factor) == (a.win_rate, a.profit_factor)


class TestSharpeRatio:
    def test_by_hand(self) -> None:
        # 0.001 / 0.01 * sqrt(14868) = 0.1 * 121.9344...
        assert_allclose(sharpe_ratio(0.001, 0.01, 100), 0.1 * math.sqrt(14868), rtol=1e-15)
        assert sharpe_ratio(-1.0, 2.0, 10, periods_per_year=4) == -1.0

    def test_zero_cases(self) -> None:
        assert sharpe_ratio(0.5, 0.1, 1) == 0.0  # fewer than 2 rows
        assert sharpe_ratio(0.5, 0.0, 10) == 0.0  # std 0
        assert sharpe_ratio(0.1, 1e-17, 10) == 0.0  # rounding noise of a constant series
        assert sharpe_ratio(0.0, 0.0, 10) == 0.0

    @pytest.mark.parametrize("seed", range(3))
    def test_agrees_with_trading_metrics(self, seed: int) -> None:
        r = np.random.default_rng(seed).normal(1e-4, 1e-3, 500)
        m = trading_metrics(r)
        # The rule from moments, as SQL would compute them (numpy here): same formula.
        got = sharpe_ratio(float(np.mean(r)), float(np.std(r, ddof=1)), r.size)
        assert_allclose(got, m.sharpe_ratio, rtol=1e-12)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ((0.1, -1.0, 5), "std must be >= 0"),
            ((float("nan"), 1.0, 5), "mean must be finite"),
            ((0.1, 1.0, -1), "count must be >= 0"),
            ((0.1, 1.0, 2.5), "count must be an integer"),
        ],
    )
    def test_bad_arguments(self, args: tuple[float, float, int], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            sharpe_ratio(*args)


class TestSortinoRatio:
    def test_by_hand(self) -> None:
        # 0.001 / 0.005 * sqrt(14868) = 0.2 * 121.9344...
        assert_allclose(sortino_ratio(0.001, 0.005, 100), 0.2 * math.sqrt(14868), rtol=1e-15)
        assert sortino_ratio(0.001, 0.0, 100) == 0.0
        assert sortino_ratio(0.001, 0.005, 1) == 0.0


class TestLatencyStats:
    def test_against_numpy_linear_percentiles(self) -> None:
        rng = np.random.default_rng(7)
        values = rng.gamma(2.0, 20.0, 1001)
        with_nulls = np.concatenate([values, [NAN] * 5])
        got = latency_stats(with_nulls)
        assert got is not None
        assert got.count == 1001
        # Same numpy call on the same values: exact.
        expected = np.percentile(values, [50, 95, 99])
        assert [got.p50, got.p95, got.p99] == expected.tolist()
        assert_allclose(got.mean, values.mean(), rtol=1e-15)

    def test_by_hand(self) -> None:
        # 10, 20, 30, 40: p95 at rank 0.95 * 3 = 2.85 -> 30 + 0.85 * 10 = 38.5
        got = latency_stats([40.0, 10.0, 30.0, 20.0])
        assert got is not None
        assert (got.count, got.mean, got.p50, got.p95) == (4, 25.0, 25.0, 38.5)
        assert_allclose(got.p99, 39.7, rtol=1e-15)

    def test_one_value(self) -> None:
        assert latency_stats([12.0]) == (1, 12.0, 12.0, 12.0, 12.0)

    def test_none_without_values(self) -> None:
        assert latency_stats([]) is None
        assert latency_stats([NAN, NAN]) is None

    def test_infinite_latency_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="latency_ms"):
            latency_stats([1.0, float("inf")])
