"""Python client of the ML Analytics Service.

``AnalyticsClient`` (typed methods, deadlines, retries on UNAVAILABLE), the typed exceptions of
``mlanalytics.errors``, and ``mlanalytics.v1``: the stubs generated from ``protos/`` (``make gen``).
"""

from typing import TYPE_CHECKING

from mlanalytics.errors import (
    AnalyticsError,
    DeadlineExceeded,
    FieldViolation,
    InternalError,
    InvalidArgument,
    NotFound,
    Unavailable,
    Unimplemented,
)

__all__ = [
    "AnalyticsClient",
    "AnalyticsError",
    "DeadlineExceeded",
    "FieldViolation",
    "InternalError",
    "InvalidArgument",
    "NotFound",
    "Unavailable",
    "Unimplemented",
]


if TYPE_CHECKING:
    from mlanalytics.client import AnalyticsClient


def __getattr__(name: str) -> object:
    """``AnalyticsClient``, imported on first use: the package's generated modules
    (``mlanalytics.v1``) are written by a generator that itself reads this package."""
    if name == "AnalyticsClient":
        from mlanalytics.client import AnalyticsClient  # noqa: PLC0415

        return AnalyticsClient
    raise AttributeError(f"module 'mlanalytics' has no attribute {name!r}")
