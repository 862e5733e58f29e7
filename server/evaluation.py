"""Resolve predictions against the bars: the actual outcome and correctness of each row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from analytics import resolve_outcomes
from server.repositories.predictions import Bars, Predictions


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Predictions with their outcomes (SPEC section 4, "Actual outcome of a prediction")."""

    predictions: Predictions
    actual_return: NDArray[np.float64]  # 0 where pending
    actual_action: NDArray[np.int8]  # HOLD where pending
    resolved: NDArray[np.bool_]
    correct: NDArray[np.bool_]  # resolved and predicted == actual

    def take(self, index: slice | NDArray[Any]) -> Self:
        return type(self)(
            self.predictions.take(index),
            self.actual_return[index],
            self.actual_action[index],
            self.resolved[index],
            self.correct[index],
        )


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
