"""Market time (analytics.calendar) against hand-computed cases and a brute-force reference.

Dates used below, checked against a printed calendar and ``holidays.country_holidays("CO")``:
2026-01-09 Fri, 2026-01-12 Mon (Epiphany, moved to Monday: a holiday), 2026-01-13 Tue;
2026-11-23 Mon .. 2026-11-27 Fri, 2026-11-29 Sun, 2026-11-30 Mon (no holiday that week);
2026-12-07 Mon, 2026-12-08 Tue (Immaculate Conception: a holiday), 2026-12-09 Wed;
2026-01-01 Thu (New Year: a holiday), 2025-12-31 Wed.
Bogota is UTC-5 all year (no daylight saving): the session 08:00-13:00 is 13:00-18:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from analytics import MarketCalendar, TradingSession, parse_weekdays
from analytics import calendar as calendar_module
from analytics.calendar import ALWAYS, MONDAY_TO_FRIDAY, format_weekdays

USDCOP = MarketCalendar()
NEW_YORK = MarketCalendar(
    TradingSession("America/New_York", time(9, 30), time(16, 0), MONDAY_TO_FRIDAY, "US")
)
#: Float minutes from integer microseconds: sums and differences agree to rounding only.
TOLERANCE = 1e-9


def utc(text: str) -> datetime:
    """An aware UTC datetime from ``YYYY-MM-DDTHH:MM[:SS]`` (read as UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def bogota(text: str) -> datetime:
    """An aware datetime on the Bogota wall clock."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/Bogota"))


# --- an independent reference: sessions as UTC intervals, one day at a time ----------------------


def sessions_between(
    session: TradingSession, a: datetime, b: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The UTC (open, close) of every session on a local date from a's to b's, by brute force."""
    zone = ZoneInfo(session.timezone)
    closed = holidays.country_holidays(session.holidays) if session.holidays else {}
    day = a.astimezone(zone).date() - timedelta(days=1)
    while day <= b.astimezone(zone).date() + timedelta(days=1):
        if day.weekday() in session.weekdays and day not in closed:
            yield (
                datetime.combine(day, session.open_time, zone).astimezone(UTC),
                datetime.combine(day, session.close_time, zone).astimezone(UTC),
            )
        day += timedelta(days=1)


def reference_minutes(calendar: MarketCalendar, a: datetime, b: datetime) -> float:
    """Length of the overlap of (a, b] with the sessions, interval by interval."""
    if calendar.session is None:
        return max((b - a).total_seconds(), 0) / 60
    overlap = timedelta()
    for opens, closes in sessions_between(calendar.session, a, b):
        overlap += max(min(b, closes) - max(a, opens), timedelta())
    return overlap.total_seconds() / 60


def as_utc(moment: np.datetime64) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + timedelta(microseconds=int(moment.astype("datetime64[us]").astype(np.int64)))


#: Instants between 2025-06 and 2027-06, to the microsecond.
LOW_US = int(np.datetime64("2025-06-01", "us").astype(np.int64))
HIGH_US = int(np.datetime64("2027-06-01", "us").astype(np.int64))
instants = st.integers(LOW_US, HIGH_US).map(lambda us: np.datetime64(us, "us"))
#: A span of up to 12 days, so the brute-force reference stays cheap.
spans = st.integers(0, 12 * 86_400_000_000).map(lambda us: np.timedelta64(us, "us"))
calendars = st.sampled_from([USDCOP, NEW_YORK, ALWAYS])


class TestTradingSession:
    def test_defaults_are_the_usdcop_session(self) -> None:
        session = TradingSession()
        assert session.timezone == "America/Bogota"
        assert (session.open_time, session.close_time) == (time(8), time(13))
        assert session.weekdays == frozenset({0, 1, 2, 3, 4})
        assert session.holidays == "CO"

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"timezone": "Mars/Olympus"}, "timezone must be an IANA time zone"),
            ({"timezone": "../etc/passwd"}, "timezone must be an IANA time zone"),
            ({"open_time": time(13), "close_time": time(8)}, "open_time must be before close_time"),
            ({"open_time": time(8), "close_time": time(8)}, "open_time must be before close_time"),
            ({"weekdays": frozenset()}, "weekdays must be a non-empty set of 0..6"),
            ({"weekdays": frozenset({7})}, "weekdays must be a non-empty set of 0..6"),
            ({"holidays": "XX"}, "holidays must be a country code"),
            ({"open_time": "08:00"}, "open_time must be a datetime.time"),
        ],
    )
    def test_bad_arguments_name_themselves(self, kwargs: dict[str, object], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            TradingSession(**kwargs)  # type: ignore[arg-type]

    def test_weekdays_are_frozen(self) -> None:
        session = TradingSession(weekdays={0, 2})  # type: ignore[arg-type]
        assert session.weekdays == frozenset({0, 2})
        assert hash(MarketCalendar(session))  # usable as a key


class TestDescribe:
    def test_labels(self) -> None:
        assert USDCOP.describe() == "America/Bogota Mon-Fri 08:00-13:00 +CO holidays"
        assert ALWAYS.describe() == "always"
        assert MarketCalendar.always() == ALWAYS
        london = TradingSession("Europe/London", time(9, 30), time(16), frozenset({0, 2, 4}), None)
        assert MarketCalendar(london).describe() == "Europe/London Mon,Wed,Fri 09:30-16:00"


class TestWeekdays:
    @pytest.mark.parametrize(
        ("text", "days"),
        [
            ("Mon-Fri", {0, 1, 2, 3, 4}),
            ("mon, TUE,wed", {0, 1, 2}),
            ("Mon-Wed,Fri", {0, 1, 2, 4}),
            ("Sun-Thu", {6, 0, 1, 2, 3}),  # wraps past Sunday
            ("Sat", {5}),
        ],
    )
    def test_parse(self, text: str, days: set[int]) -> None:
        assert parse_weekdays(text) == frozenset(days)

    @pytest.mark.parametrize("text", ["", " , ", "Funday", "Mon-Tue-Wed", "Monday"])
    def test_bad_text(self, text: str) -> None:
        with pytest.raises(ValueError, match="weekdays must"):
            parse_weekdays(text)

    @given(st.sets(st.integers(0, 6), min_size=1))
    def test_format_is_the_inverse_of_parse(self, days: set[int]) -> None:
        assert parse_weekdays(format_weekdays(days)) == frozenset(days)


class TestIsOpen:
    @pytest.mark.parametrize(
        ("moment", "expected"),
        [
            ("2026-11-25T12:59:59", False),  # Wednesday 07:59:59 in Bogota
            ("2026-11-25T13:00:00", True),  # 08:00: the open belongs to the session
            ("2026-11-25T15:00:00", True),  # 10:00
            ("2026-11-25T17:55:00", True),  # 12:55: the last 5-minute bar
            ("2026-11-25T17:59:59.999999", True),
            ("2026-11-25T18:00:00", False),  # 13:00: the close does not
            ("2026-11-25T04:00:00", False),  # 23:00 on Tuesday
            ("2026-11-28T15:00:00", False),  # Saturday
            ("2026-11-29T15:00:00", False),  # Sunday
            ("2026-12-08T15:00:00", False),  # Tuesday, Immaculate Conception
            ("2026-12-09T15:00:00", True),  # the Wednesday after
            ("2026-01-12T15:00:00", False),  # Monday, Epiphany moved to Monday
            ("2026-01-01T15:00:00", False),  # Thursday, New Year
        ],
    )
    def test_usdcop_against_a_utc_clock(self, moment: str, expected: bool) -> None:
        assert USDCOP.is_open(utc(moment)) is expected
        assert USDCOP.is_open(np.datetime64(moment, "us")) is expected

    @pytest.mark.parametrize("day", ["2026-01-15", "2026-04-15", "2026-07-15", "2026-10-15"])
    def test_bogota_has_no_daylight_saving(self, day: str) -> None:
        # 13:00 UTC is 08:00 in Bogota in every season (New York's would move by an hour).
        assert USDCOP.is_open(utc(f"{day}T13:00"))
        assert not USDCOP.is_open(utc(f"{day}T12:59:59"))
        assert USDCOP.is_open(bogota(f"{day}T08:00"))
        assert not USDCOP.is_open(bogota(f"{day}T13:00"))

    def test_new_york_follows_daylight_saving(self) -> None:
        # Friday 2026-03-06 is on EST (UTC-5), Monday 2026-03-09 on EDT (UTC-4).
        assert NEW_YORK.is_open(utc("2026-03-06T14:30"))
        assert not NEW_YORK.is_open(utc("2026-03-06T13:30"))
        assert NEW_YORK.is_open(utc("2026-03-09T13:30"))
        assert not NEW_YORK.is_open(utc("2026-03-09T20:00"))

    def test_always(self) -> None:
        assert ALWAYS.is_open(utc("2026-11-29T03:00"))

    def test_an_array_is_elementwise(self) -> None:
        moments = np.array(
            ["2026-11-25T13:00", "2026-11-25T18:00", "2026-12-08T15:00", "2026-12-09T15:00"],
            dtype="datetime64[us]",
        )
        assert_array_equal(USDCOP.is_open(moments), [True, False, False, True])
        assert_array_equal(ALWAYS.is_open(moments), [True] * 4)
        assert USDCOP.is_open(moments[:0]).shape == (0,)


class TestLastCloseAndNextOpen:
    @pytest.mark.parametrize(
        ("moment", "last_close", "next_open"),
        [
            # Sunday: Friday's close, Monday's open.
            ("2026-11-29T15:00", "2026-11-27T18:00", "2026-11-30T13:00"),
            # Inside Wednesday's session: Tuesday's close, Thursday's open.
            ("2026-11-25T15:00", "2026-11-24T18:00", "2026-11-26T13:00"),
            # At the close itself (at or before), at the open itself (strictly after).
            ("2026-11-25T18:00", "2026-11-25T18:00", "2026-11-26T13:00"),
            ("2026-11-25T13:00", "2026-11-24T18:00", "2026-11-26T13:00"),
            # Early Wednesday morning, before the open.
            ("2026-11-25T12:00", "2026-11-24T18:00", "2026-11-25T13:00"),
            # Monday holiday: Friday's close, Tuesday's open.
            ("2026-01-12T15:00", "2026-01-09T18:00", "2026-01-13T13:00"),
            # After Monday's close, before a Tuesday holiday: Wednesday opens next.
            ("2026-12-07T19:00", "2026-12-07T18:00", "2026-12-09T13:00"),
            # Across the year: New Year's Day (Thursday) is closed.
            ("2025-12-31T20:00", "2025-12-31T18:00", "2026-01-02T13:00"),
        ],
    )
    def test_usdcop(self, moment: str, last_close: str, next_open: str) -> None:
        assert USDCOP.last_close(utc(moment)) == utc(last_close)
        assert USDCOP.next_open(utc(moment)) == utc(next_open)
        assert USDCOP.last_close(np.datetime64(moment)) == utc(last_close)

    def test_results_are_aware_utc(self) -> None:
        close = USDCOP.last_close(utc("2026-11-29T15:00"))
        assert close is not None
        assert close.utcoffset() == timedelta(0)

    def test_always_has_neither(self) -> None:
        assert ALWAYS.last_close(utc("2026-11-29T15:00")) is None
        assert ALWAYS.next_open(utc("2026-11-29T15:00")) is None

    def test_any_year(self) -> None:
        # Holidays are computed per year: 2040-01-01 is a Sunday, 2040-01-02 a Monday.
        assert USDCOP.next_open(utc("2039-12-30T20:00")) == utc("2040-01-02T13:00")

    def test_a_holiday_list_that_closes_every_day_is_refused_not_looped(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def every_day(country: str, year: int) -> tuple[date, ...]:
            first = date(year, 1, 1)
            return tuple(first + timedelta(days=k) for k in range(366 if year % 4 == 0 else 365))

        calendar_module._busday_calendar.cache_clear()
        monkeypatch.setattr(calendar_module, "_holiday_dates", every_day)
        try:
            with pytest.raises(ValueError, match="no trading day within 400 days"):
                USDCOP.next_open(utc("2026-11-25T15:00"))
            with pytest.raises(ValueError, match="no trading day within 400 days"):
                USDCOP.last_close(utc("2026-11-25T15:00"))
            with pytest.raises(ValueError, match="leave too few trading days"):
                USDCOP.market_window_start(utc("2026-11-25T15:00"), 1440)
        finally:
            calendar_module._busday_calendar.cache_clear()


class TestMarketMinutes:
    @pytest.mark.parametrize(
        ("start", "end", "minutes"),
        [
            # Last prediction Friday 11:00 Bogota; Sunday: 11:00 to Friday's 13:00 close.
            ("2026-11-27T16:00", "2026-11-29T15:00", 120.0),
            # Friday 12:55 to Monday 08:20: 5 before Friday's close, 20 after Monday's open.
            ("2026-11-27T17:55", "2026-11-30T13:20", 25.0),
            # A model active until the close (12:55:02): 4 min 58 s on Sunday.
            ("2026-11-27T17:55:02", "2026-11-29T15:00", 4 + 58 / 60),
            # Over the Epiphany weekend: Friday 12:55 to Tuesday 08:20; to the holiday itself.
            ("2026-01-09T17:55", "2026-01-13T13:20", 25.0),
            ("2026-01-09T17:55", "2026-01-12T20:00", 5.0),
            # Monday 12:00 to Wednesday 09:00 over the Tuesday holiday: 60 + 60.
            ("2026-12-07T17:00", "2026-12-09T14:00", 120.0),
            # A whole week: five sessions of 300 minutes; with the Tuesday holiday, four.
            ("2026-11-23T05:00", "2026-11-30T05:00", 1500.0),
            ("2026-12-07T05:00", "2026-12-14T05:00", 1200.0),
            # Inside one session; before the open; an interval wholly outside.
            ("2026-11-25T14:00", "2026-11-25T15:30", 90.0),
            ("2026-11-25T10:00", "2026-11-25T13:10", 10.0),
            ("2026-11-25T18:00", "2026-11-26T12:00", 0.0),
            # end <= start: an empty interval.
            ("2026-11-25T15:00", "2026-11-25T14:00", 0.0),
        ],
    )
    def test_usdcop_by_hand(self, start: str, end: str, minutes: float) -> None:
        got = USDCOP.market_minutes(utc(start), utc(end))
        # Integer microseconds divided once: exact for these whole and 2-second values to 1e-12.
        assert got == pytest.approx(minutes, abs=1e-12)

    def test_new_york_across_the_daylight_saving_change(self) -> None:
        # Friday 15:00 EST (20:00Z) to Monday 10:30 EDT (14:30Z): 60 + 60 minutes.
        assert NEW_YORK.market_minutes(utc("2026-03-06T20:00"), utc("2026-03-09T14:30")) == 120.0

    def test_always_is_calendar_minutes(self) -> None:
        a, b = utc("2026-11-27T17:55"), utc("2026-11-30T13:20")
        assert ALWAYS.market_minutes(a, b) == (b - a).total_seconds() / 60
        assert ALWAYS.market_minutes(b, a) == 0.0

    def test_a_column_against_one_end(self) -> None:
        last = np.array(
            ["2026-11-27T17:55", "2026-11-27T16:00", "2026-11-20T16:00"], dtype="datetime64[us]"
        )
        got = USDCOP.market_minutes(last, np.datetime64("2026-11-30T13:20"))
        # Friday 12:55: 25; Friday 11:00: 140; the Friday before: 120 + 5 x 300 + 20.
        assert_array_equal(got, [25.0, 140.0, 1640.0])
        assert USDCOP.market_minutes(last[:0], utc("2026-11-30T13:20")).shape == (0,)

    @settings(max_examples=120, deadline=None)
    @given(calendars, instants, spans)
    def test_against_the_brute_force_reference(
        self, calendar: MarketCalendar, start: np.datetime64, span: np.timedelta64
    ) -> None:
        a, b = as_utc(start), as_utc(start + span)
        assert calendar.market_minutes(a, b) == pytest.approx(
            reference_minutes(calendar, a, b), abs=TOLERANCE
        )

    @settings(max_examples=80, deadline=None)
    @given(calendars, st.lists(instants, min_size=1, max_size=20), instants)
    def test_vectorised_equals_scalar(
        self, calendar: MarketCalendar, starts: list[np.datetime64], end: np.datetime64
    ) -> None:
        column = np.array(starts, dtype="datetime64[us]")
        expected = [calendar.market_minutes(s, end) for s in starts]
        assert_array_equal(calendar.market_minutes(column, end), expected)
        assert_array_equal(calendar.is_open(column), [calendar.is_open(s) for s in starts])

    @settings(max_examples=120, deadline=None)
    @given(calendars, instants, spans, spans)
    def test_additive(
        self, calendar: MarketCalendar, a: np.datetime64, ab: np.timedelta64, bc: np.timedelta64
    ) -> None:
        b, c = a + ab, a + ab + bc
        parts = calendar.market_minutes(a, b) + calendar.market_minutes(b, c)
        assert parts == pytest.approx(calendar.market_minutes(a, c), abs=TOLERANCE)

    def test_naive_or_missing_instants_are_refused(self) -> None:
        with pytest.raises(ValueError, match="start must be timezone-aware"):
            USDCOP.market_minutes(datetime(2026, 11, 25, 15), utc("2026-11-26T15:00"))
        with pytest.raises(ValueError, match="end must not be NaT"):
            USDCOP.market_minutes(utc("2026-11-25T15:00"), np.datetime64("NaT"))
        with pytest.raises(ValueError, match="t must be a datetime or datetime64"):
            USDCOP.is_open("2026-11-25T15:00")  # type: ignore[call-overload]
        with pytest.raises(ValueError, match="t must be a single instant"):
            USDCOP.last_close(np.array(["2026-11-25"], dtype="datetime64[us]"))  # type: ignore[arg-type]


class TestMarketWindowStart:
    def test_a_single_instant_on_a_daylight_saving_day(self) -> None:
        # 2027-03-14 00:00 UTC is Saturday evening in New York, the day clocks go forward: a
        # 0-d datetime64 on a day whose offset changes once raised instead of answering. The
        # last minute of trading before it is Friday 15:59-16:00 EST (20:59-21:00 UTC).
        end = np.datetime64("2027-03-14T00:00", "us")
        assert NEW_YORK.market_window_start(end, 1.0) == datetime(2027, 3, 12, 20, 59, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("end", "minutes", "start"),
        [
            # The example: 24 h of market time before Sunday 15:00Z. Friday, Thursday,
            # Wednesday and Tuesday give 4 x 300 minutes; the last 240 end Monday's session.
            ("2026-11-29T15:00", 1440, "2026-11-23T14:00"),
            # Inside a session: Wednesday 10:00 back 60 minutes.
            ("2026-11-25T15:00", 60, "2026-11-25T14:00"),
            # Monday 08:20: 20 minutes reach the open exactly (the latest such instant); 25
            # reach Friday 12:55.
            ("2026-11-30T13:20", 20, "2026-11-30T13:00"),
            ("2026-11-30T13:20", 25, "2026-11-27T17:55"),
            # A whole session back from a close lands on its open.
            ("2026-11-27T18:00", 300, "2026-11-27T13:00"),
            # Over the Tuesday holiday: Wednesday 09:00 back 120 minutes is Monday 12:00.
            ("2026-12-09T14:00", 120, "2026-12-07T17:00"),
            # Nothing: the end itself, even when closed.
            ("2026-11-29T15:00", 0, "2026-11-29T15:00"),
        ],
    )
    def test_usdcop_by_hand(self, end: str, minutes: float, start: str) -> None:
        assert USDCOP.market_window_start(utc(end), minutes) == utc(start)

    def test_always_is_calendar_time(self) -> None:
        end = utc("2026-11-29T15:00")
        assert ALWAYS.market_window_start(end, 1440) == end - timedelta(hours=24)
        assert ALWAYS.market_window_start(np.datetime64("2026-11-29T15:00"), 90) == utc(
            "2026-11-29T13:30"
        )

    @settings(max_examples=120, deadline=None)
    @given(calendars, instants, st.floats(0, 20_000))
    def test_holds_the_minutes_and_is_the_latest(
        self, calendar: MarketCalendar, end: np.datetime64, minutes: float
    ) -> None:
        start = calendar.market_window_start(end, minutes)
        assert start <= as_utc(end)
        # The start is rounded to the microsecond: within 1 us of market time.
        assert calendar.market_minutes(start, end) == pytest.approx(minutes, abs=1e-6 / 60 + 1e-9)
        if minutes > 1e-6:
            later = start + timedelta(microseconds=1)
            assert calendar.market_minutes(later, end) < calendar.market_minutes(start, end)

    @pytest.mark.parametrize(
        ("minutes", "message"),
        [
            (-1.0, "minutes must be finite and >= 0"),
            (float("nan"), "minutes must be finite and >= 0"),
            (float("inf"), "minutes must be finite and >= 0"),
            ("many", "minutes must be a number"),
            (1e12, "minutes reaches back more than a century"),
        ],
    )
    def test_bad_minutes(self, minutes: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            USDCOP.market_window_start(utc("2026-11-29T15:00"), minutes)
