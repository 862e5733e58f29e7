"""Run every analytics code path once on synthetic data at start-up.

The first call of several numpy/scipy routines pays one-off costs (lazy imports, dispatch
tables, compiled kernels being loaded): ~15 ms on drift. Paying them at start-up keeps them out
of the first request. No result is cached and the database is not touched.
"""

from __future__ import annotations

import numpy as np

from analytics import (
    FEATURES,
    action_stats,
    assess_health,
    classification_report,
    data_drift,
    latency_stats,
    resolve_outcomes,
    summarize_trend,
    trading_metrics,
)


def warm_up() -> None:
    rng = np.random.default_rng(0)
    n = 64
    codes = rng.choice(np.array([1, -1, 0], dtype=np.int8), n)
    values = rng.normal(size=n)
    times = np.datetime64("2026-01-01T00:00", "us") + np.arange(n) * np.timedelta64(5, "m")
    outcome = resolve_outcomes(times, times, 4000 + values, times[-1])
    resolved = ~outcome.pending
    classification_report(codes[resolved], outcome.actual_action[resolved], values[resolved] / 4)
    action_stats(codes, np.full(n, 0.5), values, codes == outcome.actual_action, resolved)
    trading_metrics(values)
    latency_stats(np.abs(values) * 50)
    data_drift(dict.fromkeys(FEATURES, values), dict.fromkeys(FEATURES, values + 1))
    summarize_trend(np.arange(n), np.full(n, 0.5), values, np.ones(n, dtype=np.int64))
    assess_health(n, 0.5, 20.0, 1.0)
