"""Market time: when the market is open, and how much open time lies between two instants.

A *session* is the interval ``[open_time, close_time)`` of local wall-clock time, in the session's
time zone, on every trading day: a day whose weekday is a trading weekday and that is not a public
holiday of the session's country (``holidays.country_holidays(country)``, computed per year, so any
year works). The default is the USD/COP spot session: America/Bogota, 08:00-13:00 (the last
5-minute bar starts at 12:55), Monday to Friday, no trading on Colombian public holidays.

*Market time* counts only the time inside sessions. With the session's length
:math:`L = \\text{close} - \\text{open}` and, for an instant :math:`t` at local date
:math:`d(t)` and local time of day :math:`\\tau(t)`,

.. math::

    F(t) = L \\cdot \\#\\{\\text{trading days before } d(t)\\}
           + [d(t) \\text{ trading}] \\cdot \\min(\\max(\\tau(t) - \\text{open}, 0), L)

and ``market_minutes(a, b) = max(F(b) - F(a), 0)``: the length of the overlap of ``(a, b]`` with
the sessions. Sessions are measured on the local wall clock, which is exact unless a daylight-saving
change falls inside a session (the changes happen at night; Bogota has none).

The ``always`` calendar is a market that never closes: market time is calendar time.

Instants are timezone-aware `datetime` objects or ``datetime64`` values in UTC (the convention of
this package); the scalar functions return aware `datetime` objects in UTC.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal, TypeAlias, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "ALWAYS",
    "MONDAY_TO_FRIDAY",
    "WEEKDAY_NAMES",
    "Instant",
    "MarketCalendar",
    "TradingSession",
    "format_weekdays",
    "holiday_countries",
    "parse_weekdays",
]

WEEKDAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
"""Weekday abbreviations, indexed like `datetime.date.weekday` (Monday = 0)."""
MONDAY_TO_FRIDAY: Final = frozenset(range(5))

#: How far the search for the previous or next trading day may go: beyond it, the holidays leave
#: no trading day (with at least one trading weekday a real holiday list never gets there).
_SEARCH_DAYS: Final = 400
#: market_window_start reaches back at most this many calendar days.
_MAX_LOOKBACK_DAYS: Final = 36_600
_US_PER_MINUTE: Final = 60_000_000
_US_PER_DAY: Final = 86_400_000_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_DAY: Final = np.timedelta64(1, "D")

Instant: TypeAlias = datetime | np.datetime64
"""A moment: a timezone-aware `datetime`, or a ``datetime64`` in UTC."""


# --- weekdays ----------------------------------------------------------------------------------


def parse_weekdays(text: str) -> frozenset[int]:
    """The trading weekdays of a text such as ``"Mon-Fri"``, ``"Mon,Wed,Fri"`` or ``"Sun-Thu"``.

    Comma-separated items, each a weekday abbreviation (``Mon`` .. ``Sun``, any case) or a range
    ``A-B`` (which wraps past Sunday: ``Fri-Mon`` is Friday to Monday). Returns weekday numbers,
    Monday = 0.

    >>> sorted(parse_weekdays("Mon-Wed, fri"))
    [0, 1, 2, 4]
    """
    index = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)}
    days: set[int] = set()
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise ValueError(f"weekdays must name at least one day, got {text!r}")
    for item in items:
        ends = [end.strip().lower() for end in item.split("-")]
        if len(ends) > 2 or any(end not in index for end in ends):
            raise ValueError(
                f"weekdays must be day names (Mon..Sun) or ranges such as Mon-Fri, got {item!r}"
            )
        first, last = index[ends[0]], index[ends[-1]]
        days.update((first + k) % 7 for k in range((last - first) % 7 + 1))
    return frozenset(days)


def format_weekdays(days: Iterable[int]) -> str:
    """``"Mon-Fri"``, ``"Mon,Wed,Fri"``, ``"Mon-Wed,Fri"``: the inverse of `parse_weekdays`.

    >>> format_weekdays({0, 1, 2, 4})
    'Mon-Wed,Fri'
    """
    chosen = sorted(set(days))
    runs: list[list[int]] = []
    for day in chosen:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        WEEKDAY_NAMES[run[0]]
        if len(run) == 1
        else f"{WEEKDAY_NAMES[run[0]]}-{WEEKDAY_NAMES[run[-1]]}"
        for run in runs
    )


@functools.cache
def holiday_countries() -> frozenset[str]:
    """The country codes ``holidays.country_holidays`` knows (``"CO"``, ``"US"``, ...)."""
    import holidays  # noqa: PLC0415 (about 50 ms: only for calendars with holidays)

    return frozenset(holidays.list_supported_countries())


# --- the session -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TradingSession:
    """One session a trading day, in local wall-clock time.

    Attributes
    ----------
    timezone : str
        IANA time zone of the exchange (``zoneinfo`` key).
    open_time, close_time : datetime.time
        The session is ``[open_time, close_time)`` on each trading day; open before close.
    weekdays : frozenset of int
        Trading weekdays, Monday = 0; at least one.
    holidays : str or None
        Country code of ``holidays.country_holidays`` whose public holidays are closed; None for
        no holidays.
    """

    timezone: str = "America/Bogota"
    open_time: time = time(8, 0)
    close_time: time = time(13, 0)
    weekdays: frozenset[int] = MONDAY_TO_FRIDAY
    holidays: str | None = "CO"

    def __post_init__(self) -> None:
        _zone(self.timezone)
        for name in ("open_time", "close_time"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a datetime.time without tzinfo, got {value!r}")
        if self.open_time >= self.close_time:
            raise ValueError(
                f"open_time must be before close_time, got {self.open_time:%H:%M}"
                f"-{self.close_time:%H:%M}"
            )
        weekdays = frozenset(self.weekdays)
        if not weekdays or not weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be a non-empty set of 0..6, got {sorted(weekdays)}")
        object.__setattr__(self, "weekdays", weekdays)
        if self.holidays is not None and self.holidays not in holiday_countries():
            raise ValueError(
                "holidays must be a country code of the holidays package (such as 'CO') or "
                f"None, got {self.holidays!r}"
            )

    def describe(self) -> str:
        """``"America/Bogota Mon-Fri 08:00-13:00 +CO holidays"``."""
        label = (
            f"{self.timezone} {format_weekdays(self.weekdays)} "
            f"{self.open_time:%H:%M}-{self.close_time:%H:%M}"
        )
        return f"{label} +{self.holidays} holidays" if self.holidays else label

    @property
    def _open_us(self) -> int:
        return _time_us(self.open_time)

    @property
    def _length_us(self) -> int:
        return _time_us(self.close_time) - _time_us(self.open_time)

    def _busdays(self, first: np.datetime64, last: np.datetime64) -> np.busdaycalendar:
        """Trading days, with the holidays of every year from ``first`` to ``last`` (dates)."""
        weekmask = tuple(day in self.weekdays for day in range(7))
        return _busday_calendar(weekmask, self.holidays, _year(first), _year(last))


# --- the calendar ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketCalendar:
    """When the market is open: a trading session, or always (``session=None``).

    ``MarketCalendar()`` is the USD/COP spot session; ``MarketCalendar.always()`` (also `ALWAYS`)
    a market that never closes.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> usdcop = MarketCalendar()
    >>> usdcop.describe()
    'America/Bogota Mon-Fri 08:00-13:00 +CO holidays'
    >>> sunday = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)
    >>> usdcop.is_open(sunday)
    False
    >>> usdcop.market_window_start(sunday, 1440).isoformat()
    '2026-11-23T14:00:00+00:00'
    >>> friday = datetime(2026, 11, 27, 16, 0, tzinfo=timezone.utc)  # 11:00 in Bogota
    >>> usdcop.market_minutes(friday, sunday)
    120.0
    """

    session: TradingSession | None = field(default_factory=TradingSession)

    @classmethod
    def always(cls) -> MarketCalendar:
        """The calendar of a market that never closes."""
        return cls(session=None)

    @property
    def is_always(self) -> bool:
        return self.session is None

    def describe(self) -> str:
        """``"America/Bogota Mon-Fri 08:00-13:00 +CO holidays"``, or ``"always"``."""
        return "always" if self.session is None else self.session.describe()

    @overload
    def is_open(self, t: Instant) -> bool: ...
    @overload
    def is_open(self, t: NDArray[np.datetime64]) -> NDArray[np.bool_]: ...
    def is_open(self, t: Instant | NDArray[np.datetime64]) -> bool | NDArray[np.bool_]:
        """Whether ``t`` lies inside a session (elementwise for an array)."""
        utc, scalar = _as_utc(t, "t")
        if self.session is None:
            result = np.ones(utc.shape, dtype=bool)
        else:
            local = _Local.of(self.session, utc)
            in_hours = (local.time_us >= self.session._open_us) & (
                local.time_us < _time_us(self.session.close_time)
            )
            result = local.trading & in_hours
        return bool(result.reshape(-1)[0]) if scalar else result

    def last_close(self, t: Instant) -> datetime | None:
        """The last session close at or before ``t`` (None for `always`)."""
        session = self.session
        if session is None:
            return None
        day, time_us, trading = _moment(session, t, "t")
        if trading and time_us >= _time_us(session.close_time):
            return _to_utc(session, day, session.close_time)
        previous = _trading_day(session, day - _ONE_DAY, "backward")
        return _to_utc(session, previous, session.close_time)

    def next_open(self, t: Instant) -> datetime | None:
        """The next session open after ``t`` (None for `always`)."""
        session = self.session
        if session is None:
            return None
        day, time_us, trading = _moment(session, t, "t")
        if trading and time_us < session._open_us:
            return _to_utc(session, day, session.open_time)
        following = _trading_day(session, day + _ONE_DAY, "forward")
        return _to_utc(session, following, session.open_time)

    @overload
    def market_minutes(self, start: Instant, end: Instant) -> float: ...
    @overload
    def market_minutes(
        self, start: NDArray[np.datetime64], end: Instant | NDArray[np.datetime64]
    ) -> NDArray[np.float64]: ...
    @overload
    def market_minutes(
        self, start: Instant | NDArray[np.datetime64], end: NDArray[np.datetime64]
    ) -> NDArray[np.float64]: ...
    def market_minutes(
        self, start: Instant | NDArray[np.datetime64], end: Instant | NDArray[np.datetime64]
    ) -> float | NDArray[np.float64]:
        """Minutes of ``(start, end]`` inside sessions: ``max(F(end) - F(start), 0)`` / 60 s.

        Arrays broadcast against each other (a column of last-prediction times against one end
        time, say); 0 where ``end <= start``. With `always`, the calendar minutes.
        """
        return _minutes_between(self.session, start, end, _session_span)

    def market_window_start(self, end: Instant, minutes: float) -> datetime:
        """The latest instant ``s <= end`` with ``market_minutes(s, end) == minutes``.

        The window ``(s, end]`` holds ``minutes`` of market time. With `always`,
        ``end - minutes``. Inside sessions ``s`` is unique; when it would fall in a closed period,
        the latest choice is the open of the session after it.
        """
        wanted = round(_check_minutes(minutes) * _US_PER_MINUTE)
        return _window_start(self.session, end, wanted, _session_span, what="minutes")

    # --- the trading-day clock ---------------------------------------------------------------

    def trading_window_start(self, end: Instant, length: timedelta) -> datetime:
        """Where a window of ``length`` on the trading-day clock that ends at ``end`` starts.

        The trading-day clock runs through all 24 hours (of the local wall clock) of every
        trading day and stops on the days without a session (weekends, holidays: whole local
        days). The result is the latest ``s <= end`` with ``trading_minutes(s, end)`` equal to
        ``length``: ``24h`` is one trading day, ``7d`` seven. With `always`, ``end - length``.
        When the start falls on a day boundary it is the midnight that begins a trading day.

        >>> from datetime import datetime, timedelta, timezone
        >>> sunday = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)
        >>> MarketCalendar().trading_window_start(sunday, timedelta(hours=24)).isoformat()
        '2026-11-27T05:00:00+00:00'
        """
        wanted = _window_length_us(length)
        return _window_start(self.session, end, wanted, _whole_day_span, what="length")

    def trading_window_starts(
        self, ends: NDArray[np.datetime64], length: timedelta
    ) -> NDArray[np.datetime64]:
        """`trading_window_start` of every instant of ``ends`` (naive UTC ``datetime64``) at
        once, as naive UTC ``datetime64[us]``: the windows of a metric series, whose starts one
        by one would cost a wall-clock conversion each.

        >>> from datetime import datetime, timedelta
        >>> sunday = np.array(["2026-11-29T15:00"], dtype="datetime64[us]")
        >>> MarketCalendar().trading_window_starts(sunday, timedelta(hours=24))
        array(['2026-11-27T05:00:00.000000'], dtype='datetime64[us]')
        """
        wanted = _window_length_us(length)
        utc = np.asarray(ends).astype("datetime64[us]").reshape(-1)
        session = self.session
        if session is None or wanted == 0 or not utc.size:
            return (utc.astype(np.int64) - wanted).astype("datetime64[us]")
        local = _Local.of(session, utc)
        today = np.where(local.trading, np.clip(local.time_us, 0, _US_PER_DAY), 0)
        remaining = wanted - today
        spans_back = -(-remaining // _US_PER_DAY)
        reach_days = int(spans_back.max()) * 7 // len(session.weekdays) + 7
        if reach_days > _MAX_LOOKBACK_DAYS:
            raise ValueError("length reaches back more than a century of sessions")
        first = local.days.min() - np.timedelta64(2 * reach_days + 366, "D")
        busdays = session._busdays(first, local.days.max())
        within = remaining <= 0
        start_day = np.where(
            within,
            local.days,
            np.busday_offset(
                local.days - _ONE_DAY,
                -np.maximum(spans_back - 1, 0),
                roll="backward",
                busdaycal=busdays,
            ),
        )
        if (start_day < first).any():
            raise ValueError(
                f"the holidays of {session.holidays} leave too few trading days for that length"
            )
        into = np.where(within, today - wanted, spans_back * _US_PER_DAY - remaining)
        starts = [
            _to_utc_us(session, day, int(us)) for day, us in zip(start_day, into, strict=True)
        ]
        return np.array([s.replace(tzinfo=None) for s in starts], dtype="datetime64[us]")

    @overload
    def trading_minutes(self, start: Instant, end: Instant) -> float: ...
    @overload
    def trading_minutes(
        self, start: NDArray[np.datetime64], end: Instant | NDArray[np.datetime64]
    ) -> NDArray[np.float64]: ...
    @overload
    def trading_minutes(
        self, start: Instant | NDArray[np.datetime64], end: NDArray[np.datetime64]
    ) -> NDArray[np.float64]: ...
    def trading_minutes(
        self, start: Instant | NDArray[np.datetime64], end: Instant | NDArray[np.datetime64]
    ) -> float | NDArray[np.float64]:
        """Minutes of ``(start, end]`` on the trading-day clock (the time of it that lies on
        trading days, local wall clock); 0 where ``end <= start``. With `always`, the calendar
        minutes. Arrays broadcast as in `market_minutes`."""
        return _minutes_between(self.session, start, end, _whole_day_span)


ALWAYS: Final = MarketCalendar.always()
"""A market that never closes: market time is calendar time."""


# --- internals ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Local:
    """UTC instants seen on the session's wall clock: local date, time of day, trading day."""

    days: NDArray[np.datetime64]
    time_us: NDArray[np.int64]
    trading: NDArray[np.bool_]
    busdays: np.busdaycalendar

    @classmethod
    def of(cls, session: TradingSession, utc: NDArray[np.datetime64]) -> _Local:
        wall = _wall_clock(_zone(session.timezone), utc)
        days = wall.astype("datetime64[D]")
        time_us = (wall - days).astype("timedelta64[us]").astype(np.int64)
        first, last = (days.min(), days.max()) if days.size else (np.datetime64(0, "D"),) * 2
        busdays = session._busdays(first, last)
        return cls(days, time_us, np.is_busday(days, busdaycal=busdays), busdays)


