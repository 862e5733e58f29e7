"""Python client of the ML Analytics Service.

``AnalyticsClient`` (typed methods, deadlines, retries on UNAVAILABLE), the typed exceptions of
``mlanalytics.errors``, and ``mlanalytics.v1``: the stubs generated from ``protos/`` (``make gen``).
"""

from mlanalytics.client import AnalyticsClient
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
