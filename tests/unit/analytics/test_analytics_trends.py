"""Trends (analytics.trends) against numpy.polyfit and brute-force loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray

from analytics import HourExtreme, summarize_trend
from analytics.trends import hourly_buckets, moving_average, trend_direction, trend_slope
from conftest import NAN
from strategies import with_gaps

START = np.datetime64("2024-05-01T00:00", "us")
HOUR = np.timedelta64(3_600_000_000, "us")


class TestTrendSlope:
    def test_against_polyfit(self, rng: np.random.Generator) -> None:
        x = np.sort(rng.choice(168, 60, replace=False)).astype(float)
        y = 0.5 + 0.002 * x + rng.normal(0, 0.05, 60)
        # Same least-squares line, a different algorithm (lstsq): rounding only.
        assert_allclose(trend_slope(x, y), np.polyfit(x, y, 1)[0], rtol=1e-9)

    def test_by_hand(self) -> None:
        # x = 0, 1, 3; y = 1, 3, 7 lie on y = 1 + 2x.
        assert_allclose(trend_slope([0.0, 1.0, 3.0], [1.0, 3.0, 7.0]), 2.0, rtol=1e-15)

    def test_degenerate(self) -> None:
        assert trend_slope([], []) == 0.0
        assert trend_slope([3.0], [0.7]) == 0.0
        assert trend_slope([2.0, 2.0, 2.0], [0.1, 0.5, 0.9]) == 0.0  # vertical: no slope

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="x=2, y=3"):
            trend_slope([0.0, 1.0], [1.0, 2.0, 3.0])
        with pytest.raises(ValueError, match="y must be finite"):
            trend_slope([0.0, 1.0], [1.0, NAN])

    @settings(max_examples=60, deadline=None)
    @given(
        y=hnp.arrays(np.float64, st.integers(0, 50), elements=st.floats(-1e3, 1e3)),
    )
    def test_finite(self, y: NDArray[np.float64]) -> None:
        assert math.isfinite(trend_slope(np.arange(y.size, dtype=float), y))


class TestTrendDirection:
    @pytest.mark.parametrize(
        ("slope", "direction"),
        [
            (0.0011, "improving"),
            (0.001, "stable"),  # at the tolerance: not beyond it
            (0.0, "stable"),
            (-0.001, "stable"),
            (-0.0011, "declining"),
        ],
    )
    def test_tolerance(self, slope: float, direction: str) -> None:
        assert trend_direction(slope) == direction

    def test_custom_tolerance_and_bad_arguments(self) -> None:
        assert trend_direction(0.05, tolerance=0.1) == "stable"
        with pytest.raises(ValueError, match="tolerance must be >= 0"):
            trend_direction(0.0, tolerance=-1.0)
        with pytest.raises(ValueError, match="slope must be finite"):
            trend_direction(NAN)


def moving_average_by_loop(values: list[float], window: int) -> list[float]:
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


class TestMovingAverage:
    @pytest.mark.parametrize("window", [1, 2, 5, 24, 200])
    def test_matches_loop(self, window: int) -> None:
        values = np.random.default_rng(window).random(100)
        expected = moving_average_by_loop(values.tolist(), window)
        # Window sums in a different order: rounding only.
        assert_allclose(moving_average(values, window), expected, rtol=1e-12)

    def test_by_hand(self) -> None:
        # window 3 over 3, 6, 9, 0: 3, (3+6)/2, (3+6+9)/3, (6+9+0)/3
        assert moving_average([3.0, 6.0, 9.0, 0.0], 3).tolist() == [3.0, 4.5, 6.0, 5.0]
        assert moving_average([], 24).tolist() == []

    def test_bad_window(self) -> None:
        with pytest.raises(ValueError, match="window must be >= 1"):
            moving_average([1.0], 0)

    @settings(max_examples=60, deadline=None)
    @given(
        values=hnp.arrays(np.float64, st.integers(0, 60), elements=st.floats(0.0, 1.0)),
        window=st.integers(1, 30),
    )
    def test_rates_stay_rates(self, values: NDArray[np.float64], window: int) -> None:
        got = moving_average(values, window)
        assert got.shape == values.shape
        assert np.all((got >= 0.0) & (got <= 1.0))


class TestSummarizeTrend:
    def test_by_hand(self) -> None:
        # Buckets at hours 0, 1, 3, 4; win rates 0.4, 0.5, 0.7, 0.7 (hour 2 had no predictions).
        # Hour 4 has no realized bar, so it cannot be the best hour: the best is hour 3
        # (0.7; the tie with hour 4 does not count), the worst hour 0.
        got = summarize_trend(
            [0, 1, 3, 4], [0.4, 0.5, 0.7, 0.7], [0.0, 1e-4, 2e-4, 3e-4], [3, 2, 5, 0]
        )
        # Slope of win rate over x = 0, 1, 3, 4: x-mean 2, dx = -2, -1, 1, 2,
        # dy = -.175, -.075, .125, .125 -> (0.35 + 0.075 + 0.125 + 0.25) / 10 = 0.08
        assert_allclose(got.win_rate_slope, 0.08, rtol=1e-12)
        assert got.win_rate_trend == "improving"
        # Reward: dy = -1.5, -0.5, 0.5, 1.5 (x 1e-4) -> (3 + 0.5 + 0.5 + 3)e-4 / 10 = 7e-5
        assert_allclose(got.reward_slope, 7e-5, rtol=1e-12)
        assert got.reward_trend == "stable"
        assert got.best_hour == HourExtreme(3, 0.7)
        assert got.worst_hour == HourExtreme(0, 0.4)
        # Window 24 covers everything so far: 0.4, 0.9 / 2, 1.6 / 3, 2.3 / 4.
        assert_allclose(got.win_rate_moving_average, [0.4, 0.45, 1.6 / 3, 0.575], rtol=1e-15)

    def test_ties_go_to_the_earliest_hour(self) -> None:
        got = summarize_trend([2, 5, 9], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0], [1, 1, 1])
        assert got.best_hour == HourExtreme(2, 0.5)
        assert got.worst_hour == HourExtreme(2, 0.5)
        assert (got.win_rate_trend, got.reward_trend) == ("stable", "stable")

    def test_no_realized_bars_and_empty(self) -> None:
        got = summarize_trend([0, 1], [0.0, 0.0], [0.0, 0.0], [0, 0])
        assert got.best_hour is None
        assert got.worst_hour is None
        empty = summarize_trend([], [], [], [])
        assert (empty.win_rate_slope, empty.best_hour) == (0.0, None)
        assert empty.win_rate_moving_average.shape == (0,)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="hour_index must be strictly increasing"):
            summarize_trend([1, 1], [0.5, 0.5], [0.0, 0.0], [1, 1])
        with pytest.raises(ValueError, match="realized must hold integers"):
            summarize_trend([1], [0.5], [0.0], [1.0])


def buckets_by_loop(
    times: NDArray[np.datetime64],
    rewards: NDArray[np.float64],
    latency: NDArray[np.float64],
) -> dict[int, tuple[int, float, float, float, float, bool, int]]:
    """Left-closed hourly buckets, one row at a time."""
    groups: dict[int, list[int]] = {}
    for i, t in enumerate(times):
        hour = math.floor((t - START) / HOUR)  # [origin + h, origin + h + 1)
        groups.setdefault(hour, []).append(i)
    out = {}
    for hour, rows in groups.items():
        rs = [rewards[i] for i in rows if not math.isnan(rewards[i])]
        ls = [latency[i] for i in rows if not math.isnan(latency[i])]
        realized = [r for r in rs if r != 0]
        wins = [r for r in rs if r > 0]
        out[hour] = (
            len(rows),
            len(wins) / len(realized) if realized else 0.0,
            sum(rs) / len(rs) if rs else 0.0,
            sum(rs),
            sum(ls) / len(ls) if ls else 0.0,
            bool(ls),
            len(realized),
        )
    return out


class TestHourlyBuckets:
    def test_matches_loop(self, rng: np.random.Generator) -> None:
        n = 400
        offsets = rng.integers(0, 48 * 3_600_000_000, n)
        offsets[:20] = rng.integers(0, 48, 20) * 3_600_000_000  # exactly on bucket edges
        times = START + offsets.astype("timedelta64[us]")
        rewards = rng.choice([0.0, 1e-4, -1e-4, 2e-4, NAN], n)
        latency = with_gaps(rng, rng.gamma(2.0, 20.0, n), 0.2)
        got = hourly_buckets(times, rewards, latency, START)
        expected = buckets_by_loop(times, rewards, latency)
        assert got.hour_index.tolist() == sorted(expected)
        rows = [expected[h] for h in got.hour_index.tolist()]
        assert got.predictions.tolist() == [r[0] for r in rows]
        assert got.realized.tolist() == [r[6] for r in rows]
        assert got.has_latency.tolist() == [r[5] for r in rows]
        # Means and sums in a different order: rounding only.
        assert_allclose(got.win_rate, [r[1] for r in rows], rtol=1e-12)
        assert_allclose(got.avg_reward, [r[2] for r in rows], rtol=1e-9, atol=1e-18)
        assert_allclose(got.total_reward, [r[3] for r in rows], rtol=1e-9, atol=1e-18)
        assert_allclose(got.avg_latency_ms, [r[4] for r in rows], rtol=1e-12)

    def test_bucket_edges_are_left_closed(self) -> None:
        # origin itself and origin + 1 h - 1 us are bucket 0 [origin, origin + 1 h); origin + 1 h
        # starts bucket 1.
        one_us = np.timedelta64(1, "us")
        times = START + np.array([HOUR - one_us, HOUR, np.timedelta64(0, "us")])
        got = hourly_buckets(times, [1.0, -1.0, NAN], [NAN, 10.0, NAN], START)
        assert_array_equal(got.hour_index, [0, 1])
        assert_array_equal(got.predictions, [2, 1])
        assert_array_equal(got.win_rate, [1.0, 0.0])
        assert_array_equal(got.avg_latency_ms, [0.0, 10.0])
        assert_array_equal(got.has_latency, [False, True])

    def test_empty(self) -> None:
        got = hourly_buckets(np.array([], dtype="datetime64[us]"), [], [], START)
        assert got.hour_index.shape == got.win_rate.shape == (0,)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="times must not be before origin"):
            hourly_buckets(np.array([START - np.timedelta64(1, "us")]), [0.0], [1.0], START)
        with pytest.raises(ValueError, match="times=1, rewards=2"):
            hourly_buckets(np.array([START + HOUR]), [0.0, 1.0], [1.0], START)
        with pytest.raises(ValueError, match="rewards must not contain infinite"):
            hourly_buckets(np.array([START + HOUR]), [np.inf], [1.0], START)

    @settings(max_examples=60, deadline=None)
    @given(
        offsets=hnp.arrays(np.int64, st.integers(0, 80), elements=st.integers(1, 72 * 3600)),
        data=st.data(),
    )
    def test_finite_and_consistent(self, offsets: NDArray[np.int64], data: st.DataObject) -> None:
        n = offsets.size
        values = st.one_of(st.just(NAN), st.floats(-1e3, 1e3))
        rewards = data.draw(hnp.arrays(np.float64, n, elements=values))
        latency = data.draw(hnp.arrays(np.float64, n, elements=st.just(NAN) | st.floats(0, 1e4)))
        got = hourly_buckets(START + offsets.astype("timedelta64[s]"), rewards, latency, START)
        assert int(got.predictions.sum()) == n
        assert np.all(got.realized <= got.predictions)
        for array in (got.win_rate, got.avg_reward, got.total_reward, got.avg_latency_ms):
            assert np.isfinite(array).all()
        assert np.all((got.win_rate >= 0.0) & (got.win_rate <= 1.0))
        summary = summarize_trend(got.hour_index, got.win_rate, got.avg_reward, got.realized)
        assert math.isfinite(summary.win_rate_slope)
        assert math.isfinite(summary.reward_slope)

    def test_feeds_summarize_trend(self) -> None:
        times = START + np.arange(5) * HOUR + np.timedelta64(1, "m")  # one row per hour, 0..4
        got = hourly_buckets(times, [NAN, 1.0, -1.0, 1.0, 1.0], [5.0] * 5, START)
        summary = summarize_trend(got.hour_index, got.win_rate, got.avg_reward, got.realized)
        # Hour 0 has win rate 0 too, but no realized bar: it does not compete.
        assert summary.worst_hour == HourExtreme(2, 0.0)
        assert summary.best_hour == HourExtreme(1, 1.0)