def _moment(session: TradingSession, t: Instant, name: str) -> tuple[np.datetime64, int, bool]:
    """One instant on the session's wall clock: (local date, time of day in us, trading day)."""
    local = _Local.of(session, _as_scalar(t, name))
    return (
        np.datetime64(local.days.reshape(-1)[0], "D"),
        int(local.time_us.reshape(-1)[0]),
        bool(local.trading.reshape(-1)[0]),
    )


#: The daily span of trading days a clock runs in, ``(open_us, length_us)`` from local midnight.
_DailySpan: TypeAlias = Callable[[TradingSession], tuple[int, int]]


def _session_span(session: TradingSession) -> tuple[int, int]:
    """Market time runs in the session, ``[open, close)``."""
    return session._open_us, session._length_us


def _whole_day_span(session: TradingSession) -> tuple[int, int]:
    """The trading-day clock runs through all 24 hours of a trading day."""
    return 0, _US_PER_DAY


def _minutes_between(
    session: TradingSession | None, start: Any, end: Any, span: _DailySpan
) -> float | NDArray[np.float64]:
    """``max(F(end) - F(start), 0)`` in minutes, ``F`` the clock of `span` (calendar time without a
    session); arrays broadcast, two scalars give a float."""
    a, a_scalar = _as_utc(start, "start")
    b, b_scalar = _as_utc(end, "end")
    a, b = np.broadcast_arrays(a, b)
    if session is None:
        elapsed = (b - a).astype(np.int64)
    else:
        both = _clock_us(session, np.concatenate([a.ravel(), b.ravel()]), *span(session))
        elapsed = (both[a.size :] - both[: a.size]).reshape(a.shape)
    minutes = np.maximum(elapsed, 0) / _US_PER_MINUTE
    return float(minutes.reshape(-1)[0]) if a_scalar and b_scalar else minutes


