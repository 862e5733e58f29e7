"""Resolve predictions against the bars: the actual outcome and correctness of each row."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from analytics import resolve_outcomes
from server.domain import Bars, Evaluation, Predictions


def resolve(
    times: NDArray[np.datetime64],
    symbols: NDArray[np.int32],
    bars: Bars,
    end: datetime,
    band: float,
) -> tuple[NDArray[np.float64], NDArray[np.int8], NDArray[np.bool_]]:
    """Actual return, actual action and pending flag of each prediction, symbol by symbol."""
    actual_return = np.zeros(times.size)
    actual_action = np.zeros(times.size, dtype=np.int8)
    pending = np.ones(times.size, dtype=bool)
    end64 = np.datetime64(end.replace(tzinfo=None), "us")
    for symbol in np.unique(symbols):
        rows = symbols == symbol
        series = bars.symbol == symbol
        outcome = resolve_outcomes(times[rows], bars.time[series], bars.close[series], end64, band)
        actual_return[rows] = outcome.actual_return
        actual_action[rows] = outcome.actual_action
        pending[rows] = outcome.pending
    return actual_return, actual_action, pending


def evaluate(predictions: Predictions, bars: Bars, end: datetime, band: float) -> Evaluation:
    """Every prediction's outcome as of ``end``."""
    actual_return, actual_action, pending = resolve(
        predictions.time, predictions.symbol, bars, end, band
    )
    resolved = ~pending
    return Evaluation(
        predictions,
        actual_return,
        actual_action,
        resolved,
        resolved & (predictions.action == actual_action),
    )
