"""Change points and anomalies on generated signals with known changes (fixed seeds)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from anomalies import SESSION, _times, generate  # type: ignore[import-not-found]

from analytics.anomalies import OUTLIERS, PROFILE_MIN_DAYS, Cusum, detect, intraday_profile

ONSET = 6 * SESSION + 30


@pytest.mark.parametrize("signal", ["confidence", "latency_ms", "hold_rate"])
def test_a_two_sd_step_is_found_within_six_bars_of_its_onset(signal: str) -> None:
    rng = np.random.default_rng(7)
    found_in_time = 0
    for _ in range(20):
        data = generate(rng, 8, change=signal, at=ONSET)
        n = ONSET + 6
        times = _times(n)
        changes = detect(times, {k: v[:n] for k, v in data.items()}).change_points
        hits = [c for c in changes if c.signal == signal and abs(c.index - ONSET) <= 6]
        found_in_time += bool(hits)
        for c in hits:  # the shift has the injected direction
            assert (c.shift or 0) * (-1 if signal == "confidence" else 1) > 1.0
    assert found_in_time >= 8  # measured ~50-70 % in the benchmark at this delay


def test_a_reward_reversal_is_found_within_two_sessions() -> None:
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(10):
        data = generate(rng, 9, change="reward", at=ONSET)
        n = ONSET + 2 * SESSION
        changes = detect(_times(n), {k: v[:n] for k, v in data.items()}).change_points
        hits = [c for c in changes if c.signal == "reward" and abs(c.index - ONSET) <= SESSION]
        found += bool(hits)
        for c in hits:
            assert c.after_mean < 0 < c.before_mean
    assert found >= 8


def test_stationary_models_have_few_change_points() -> None:
    rng = np.random.default_rng(11)
    total = sum(
        len(detect(_times(20 * SESSION), generate(rng, 20)).change_points) for _ in range(10)
    )
    assert total <= 10  # at most 1 per model per 20 sessions


def test_spikes_are_anomalies_and_never_change_points() -> None:
    rng = np.random.default_rng(5)
    data = generate(rng, 5, change="spikes", at=0)
    found = detect(_times(5 * SESSION), data)
    rows = {(a.signal, a.index) for a in found.anomalies}
    for s in range(5):
        assert ("latency_ms", s * SESSION + 17) in rows
        assert ("confidence", s * SESSION + 41) in rows
    spike_rows = [s * SESSION + r for s in range(5) for r in (17, 41)]
    assert not [c for c in found.change_points if min(abs(c.index - r) for r in spike_rows) <= 3]
    zero = next(a for a in found.anomalies if a.signal == "confidence")
    assert zero.value == 0.0
    assert zero.expected > 0.5
    assert zero.score < -2.0


def test_a_lone_huge_value_alone_never_fires_the_cusum() -> None:
    values = np.zeros(200) + np.random.default_rng(1).normal(0, 1, 200)
    values[120] = 1e6
    assert Cusum("cusum", k=1.5, h=3.5).alarms(values) == []


def test_the_cusum_onset_and_alarm_of_a_clean_step() -> None:
    values = np.r_[np.tile([-1.0, 1.0], 50), np.full(20, 11.0)]
    [(onset, alarm)] = Cusum("cusum", k=1.5, h=3.5).alarms(values)
    assert onset == 100
    assert alarm == 102  # z clipped at 3: 1.5 per bar, over 3.5 on the third


def test_the_intraday_profile_is_each_rows_neighbourhood_median() -> None:
    rng = np.random.default_rng(2)
    minutes = np.flatnonzero(rng.random(12 * 288) < 0.8) * 5  # 12 days, a fifth of rows missing
    times = np.datetime64("2026-01-05T00:00", "us") + minutes.astype("timedelta64[m]")
    values = np.round(rng.normal(size=times.size), 1)  # ties too
    slot = (minutes % 1440) // 5
    assert np.bincount(slot).min() >= PROFILE_MIN_DAYS  # every time of day: a profile
    expected = [np.median(values[np.abs(slot - s) <= 2]) - np.median(values) for s in slot]
    np.testing.assert_allclose(intraday_profile(times, values), expected)
    assert not intraday_profile(times[:50], values[:50]).any()  # too few days: no profile


def test_a_constant_signal_has_no_change_point() -> None:
    values = np.full(3000, 0.9951807804585173)  # a model whose action_raw never moves
    assert Cusum("cusum", k=1.5, h=3.5).alarms(values) == []
    times = _times(values.size)
    signals = {"action_raw": values, "confidence": values * 0.7, "latency_ms": np.full(3000, 40.0)}
    assert detect(times, signals).change_points == ()


def test_the_expected_value_of_a_row_is_its_neighbours_median() -> None:
    values = np.random.default_rng(4).normal(size=300)
    _, medians = OUTLIERS.scores(values)
    for row in (0, 10, 29, 150, 280, 299):
        assert OUTLIERS.expected(values, row) == pytest.approx(medians[row])
