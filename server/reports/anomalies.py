"""Change points and anomalies of one model's window, and the change points of every model in
the health window (docs/DEFINITIONS.md#anomalies)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from analytics import MarketCalendar
from analytics.anomalies import SIGNALS, Detection, detect, model_signals
from server.db import Connection
from server.domain import TimeRange
from server.repositories.models import require_model
from server.repositories.signals import fetch_signals

#: Rows before the window the detectors read as reference: one trading day.
REFERENCE = timedelta(hours=24)
#: The reference before the health window: 7 trading days, enough rows at every time of day for
#: the intraday profile to be taken out (analytics.anomalies.PROFILE_MIN_DAYS), so that the
#: session's own shape never reads as a change point in health.
HEALTH_REFERENCE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ModelAnomalies:
    """One model's change points and anomalies over ``window``."""

    model_id: str
    window: TimeRange
    reference_start: datetime
    data_points: int  # predictions in the window
    detection: Detection
    signals: tuple[str, ...] = SIGNALS


def _utc(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.replace(tzinfo=None) - (moment.utcoffset() or timedelta()), "us")


def _detect(columns: dict[str, NDArray[Any]], rows: slice, report_from: datetime) -> Detection:
    signals = model_signals(
        columns["action"][rows],
        columns["confidence"][rows],
        columns["latency_ms"][rows],
        columns["reward"][rows],
        columns["action_raw"][rows],
    )
    return detect(columns["time"][rows], signals, report_from=_utc(report_from))


def model_anomalies(
    conn: Connection, model_id: str, window: TimeRange, calendar: MarketCalendar
) -> ModelAnomalies:
    """The model's rows from one trading day before the window to its end (one query), and what
    the detectors find in the window; ModelNotFound if the model has no rows at all."""
    reference_start = calendar.trading_window_start(window.start, REFERENCE)
    columns = fetch_signals(conn, [model_id], reference_start, window.end)
    in_window = int(np.count_nonzero(columns["time"] > _utc(window.start)))
    if not columns["time"].size:
        require_model(conn, model_id)
    detection = _detect(columns, slice(None), window.start)
    return ModelAnomalies(model_id, window, reference_start, in_window, detection)


def recent_change_points(
    conn: Connection, model_ids: list[str], window: TimeRange, calendar: MarketCalendar
) -> list[Detection]:
    """Each model's change points and anomalies in ``window`` (the health window), with 7
    trading days of reference before it: one query for all the models."""
    if not model_ids:
        return []
    reference_start = calendar.trading_window_start(window.start, HEALTH_REFERENCE)
    columns = fetch_signals(conn, model_ids, reference_start, window.end)
    bounds = np.searchsorted(columns["model"], np.arange(len(model_ids) + 1))
    return [_detect(columns, slice(int(a), int(b)), window.start) for a, b in pairwise(bounds)]
