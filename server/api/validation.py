"""Request parameter validation: checked before any SQL runs.

:class:`Params` reads the fields of one request and collects every violation (not just the
first); :meth:`Params.check` raises one :class:`~server.errors.InvalidArgument` naming each bad
parameter and what it accepts. Defaults and bounds come from the one parameter table,
``mlanalytics.parameters``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from analytics import ALWAYS, MarketCalendar
from mlanalytics.parameters import MODEL_ID_MAX_LENGTH, PARAMETERS, WINDOWS
from server.domain import TimeRange
from server.errors import FieldViolation, InvalidArgument

DEFAULT_WINDOW = str(PARAMETERS["window"].default)
HISTORY_DEFAULT_SPAN = timedelta(days=7)  # start_time's default: 7 trading days before end_time

#: Accepted instants: late enough and early enough that every window around them is a valid date.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

# RFC 3339 date-time: full date, time, optional fraction, mandatory offset.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)


class Params:
    """Reads and validates the parameters of one request.

    ``now`` is the default ``end_time``; it is taken once per request so every default agrees.
    ``calendar`` is the market's: windows run on its trading-day clock
    (docs/DEFINITIONS.md#the-trading-day-clock).
    """

    def __init__(self, now: datetime | None = None, *, calendar: MarketCalendar = ALWAYS) -> None:
        self.now = now or datetime.now(UTC)
        self.calendar = calendar
        self._violations: list[FieldViolation] = []

    def reject(self, field: str, description: str) -> None:
        """Record a violation (also for rules that involve more than one parameter)."""
        self._violations.append(FieldViolation(field, description))

    def rejected(self, field: str) -> bool:
        """Whether ``field`` has a violation already."""
        return any(v.field == field for v in self._violations)

    def check(self) -> None:
        """Raise InvalidArgument if any parameter read so far was invalid."""
        if self._violations:
            raise InvalidArgument(self._violations)

    def model_id(self, value: str, field: str = "model_id") -> str:
        """A required model id of 1..100 printable characters."""
        if not value.strip():
            self.reject(field, "is required (a model id such as 'ppo_lstm_v3.2')")
        elif len(value) > MODEL_ID_MAX_LENGTH:
            self.reject(
                field, f"must be at most {MODEL_ID_MAX_LENGTH} characters (got {len(value)})"
            )
        elif not value.isprintable():
            self.reject(field, f"must not contain control characters (got {_show(value)})")
        return value

    def time(self, field: str, value: str, default: datetime) -> datetime:
        """An optional RFC 3339 instant with an offset, converted to UTC."""
        if not value:
            return default
        if not _RFC3339.match(value):
            self.reject(
                field,
                "must be an RFC 3339 date-time with offset, e.g. 2026-01-31T14:00:00Z"
                f" (got {_show(value)})",
            )
            return default
        try:
            # fromisoformat keeps microseconds, PostgreSQL's resolution; extra digits are dropped.
            parsed = datetime.fromisoformat(value.upper().replace(" ", "T")).astimezone(UTC)
        except (ValueError, OverflowError):
            self.reject(field, f"is not a valid date-time (got {_show(value)})")
            return default
        if not EARLIEST <= parsed <= LATEST:
            self.reject(
                field,
                f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (got {_show(value)})",
            )
            return default
        return parsed

    def end_time(self, value: str) -> datetime:
        """The end of the window: ``end_time`` or now."""
        return self.time("end_time", value, self.now)

    def window(
        self, value: str, end: datetime, field: str = "window", default: str = DEFAULT_WINDOW
    ) -> TimeRange:
        """A named window (1h, 24h, 7d, 30d; ``default`` when empty) ending at ``end``."""
        name = value or default
        length = WINDOWS.get(name)
        if length is None:
            self.reject(field, f"must be one of {', '.join(WINDOWS)} (got {_show(value)})")
            name, length = default, WINDOWS[default]
        return TimeRange(self.calendar.trading_window_start(end, length), end, name)

    def integer(self, request: Message, field: str) -> int:
        """An optional integer field of ``request``, within the table's bounds; the table's
        default when unset."""
        default, low, high = PARAMETERS[field].integer_spec()
        if not request.HasField(field):
            return default
        value: int = getattr(request, field)
        if not low <= value <= high:
            self.reject(field, f"must be between {low} and {high} (got {value})")
            return default
        return value


def model_window(
    model_id: str, window: str, end_time: str, calendar: MarketCalendar = ALWAYS
) -> tuple[str, TimeRange]:
    """The validated ``(model_id, window)`` of a per-model, per-window request."""
    params = Params(calendar=calendar)
    model_id = params.model_id(model_id)
    resolved = params.window(window, params.end_time(end_time))
    params.check()
    return model_id, resolved


def model_pair(
    model_a: str,
    model_b: str,
    window: str,
    end_time: str,
    default_window: str,
    *,
    calendar: MarketCalendar = ALWAYS,
) -> tuple[str, str, TimeRange]:
    """The validated ``(model_a, model_b, window)`` of an A/B request: two different models."""
    params = Params(calendar=calendar)
    model_a = params.model_id(model_a, "model_a")
    model_b = params.model_id(model_b, "model_b")
    if model_a == model_b and not params.rejected("model_a"):
        params.reject("model_b", f"must differ from model_a (both are {_show(model_a)})")
    resolved = params.window(window, params.end_time(end_time), default=default_window)
    params.check()
    return model_a, model_b, resolved


def _show(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, shortened: messages must stay small."""
    return repr(value if len(value) <= limit else value[:limit] + "...")
