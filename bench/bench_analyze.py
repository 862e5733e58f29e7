"""What the risk and calibration fields cost a window's analysis: ``analyze`` with and without them.

Usage::

    python -m bench.bench_analyze [--rows 8640 10000] [--repeat 31]

One model's evaluated window, synthetic (5-minute rows, 10 % NULL rewards, the last rows
pending): 8,640 rows is 30 days of 5-minute bars, the desk's largest window. Prints the fastest
of many runs (the CPU cost: on a shared machine the median measures the neighbours) of
``server.reports.windows.analyze`` (every field), of the same analysis without the new fields
(classification, per-action, trading and latency only), and of ``risk_metrics`` and
``confidence_calibration`` alone. No target here: the risk and calibration fields must cost the
rolling and accuracy calls under 10 % of their throughput, measured by ``make bench``; this
isolates the computation from the database, the mapping and Envoy.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from analytics import (
    action_stats,
    classification_report,
    confidence_calibration,
    latency_stats,
    risk_metrics,
    trading_metrics,
)
from server.domain import Evaluation, Predictions
from server.reports.windows import analyze


def evaluation(rows: int, seed: int = 0) -> Evaluation:
    """A synthetic evaluated window of ``rows`` predictions of one model."""
    rng = np.random.default_rng(seed)
    time0 = np.datetime64("2026-01-01T00:00", "us")
    action = rng.choice(np.array([1, -1, 0], dtype=np.int8), rows)
    predictions = Predictions(
        model=np.zeros(rows, np.int32),
        time=time0 + np.arange(rows) * np.timedelta64(5, "m"),
        inference_id=np.arange(rows, dtype=np.int64),
        symbol=np.zeros(rows, np.int32),
        action=action,
        action_raw=np.clip(action + rng.normal(0, 0.4, rows), -1, 1),
        confidence=rng.beta(2.0, 1.5, rows),
        reward=np.where(rng.random(rows) < 0.1, np.nan, rng.standard_t(4, rows) * 1e-3),
        latency_ms=np.round(30 * np.exp(0.25 * rng.normal(size=rows))),
    )
    actual = rng.choice(np.array([1, -1, 0], dtype=np.int8), rows)
    resolved = np.arange(rows) < rows - 2  # the last two wait for their next bar
    actual = np.where(resolved, actual, 0).astype(np.int8)
    return Evaluation(
        predictions,
        np.where(resolved, rng.normal(0, 6e-4, rows), 0.0),
        actual,
        resolved,
        resolved & (action == actual),
    )


def analyze_before(e: Evaluation) -> object:
    """The analysis as it was before the risk and calibration fields."""
    p, resolved = e.predictions, e.resolved
    return (
        classification_report(
            p.action[resolved], e.actual_action[resolved], p.action_raw[resolved]
        ),
        action_stats(p.action, p.confidence, p.reward, e.correct, resolved),
        trading_metrics(p.reward),
        latency_stats(p.latency_ms),
    )


def best_ms(function: Callable[..., object], *args: object, repeat: int) -> float:
    """Fastest of ``repeat`` runs of ``function(*args)`` in milliseconds, after a warm-up run."""
    function(*args)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args)
        runs.append(time.perf_counter() - start)
    return min(runs) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[8640, 10_000])
    parser.add_argument("--repeat", type=int, default=201, help="timed runs per case")
    args = parser.parse_args(argv)
    print("| rows | analyze before | analyze now | added | risk_metrics | calibration |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        e = evaluation(rows)
        p, resolved = e.predictions, e.resolved
        before = best_ms(analyze_before, e, repeat=args.repeat)
        now = best_ms(analyze, e, repeat=args.repeat)
        risk = best_ms(risk_metrics, p.reward, repeat=args.repeat)
        calibration = best_ms(
            confidence_calibration, p.confidence[resolved], e.correct[resolved], repeat=args.repeat
        )
        added = (now - before) / before * 100
        print(
            f"| {rows:,} | {before:.3f} ms | {now:.3f} ms | {added:+.1f} % "
            f"| {risk:.3f} ms | {calibration:.3f} ms |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
