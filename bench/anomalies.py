"""Benchmark of the change-point and anomaly detectors on generated data with known changes.

Usage::

    python bench/anomalies.py [--trials 200] [--seed 0]
    python bench/anomalies.py --calibrate      # the false-alarm rate of each signal per threshold

Generated model (one row per 5-minute bar, 59 bars a session): confidence around 0.7 and a
log-normal latency, each with an intraday U shape of 0.5 sd and AR(1) noise (phi 0.3); HOLD on
20 % of the bars and on every session's last bar; rewards of the traded bars with a mean of
+0.3 of their sd (a good model). Injected, mid-session (bar 30 of the seventh of eight sessions):
a step of -2 sd in confidence, +2 sd in log latency, the hold rate from 0.2 to 1.0 (2 sd of a
Bernoulli 0.2: the model stops trading); the reward mean reversing to -0.3 sd; isolated spikes
(a latency 25 times the usual, a confidence of 0). Targets (docs/DEFINITIONS.md#anomalies):
steps found within 6 bars, the reversal within 2 sessions (118 bars), at most 1 false change
point per model per 20 sessions, at most 1 false anomaly per model per 5 sessions, a spike never
a change point.

Delay: bars of the new regime seen when the detector fires (1: on the onset bar), measured by
running the detector on the rows up to that bar. This is a script, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analytics.anomalies import DETECTORS, SIGNALS, Cusum, detect, model_signals, prepared

SESSION = 59
BAR = np.timedelta64(5, "m")
T0 = np.datetime64("2026-01-05T13:00:00", "us")
CONFIDENCE_SD = 0.06
LATENCY_SD = 0.25  # of log latency
EDGE = 0.3  # mean reward of a traded bar, in its sd


def _ar1(rng: np.random.Generator, n: int, phi: float = 0.3) -> NDArray[np.float64]:
    e = rng.standard_normal(n) * np.sqrt(1 - phi * phi)
    out = np.empty(n)
    out[0] = rng.standard_normal()
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def generate(
    rng: np.random.Generator, sessions: int, *, change: str | None = None, at: int = 0
) -> dict[str, NDArray[np.float64]]:
    """Rows of one model; ``change`` from row ``at`` on (confidence, latency_ms, hold_rate,
    reward) or ``spikes`` (a latency and a confidence spike every session)."""
    n = sessions * SESSION
    bar = np.arange(n) % SESSION
    u_shape = ((bar - (SESSION - 1) / 2) / ((SESSION - 1) / 2)) ** 2 - 1 / 3  # mean 0
    u_shape = u_shape / np.std(u_shape) * 0.5  # 0.5 sd intraday pattern
    after = np.arange(n) >= at if change else np.zeros(n, dtype=bool)
    conf_z = _ar1(rng, n) + u_shape
    conf_sd = CONFIDENCE_SD * np.std(_ar1(rng, 20_000) + np.tile(u_shape[:SESSION], 340)[:20_000])
    confidence = (
        0.7 + CONFIDENCE_SD * conf_z - np.where(after & (change == "confidence"), 2 * conf_sd, 0)
    )
    lat_z = _ar1(rng, n) - u_shape
    log_sd = LATENCY_SD * np.std(_ar1(rng, 20_000) + np.tile(u_shape[:SESSION], 340)[:20_000])
    log_latency = np.log(40.0) + LATENCY_SD * lat_z
    log_latency = log_latency + np.where(after & (change == "latency_ms"), 2 * log_sd, 0)
    latency = np.round(np.exp(log_latency))
    hold_p = np.where(after & (change == "hold_rate"), 1.0, 0.2)
    hold = (rng.random(n) < hold_p) | (bar == SESSION - 1)
    sign = rng.choice([-1, 1], n)
    action = np.where(hold, 0, sign)
    action_raw = np.where(hold, rng.uniform(-0.15, 0.15, n), sign * rng.uniform(0.3, 1.0, n))
    edge = np.where(after & (change == "reward"), -EDGE, EDGE)
    reward = np.where(hold, 0.0, (edge + rng.standard_normal(n)) * 6e-4)
    if change == "spikes":
        for s in range(sessions):
            latency[s * SESSION + 17] *= 25
            confidence[s * SESSION + 41] = 0.0
    return model_signals(action, np.clip(confidence, 0, 1), latency, reward, action_raw)


def _times(n: int) -> NDArray[np.datetime64]:
    """One session a day, 59 bars from 13:00 UTC."""
    i = np.arange(n)
    return T0 + (i // SESSION) * np.timedelta64(1, "D") + (i % SESSION) * BAR


def _take(signals: dict[str, NDArray[np.float64]], n: int) -> dict[str, NDArray[np.float64]]:
    return {k: v[:n] for k, v in signals.items()}


def injected(
    signal: str, trials: int, seed: int, max_delay: int, tolerance: int
) -> dict[str, float]:
    """Delay (median, 90th percentile) and recall of a change injected in ``signal``."""
    rng = np.random.default_rng(seed)
    onset = 6 * SESSION + 30  # a 7-day window and its trading day of reference
    delays: list[int] = []
    for _ in range(trials):
        data = generate(rng, 9, change=signal, at=onset)
        n = onset + max_delay
        found = detect(_times(n), _take(data, n)).change_points
        hits = [c for c in found if c.signal == signal and abs(c.index - onset) <= tolerance]
        if hits:
            detected = int(np.searchsorted(_times(n), hits[0].detected_at))
            delays.append(detected - onset + 1)
    within = [d for d in delays if d <= max_delay]
    return {
        "median": statistics.median(within) if within else float("nan"),
        "p90": float(np.percentile(within, 90)) if within else float("nan"),
        "recall": len(within) / trials,
    }


def stationary(trials: int, seed: int) -> tuple[float, float, dict[str, int]]:
    """False change points per model per 20 sessions and false anomalies per model per 5
    sessions, on stationary models of 20 sessions; change points per signal."""
    rng = np.random.default_rng(seed)
    changes = anomalies = 0
    per_signal = dict.fromkeys(SIGNALS, 0)
    for _ in range(trials):
        data = generate(rng, 20)
        found = detect(_times(20 * SESSION), data)
        changes += len(found.change_points)
        anomalies += len(found.anomalies)
        for c in found.change_points:
            per_signal[c.signal] += 1
    return changes / trials, anomalies / trials / 4, per_signal


def spikes(trials: int, seed: int) -> tuple[float, int]:
    """Recall of the spikes as anomalies, and change points within 3 rows of a spike."""
    rng = np.random.default_rng(seed)
    found_spikes = total = near = 0
    for _ in range(trials):
        data = generate(rng, 5, change="spikes", at=0)
        found = detect(_times(5 * SESSION), data)
        rows = {(a.signal, a.index) for a in found.anomalies}
        for s in range(5):
            for signal, row in (("latency_ms", s * SESSION + 17), ("confidence", s * SESSION + 41)):
                total += 1
                found_spikes += (signal, row) in rows
                near += any(
                    c.signal == signal and abs(c.index - row) <= 3 for c in found.change_points
                )
    return found_spikes / total, near


def cost(seed: int, sessions: int, repeat: int = 20) -> float:
    rng = np.random.default_rng(seed)
    data = generate(rng, sessions)
    times = _times(sessions * SESSION)
    detect(times, data)
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        detect(times, data)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1e3


def calibrate(trials: int, seed: int) -> None:
    """False change points per model per 20 sessions of each signal for a grid of thresholds,
    on 20-session series bootstrapped by whole sessions from a long stationary pool."""
    rng = np.random.default_rng(seed)
    pool = generate(rng, 400)
    grids = {"reward": [10.0, 12.0, 14.0, 16.0]}
    for signal in SIGNALS:
        base = DETECTORS[signal]
        row = []
        for h in grids.get(signal, [3.0, 3.5, 4.0, 4.5, 5.0, 5.5]):
            detector = Cusum(base.name, k=base.k, h=h, warmup=base.warmup, clip=base.clip)
            alarms = 0
            for _ in range(trials):
                picks = rng.integers(0, 400, 20)
                rows = np.concatenate([np.arange(p * SESSION, (p + 1) * SESSION) for p in picks])
                values = pool[signal][rows]
                present = np.isfinite(values)
                values = prepared(signal, _times(rows.size)[present], values[present])
                alarms += len(detector.alarms(values))
            row.append(f"h={h:g}: {alarms / trials:.3f}")
        print(f"{signal:<11} (k={base.k:g})  " + "  ".join(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", action="store_true")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.trials, args.seed)
        return
    print(f"{'case':<34} {'median delay':>12} {'p90 delay':>9} {'recall':>7}  target")
    cases = [
        ("confidence step -2 sd", "confidence", 6, 6, "<= 6 bars"),
        ("latency step +2 sd (log)", "latency_ms", 6, 6, "<= 6 bars"),
        ("hold rate 0.2 -> 1.0 (+2 sd)", "hold_rate", 6, 6, "<= 6 bars"),
        ("reward mean +0.3 -> -0.3 sd", "reward", 2 * SESSION, 2 * SESSION, "<= 118 bars"),
    ]
    for label, signal, max_delay, tolerance, target in cases:
        r = injected(signal, args.trials, args.seed, max_delay, tolerance)
        print(f"{label:<34} {r['median']:>12g} {r['p90']:>9g} {r['recall']:>7.1%}  {target}")
    false_changes, false_anomalies, per_signal = stationary(args.trials, args.seed + 1)
    print(
        f"false change points per model per 20 sessions: {false_changes:.3f} (target <= 1)  "
        + ", ".join(f"{k} {v}" for k, v in per_signal.items())
        + f"  over {args.trials} models"
    )
    print(f"false anomalies per model per 5 sessions: {false_anomalies:.3f} (target <= 1)")
    recall, near = spikes(args.trials // 4 or 1, args.seed + 2)
    print(f"spikes listed as anomalies: {recall:.1%}; change points at a spike: {near} (target 0)")
    print(
        f"cost per call: {cost(args.seed, 8):.2f} ms (8 sessions, 472 rows), "
        f"{cost(args.seed, 31):.2f} ms (31 sessions, 1829 rows)"
    )


if __name__ == "__main__":
    main()
