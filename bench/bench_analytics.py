"""Benchmark of the analytics core: prints the median (and min) wall time of several runs.

Usage::

    python bench/bench_analytics.py [--repeat 7] [--seed 0]

Targets, on the 2-core reference machine:

- data drift over the 13 features, 100k recent vs 1M baseline rows: < 1 s;
- classification_report + action_stats over 1M rows: < 100 ms;
- resolve_outcomes for 1M predictions over 1M bars: no target, reported for the record;
- risk_metrics (next to trading_metrics, which every metrics call already pays), the paired A/B
  comparison and confidence_calibration, at 10k and 1M rows: no target of their own; the fields
  they add must cost the rolling and accuracy calls under 10 % of their throughput.

This is a script, not a test: timings depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# Benchmark this checkout's analytics/, whatever the environment has installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import analytics


def _time(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and min seconds over `repeat` runs, after one warm-up run."""
    function()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), min(runs)


def _drift_data(
    rng: np.random.Generator, n_recent: int, n_baseline: int
) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
    """13 features with a realistic mix: no drift, slight and strong shifts, ties, NULLs."""
    recent: dict[str, NDArray[np.float64]] = {}
    baseline: dict[str, NDArray[np.float64]] = {}
    shifts = (0.0, 0.0, 0.0, 0.02, 0.05, 0.05, 0.1, 0.1, 0.3, 0.5, 1.0, 0.0, 0.05)
    for k, (name, shift) in enumerate(zip(analytics.FEATURES, shifts, strict=True)):
        b = rng.normal(0.0, 1.0, n_baseline)
        r = rng.normal(shift, 1.0, n_recent)
        if name in ("rsi_9", "adx_14"):  # coarse values: many ties
            b, r = np.round(b * 10.0), np.round(r * 10.0)
        if k % 4 == 0:  # 5% NULLs
            b[rng.random(n_baseline) < 0.05] = np.nan
            r[rng.random(n_recent) < 0.05] = np.nan
        recent[name], baseline[name] = r, b
    return recent, baseline


def _new_analytics_rows(
    rng: np.random.Generator, sizes: tuple[int, ...], repeat: int
) -> list[tuple[str, float, float, str]]:
    """(d) risk next to trading, (e) A/B and (f) calibration timings at every size in `sizes`."""
    timings = {size: _new_analytics_timings(rng, size, repeat) for size in sizes}
    cases = [
        ("(d)", "trading_metrics (for scale), {} rewards"),
        ("   ", "risk_metrics, {} rewards"),
        ("(e)", "ab_comparison, {} rows per model"),
        ("(f)", "confidence_calibration, {} predictions"),
    ]
    rows: list[tuple[str, float, float, str]] = []
    for k, (tag, label) in enumerate(cases):
        for m, size in enumerate(sizes):
            median, fastest = timings[size][k]
            rows.append(
                (f"{tag if m == 0 else '   '} {label.format(f'{size:,}')}", median, fastest, "")
            )
    return rows


def _new_analytics_timings(
    rng: np.random.Generator, size: int, repeat: int
) -> list[tuple[float, float]]:
    """Median and min of trading_metrics, risk_metrics, ab_comparison, confidence_calibration."""
    rewards = np.where(rng.random(size) < 0.1, np.nan, rng.standard_t(4, size) * 1e-3)
    # Two models, one row per 5-minute bar each, a second apart, 10 % NULL rewards.
    bars = np.datetime64("2024-01-01T00:00", "us") + np.arange(size) * np.timedelta64(5, "m")
    rewards_b = np.where(rng.random(size) < 0.1, np.nan, rng.normal(0.0, 1e-3, size))
    confidence = np.where(rng.random(size) < 0.05, np.nan, rng.beta(2.0, 1.5, size))
    correct = rng.random(size) < 0.55
    return [
        _time(lambda: analytics.trading_metrics(rewards), repeat),
        _time(lambda: analytics.risk_metrics(rewards), repeat),
        _time(
            lambda: analytics.ab_comparison(
                bars, rewards, bars + np.timedelta64(1, "s"), rewards_b
            ),
            repeat,
        ),
        _time(lambda: analytics.confidence_calibration(confidence, correct), repeat),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per case (default 7)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--recent", type=int, default=100_000, help="recent rows per feature")
    parser.add_argument("--baseline", type=int, default=1_000_000, help="baseline rows per feature")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for (b) and (c)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    recent, baseline = _drift_data(rng, args.recent, args.baseline)
    drift_median, drift_min = _time(lambda: analytics.data_drift(recent, baseline), args.repeat)
    # The service's default request: 24 h of 5-minute rows against the 7 days before.
    small_recent, small_baseline = _drift_data(rng, 288, 7 * 288)
    small_median, small_min = _time(
        lambda: analytics.data_drift(small_recent, small_baseline), args.repeat
    )

    n = args.rows
    predicted = rng.choice(np.array(analytics.ACTION_CODES, dtype=np.int8), n)
    actual = rng.choice(np.array(analytics.ACTION_CODES, dtype=np.int8), n)
    action_raw = np.clip(predicted + rng.normal(0.0, 0.4, n), -1.0, 1.0)
    confidence = rng.random(n)
    reward = np.where(rng.random(n) < 0.1, np.nan, rng.normal(0.0, 1e-3, n))
    resolved = rng.random(n) < 0.9
    correct = resolved & (predicted == actual)

    def classify() -> None:
        analytics.classification_report(predicted, actual, action_raw)
        analytics.action_stats(predicted, confidence, reward, correct, resolved)

    class_median, class_min = _time(classify, args.repeat)

    start = np.datetime64("2024-01-01T00:00", "us")
    bar_times = start + np.arange(n) * np.timedelta64(5, "m")
    bar_closes = 4000.0 * np.exp(np.cumsum(rng.normal(0.0, 5e-4, n)))
    prediction_times = bar_times + rng.integers(0, 300, n) * np.timedelta64(1, "s")
    end_time = bar_times[-1]
    outcome_median, outcome_min = _time(
        lambda: analytics.resolve_outcomes(prediction_times, bar_times, bar_closes, end_time),
        args.repeat,
    )

    risk_rows = _new_analytics_rows(rng, (10_000, n), args.repeat)

    rows = [
        (
            f"(a) data_drift, 13 features, {args.recent:,} recent vs {args.baseline:,} baseline",
            drift_median,
            drift_min,
            "target < 1000 ms",
        ),
        (
            "    data_drift, 13 features, 288 recent vs 2,016 baseline (24 h vs 7 d)",
            small_median,
            small_min,
            "",
        ),
        (
            f"(b) classification_report + action_stats, {n:,} rows",
            class_median,
            class_min,
            "target < 100 ms",
        ),
        (
            f"(c) resolve_outcomes, {n:,} predictions over {n:,} bars",
            outcome_median,
            outcome_min,
            "",
        ),
        *risk_rows,
    ]
    width = max(len(label) for label, *_ in rows)
    print(f"median (min) of {args.repeat} runs after one warm-up, milliseconds")
    for label, median, fastest, target in rows:
        print(f"{label:<{width}}  {median * 1e3:8.1f} ({fastest * 1e3:7.1f})  {target}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
