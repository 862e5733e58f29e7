"""Groups of fields that messages of several proto files name alike, as keyword arguments."""

from __future__ import annotations

from typing import Any

from server.api.convert import timestamp
from server.domain import TimeRange


def window_fields(window: TimeRange) -> dict[str, Any]:
    """A named window as a message's ``window``, ``start_time`` and ``end_time``."""
    return {
        "window": window.name,
        "start_time": timestamp(window.start),
        "end_time": timestamp(window.end),
    }