def _clock_us(
    session: TradingSession, utc: NDArray[np.datetime64], open_us: int, length_us: int
) -> NDArray[np.int64]:
    """F(t) for a daily span of ``length_us`` from ``open_us`` on every trading day (the session:
    F(t) of the module docstring), in microseconds from the earliest local date in ``utc``."""
    if not utc.size:
        return np.zeros(0, dtype=np.int64)
    local = _Local.of(session, utc)
    full = np.busday_count(local.days.min(), local.days, busdaycal=local.busdays).astype(np.int64)
    partial = np.where(local.trading, np.clip(local.time_us - open_us, 0, length_us), 0)
    return full * length_us + partial


def _window_start(
    session: TradingSession | None, end: Instant, wanted: int, span: _DailySpan, *, what: str
) -> datetime:
    """The latest ``s <= end`` whose span ``(s, end]`` holds ``wanted`` microseconds of the daily
    `span` of trading days (``end - wanted`` without a session)."""
    if session is None or wanted == 0:
        end_us = int(_as_scalar(end, "end").astype(np.int64))
        return _from_us(end_us - wanted)
    open_us, length_us = span(session)
    day, time_us, trading = _moment(session, end, "end")
    today = min(max(time_us - open_us, 0), length_us) if trading else 0
    if wanted <= today:
        return _to_utc_us(session, day, open_us + today - wanted)
    remaining = wanted - today
    spans_back = -(-remaining // length_us)  # ceil: the trading day the start falls in
    reach_days = spans_back * 7 // len(session.weekdays) + 7
    if reach_days > _MAX_LOOKBACK_DAYS:
        raise ValueError(f"{what} reaches back more than a century of sessions")
    # Holidays remove far fewer than half the trading days of any real country.
    first = day - np.timedelta64(2 * reach_days + 366, "D")
    start_day: np.datetime64 = np.busday_offset(
        day - _ONE_DAY,
        -(spans_back - 1),
        roll="backward",
        busdaycal=session._busdays(first, day),
    )
    if start_day < first:
        raise ValueError(
            f"the holidays of {session.holidays} leave too few trading days for that {what}"
        )
    into = spans_back * length_us - remaining  # from that day's span start
    return _to_utc_us(session, start_day, open_us + into)


def _trading_day(
    session: TradingSession, day: np.datetime64, roll: Literal["backward", "forward"]
) -> np.datetime64:
    """The trading day at or before (``backward``) or after (``forward``) ``day``."""
    span = np.timedelta64(_SEARCH_DAYS, "D")
    first, last = (day - span, day) if roll == "backward" else (day, day + span)
    busdays = session._busdays(first, last)
    found: np.datetime64 = np.busday_offset(day, 0, roll=roll, busdaycal=busdays)
    if not first <= found <= last:
        raise ValueError(
            f"no trading day within {_SEARCH_DAYS} days of {day}: the holidays of "
            f"{session.holidays} close every trading weekday"
        )
    return found


@functools.cache
def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: a directory
        raise ValueError(
            f"timezone must be an IANA time zone such as 'America/Bogota', got {key!r}"
        ) from None


@functools.lru_cache(maxsize=256)
def _holiday_dates(country: str, year: int) -> tuple[date, ...]:
    """The public holidays of ``country`` in ``year`` (the holidays package, one year at a time)."""
    import holidays  # noqa: PLC0415

    return tuple(sorted(holidays.country_holidays(country, years=year)))


@functools.lru_cache(maxsize=64)
def _busday_calendar(
    weekmask: tuple[bool, ...], country: str | None, first_year: int, last_year: int
) -> np.busdaycalendar:
    dates: list[date] = []
    if country is not None:
        for year in range(first_year, last_year + 1):
            dates.extend(_holiday_dates(country, year))
    return np.busdaycalendar(
        weekmask=list(weekmask), holidays=np.array(dates, dtype="datetime64[D]")
    )


def _wall_clock(zone: ZoneInfo, utc: NDArray[np.datetime64]) -> NDArray[np.datetime64]:
    """Local wall-clock times of UTC instants.

    One offset per UTC day in the input (zoneinfo is scalar), and per instant on the rare day
    whose offset changes.
    """
    flat = utc.reshape(-1)  # a 0-d input too: its offsets must be an array to assign into
    unique, inverse = np.unique(flat.astype("datetime64[D]"), return_inverse=True)
    day_us = unique.astype("datetime64[us]").astype(np.int64)
    at_start = np.array([_offset_us(zone, int(d)) for d in day_us], dtype=np.int64)
    at_end = np.array([_offset_us(zone, int(d) + _US_PER_DAY) for d in day_us], dtype=np.int64)
    offsets = at_start[inverse]
    changing = (at_start != at_end)[inverse]
    if changing.any():
        instants = flat[changing].astype(np.int64)
        offsets[changing] = [_offset_us(zone, int(u)) for u in instants]
    wall: NDArray[np.datetime64] = (flat + offsets.astype("timedelta64[us]")).reshape(utc.shape)
    return wall


def _offset_us(zone: ZoneInfo, instant_us: int) -> int:
    offset = (_EPOCH + timedelta(microseconds=instant_us)).astimezone(zone).utcoffset()
    assert offset is not None  # zoneinfo always has one
    return offset // timedelta(microseconds=1)


def _to_utc(session: TradingSession, day: np.datetime64, clock: time) -> datetime:
    return _to_utc_us(session, day, _time_us(clock))


def _to_utc_us(session: TradingSession, day: np.datetime64, time_us: int) -> datetime:
    """The UTC instant of local wall-clock ``day`` + ``time_us`` (the earlier one in a DST fold)."""
    midnight = datetime.combine(day.astype(date), time(), tzinfo=_zone(session.timezone))
    return (midnight + timedelta(microseconds=time_us)).astimezone(UTC)


def _from_us(instant_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=instant_us)


def _time_us(clock: time) -> int:
    return ((clock.hour * 60 + clock.minute) * 60 + clock.second) * 1_000_000 + clock.microsecond


def _year(day: np.datetime64) -> int:
    return int(day.astype("datetime64[Y]").astype(np.int64)) + 1970


def _window_length_us(length: timedelta) -> int:
    """A window length (a timedelta >= 0) in microseconds."""
    if not isinstance(length, timedelta) or length < timedelta(0):
        raise ValueError(f"length must be a timedelta >= 0, got {length!r}")
    return length // timedelta(microseconds=1)


def _check_minutes(minutes: float) -> float:
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        raise ValueError(f"minutes must be a number, got {minutes!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"minutes must be finite and >= 0, got {minutes!r}")
    return value


def _as_utc(value: Any, name: str) -> tuple[NDArray[np.datetime64], bool]:
    """``value`` as ``datetime64[us]`` UTC (a 0-d array for a scalar), and whether it was one."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (or a datetime64 in UTC), got {value}")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return np.array(np.datetime64(naive, "us")), True
    array = np.asarray(value)
    if array.dtype.kind != "M":
        raise ValueError(f"{name} must be a datetime or datetime64, got {type(value).__name__}")
    array = array.astype("datetime64[us]")
    if np.isnat(array).any():
        raise ValueError(f"{name} must not be NaT")
    return array, array.ndim == 0 and not isinstance(value, np.ndarray)


def _as_scalar(value: Any, name: str) -> NDArray[np.datetime64]:
    utc, scalar = _as_utc(value, name)
    if not scalar:
        raise ValueError(f"{name} must be a single instant, got an array")
    return utc
