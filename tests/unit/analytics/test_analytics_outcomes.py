"""Actual outcomes of predictions (analytics.outcomes), against a brute-force loop and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray

from analytics import DEFAULT_HOLD_BAND, resolve_outcomes
from analytics.actions import HOLD, LONG, SHORT

T0 = np.datetime64("2024-03-01T13:00", "us")
MINUTE = np.timedelta64(60_000_000, "us")


def at(*minutes: float) -> NDArray[np.datetime64]:
    """Times `minutes` after T0 (microsecond precision)."""
    return T0 + np.array([round(m * 60_000_000) for m in minutes], dtype="timedelta64[us]")


def brute_force(
    times: NDArray[np.datetime64],
    bar_times: NDArray[np.datetime64],
    closes: NDArray[np.float64],
    end: np.datetime64,
    band: float,
) -> tuple[list[float], list[int], list[bool]]:
    """docs/DEFINITIONS.md#actual-outcome-of-a-prediction read literally, one bar at a time."""
    returns, actions, pending = [], [], []
    for t in times:
        p0 = None
        p1 = None
        for bar_time, close in zip(bar_times, closes, strict=True):
            if bar_time <= t:
                p0 = float(close)  # bars ascend, so the last one seen is the latest <= t
            elif p1 is None:
                p1 = (bar_time, float(close))
        if p0 is None or p1 is None or p1[0] > end:
            returns.append(0.0)
            actions.append(HOLD)
            pending.append(True)
            continue
        r = math.log(p1[1] / p0)
        returns.append(r)
        actions.append(LONG if r > band else SHORT if r < -band else HOLD)
        pending.append(False)
    return returns, actions, pending


