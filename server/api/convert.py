"""Small conversions used while building responses."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import numpy as np
from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(moment: datetime | np.datetime64) -> Timestamp:
    """A protobuf Timestamp (printed as RFC 3339 UTC) from an aware datetime or datetime64[us]."""
    ts = Timestamp()
    if isinstance(moment, np.datetime64):
        ts.FromMicroseconds(int(moment.astype("datetime64[us]").astype(np.int64)))
    else:
        ts.FromDatetime(moment.astimezone(UTC))
    return ts


def now_timestamp() -> Timestamp:
    """The current time as a Timestamp (the envelope's ``timestamp``)."""
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


def finite(value: float | None) -> float | None:
    """``value`` if it is a finite number, else None (so that JSON never shows NaN/Infinity)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


class _Envelope(Protocol):
    def __init__(self, *, success: bool, data: object, timestamp: Timestamp) -> None: ...


E = TypeVar("E", bound=_Envelope)


def envelope(response_type: type[E], data: object) -> E:
    """The documented ``{success, data, timestamp}`` response around ``data``."""
    return response_type(success=True, data=data, timestamp=now_timestamp())
