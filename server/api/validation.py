"""Request parameter validation: checked before any SQL runs.

What each request field accepts and its default are the field's ``(mlanalytics.v1.parameter)``
option in the protos (docs/DEFINITIONS.md#request-parameters). :class:`Params` reads every
declared field of one request and collects every violation (not just the first);
:meth:`Params.check` raises one :class:`~server.errors.InvalidArgument` naming each bad
parameter and what it accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from analytics import ALWAYS, MarketCalendar
from mlanalytics.v1 import options_pb2
from server.domain import TimeRange
from server.errors import FieldViolation, InvalidArgument

#: Accepted instants: late enough and early enough that every window around them is a valid date.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

# RFC 3339 date-time: full date, time, optional fraction, mandatory offset.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
# A window's name: a count and a unit, e.g. "24h" or "7d".
_WINDOW = re.compile(r"^([1-9]\d*)([hd])$")
_UNITS = {"h": "hours", "d": "days"}

#: The order violations are listed in: the models, the instants (end_time first: other defaults
#: depend on it), the window, the integers.
_MODEL, _INSTANT, _CHOICE, _INTEGER = range(4)


@dataclass(frozen=True, slots=True)
class _Rule:
    """One declared field of a request message."""

    name: str
    kind: int
    rules: options_pb2.Parameter
    choices: tuple[str, ...]


@cache
def _rules(request: Descriptor) -> tuple[_Rule, ...]:
    """The declared fields of ``request``, in the order they are read."""
    found = []
    for field in request.fields:
        options = field.GetOptions()
        if not options.HasExtension(options_pb2.parameter):
            continue
        rules: options_pb2.Parameter = options.Extensions[options_pb2.parameter]
        choices = tuple(getattr(rules, "in"))  # `in` is a Python keyword
        if field.cpp_type == FieldDescriptor.CPPTYPE_INT32:
            kind = _INTEGER
        elif choices:
            kind = _CHOICE
        elif rules.format:
            kind = _INSTANT
        else:
            kind = _MODEL
        found.append(_Rule(field.name, kind, rules, choices))
    return tuple(sorted(found, key=lambda r: (r.kind, r.name != "end_time")))


def window_length(name: str) -> timedelta:
    """The length of a named window: "24h" is 24 hours, "7d" 7 days."""
    match = _WINDOW.match(name)
    if match is None:
        raise ValueError(f"not a window name: {name!r}")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def window_range(name: str, end: datetime, calendar: MarketCalendar = ALWAYS) -> TimeRange:
    """The window ``name`` ending at ``end`` on the trading-day clock of ``calendar``
    (docs/DEFINITIONS.md#the-trading-day-clock); with `always`, (end - length, end]."""
    return TimeRange(calendar.trading_window_start(end, window_length(name)), end, name)


def integer_default(request: Descriptor, field: str) -> int:
    """The declared default of the integer field ``field`` of ``request``."""
    [rule] = [r for r in _rules(request) if r.name == field]
    return int(rule.rules.default)


class Params:
    """Reads and validates the declared parameters of one request.

    ``now`` is the default ``end_time``; it is taken once per request so every default agrees.
    An instant whose default is computed other than "now" (start_time) reads as None.
    Windows run on the trading-day clock of ``calendar``, the market's.
    """

    def __init__(
        self, request: Message, now: datetime | None = None, calendar: MarketCalendar = ALWAYS
    ) -> None:
        self.now = now or datetime.now(UTC)
        self.calendar = calendar
        self._violations: list[FieldViolation] = []
        self._values: dict[str, object] = {}
        for rule in _rules(request.DESCRIPTOR):
            self._values[rule.name] = self._read(request, rule)

    def reject(self, field: str, description: str) -> None:
        """Record a violation (also for rules that involve more than one parameter)."""
        self._violations.append(FieldViolation(field, description))

    def rejected(self, field: str) -> bool:
        """Whether ``field`` has a violation already."""
        return any(v.field == field for v in self._violations)

    def check(self) -> None:
        """Raise InvalidArgument if any parameter was invalid."""
        if self._violations:
            raise InvalidArgument(self._violations)

    def text(self, field: str) -> str:
        value = self._values[field]
        assert isinstance(value, str)
        return value

    def integer(self, field: str) -> int:
        value = self._values[field]
        assert isinstance(value, int)
        return value

    def instant(self, field: str = "end_time") -> datetime | None:
        value = self._values[field]
        assert value is None or isinstance(value, datetime)
        return value

    @property
    def end(self) -> datetime:
        """``end_time``, or now."""
        return self.instant("end_time") or self.now

    def window(self, field: str = "window") -> TimeRange:
        """The named window of ``field``, ending at ``end_time``."""
        return window_range(self.text(field), self.end, self.calendar)

    def _read(self, request: Message, rule: _Rule) -> object:
        if rule.kind == _INTEGER:
            return self._integer(request, rule)
        value: str = getattr(request, rule.name)
        if rule.kind == _CHOICE:
            return self._choice(value, rule)
        if rule.kind == _INSTANT:
            default = self.now if rule.rules.default_text == "now" else None
            return self._time(rule.name, value, default)
        return self._model_id(value, rule)

    def _model_id(self, value: str, rule: _Rule) -> str:
        """A required model id of 1..max_len printable characters."""
        field, limit = rule.name, rule.rules.max_len
        if not value.strip():
            self.reject(field, "is required (a model id such as 'ppo_lstm_v3.2')")
        elif limit and len(value) > limit:
            self.reject(field, f"must be at most {limit} characters (got {len(value)})")
        elif not value.isprintable():
            self.reject(field, f"must not contain control characters (got {quoted(value)})")
        return value

    def _time(self, field: str, value: str, default: datetime | None) -> datetime | None:
        """An optional RFC 3339 instant with an offset, converted to UTC."""
        if not value:
            return default
        if not _RFC3339.match(value):
            self.reject(
                field,
                "must be an RFC 3339 date-time with offset, e.g. 2026-01-31T14:00:00Z"
                f" (got {quoted(value)})",
            )
            return default
        try:
            # fromisoformat keeps microseconds, PostgreSQL's resolution; extra digits are dropped.
            parsed = datetime.fromisoformat(value.upper().replace(" ", "T")).astimezone(UTC)
        except (ValueError, OverflowError):
            self.reject(field, f"is not a valid date-time (got {quoted(value)})")
            return default
        if not EARLIEST <= parsed <= LATEST:
            self.reject(
                field,
                f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (got {quoted(value)})",
            )
            return default
        return parsed

    def _choice(self, value: str, rule: _Rule) -> str:
        """One of the declared values; the declared default when empty."""
        name = value or rule.rules.default
        if name not in rule.choices:
            accepted = ", ".join(rule.choices)
            self.reject(rule.name, f"must be one of {accepted} (got {quoted(value)})")
            return rule.rules.default
        return name

    def _integer(self, request: Message, rule: _Rule) -> int:
        """An optional integer within the declared bounds; the declared default when unset."""
        default = int(rule.rules.default)
        if not request.HasField(rule.name):
            return default
        value: int = getattr(request, rule.name)
        low = rule.rules.gte if rule.rules.HasField("gte") else -(2**31)
        high = rule.rules.lte if rule.rules.HasField("lte") else 2**31 - 1
        if not low <= value <= high:
            self.reject(rule.name, f"must be between {low} and {high} (got {value})")
            return default
        return value


def checked(
    request: Message, now: datetime | None = None, calendar: MarketCalendar = ALWAYS
) -> Params:
    """The parameters of ``request``, every one valid (else InvalidArgument naming each)."""
    params = Params(request, now, calendar)
    params.check()
    return params


def quoted(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, shortened: messages must stay small."""
    return repr(value if len(value) <= limit else value[:limit] + "...")