class TestResolveOutcomes:
    @pytest.mark.parametrize("seed", range(6))
    def test_matches_brute_force_on_random_data(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n_bars = int(rng.integers(0, 60))
        # Bars every 5 minutes with gaps; predictions anywhere, some exactly on a bar time.
        bar_minutes = np.cumsum(rng.choice([5, 5, 5, 10, 60], n_bars)).astype(float)
        bar_times = at(*bar_minutes)
        closes = 4000.0 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, n_bars)))
        span = float(bar_minutes[-1]) + 20.0 if n_bars else 60.0
        minutes = rng.uniform(-10.0, span, 80)
        if n_bars:
            minutes[:10] = rng.choice(bar_minutes, 10)
        times = at(*minutes)
        end = T0 + MINUTE * int(rng.integers(0, int(span) + 1))

        got = resolve_outcomes(times, bar_times, closes, end)
        returns, actions, pending = brute_force(times, bar_times, closes, end, DEFAULT_HOLD_BAND)
        assert_array_equal(got.pending, pending)
        assert_array_equal(got.actual_action, actions)
        # log1p((p1 - p0) / p0) vs log(p1 / p0): the same number up to the rounding of the ratio.
        assert_allclose(got.actual_return, returns, rtol=1e-10, atol=1e-15)
        assert got.actual_action.dtype == np.int8
        assert got.actual_return.dtype == np.float64

    def test_prediction_exactly_on_a_bar_uses_that_bar_as_p0(self) -> None:
        # Bars at 0, 5, 10 min with closes 100, 101, 99. A prediction at 5:00 sees p0 = 101 (the
        # bar at 5) and p1 = 99 (the bar at 10): r = ln(99 / 101) = -0.0200007, SHORT.
        got = resolve_outcomes(at(5), at(0, 5, 10), [100.0, 101.0, 99.0], T0 + 10 * MINUTE)
        assert_allclose(got.actual_return, [math.log(99 / 101)], rtol=1e-12)
        assert got.actual_action.tolist() == [SHORT]
        assert got.pending.tolist() == [False]

    def test_between_bars_uses_latest_and_next(self) -> None:
        # At 2:30 p0 = close at 0 (100), p1 = close at 5 (101): ln(1.01) = 0.00995, LONG.
        got = resolve_outcomes(at(2.5), at(0, 5, 10), [100.0, 101.0, 99.0], T0 + 10 * MINUTE)
        assert_allclose(got.actual_return, [math.log(1.01)], rtol=1e-12)
        assert got.actual_action.tolist() == [LONG]

    def test_before_first_bar_is_pending(self) -> None:
        # No bar at or before t: there is no p0.
        got = resolve_outcomes(at(-1), at(0, 5), [100.0, 101.0], T0 + 10 * MINUTE)
        assert got.pending.tolist() == [True]
        assert got.actual_return.tolist() == [0.0]
        assert got.actual_action.tolist() == [HOLD]

    def test_after_last_bar_is_pending(self) -> None:
        got = resolve_outcomes(at(5, 7), at(0, 5), [100.0, 101.0], T0 + 60 * MINUTE)
        assert got.pending.tolist() == [True, True]

    def test_next_bar_after_end_time_is_pending(self) -> None:
        # The p1 bar exists in the table (time 10) but is after end_time (9:59): not known then.
        bars, closes = at(0, 5, 10), [100.0, 101.0, 102.0]
        got = resolve_outcomes(at(6), bars, closes, T0 + 9 * MINUTE + 59 * MINUTE / 60)
        assert got.pending.tolist() == [True]
        # With end_time exactly at the p1 bar's time it is known: the window is (.., end_time].
        got = resolve_outcomes(at(6), bars, closes, T0 + 10 * MINUTE)
        assert got.pending.tolist() == [False]

    def test_return_exactly_at_the_band_is_hold(self) -> None:
        bars, closes, end = at(0, 5), [4000.0, 4000.9], T0 + 5 * MINUTE
        r = float(resolve_outcomes(at(1), bars, closes, end, band=0.0).actual_return[0])
        assert r > 0.0
        # |r| == band is inside the band (HOLD); one ulp less and it is LONG.
        assert resolve_outcomes(at(1), bars, closes, end, band=r).actual_action.tolist() == [HOLD]
        smaller = float(np.nextafter(r, 0.0))
        assert resolve_outcomes(at(1), bars, closes, end, band=smaller).actual_action.tolist() == [
            LONG
        ]
        falling = [4000.9, 4000.0]
        down = float(resolve_outcomes(at(1), bars, falling, end, band=0.0).actual_return[0])
        assert resolve_outcomes(at(1), bars, falling, end, band=-down).actual_action.tolist() == [
            HOLD
        ]

    def test_zero_return_is_hold_even_with_zero_band(self) -> None:
        got = resolve_outcomes(at(1), at(0, 5), [100.0, 100.0], T0 + 5 * MINUTE, band=0.0)
        assert got.actual_action.tolist() == [HOLD]
        assert got.pending.tolist() == [False]

    def test_window_entirely_pending(self) -> None:
        # Every prediction is after the last bar known at end_time.
        got = resolve_outcomes(at(20, 21, 22), at(0, 5, 10), [1.0, 1.0, 1.0], T0 + 30 * MINUTE)
        assert got.pending.all()
        assert not got.actual_return.any()
        assert not got.actual_action.any()

    def test_empty_inputs(self) -> None:
        empty_times = np.array([], dtype="datetime64[us]")
        got = resolve_outcomes(empty_times, empty_times, [], T0)
        assert got.actual_return.shape == got.actual_action.shape == got.pending.shape == (0,)
        got = resolve_outcomes(at(1, 2), empty_times, [], T0)
        assert got.pending.tolist() == [True, True]

    def test_other_datetime_units_are_converted(self) -> None:
        bars = np.array(["2024-03-01T13:00", "2024-03-01T13:05"], dtype="datetime64[m]")
        times = np.array(["2024-03-01T13:00:30"], dtype="datetime64[s]")
        got = resolve_outcomes(times, bars, [100.0, 101.0], np.datetime64("2024-03-01T13:05"))
        assert got.pending.tolist() == [False]

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"bar_times": at(5, 0)}, "bar_times must be sorted"),
            ({"bar_closes": [100.0]}, "bar_times=2, bar_closes=1"),
            ({"bar_closes": [100.0, 0.0]}, "bar_closes must be finite and > 0"),
            ({"bar_closes": [100.0, float("nan")]}, "bar_closes must be finite and > 0"),
            ({"band": -0.001}, "band must be >= 0"),
            ({"band": float("nan")}, "band must be finite"),
            ({"prediction_times": [1.0, 2.0]}, "prediction_times must be a datetime64"),
            ({"prediction_times": np.array(["NaT"], "datetime64[us]")}, "prediction_times"),
            ({"end_time": np.datetime64("NaT")}, "end_time must not be NaT"),
        ],
    )
    def test_bad_arguments_are_named(self, kwargs: dict[str, object], message: str) -> None:
        args: dict[str, object] = {
            "prediction_times": at(1),
            "bar_times": at(0, 5),
            "bar_closes": [100.0, 101.0],
            "end_time": T0 + 5 * MINUTE,
        }
        args.update(kwargs)
        with pytest.raises(ValueError, match=message):
            resolve_outcomes(**args)  # type: ignore[arg-type]
