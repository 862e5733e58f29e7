"""The trading-day clock (docs/DEFINITIONS.md#the-trading-day-clock) at fixed instants.

Every expected start is worked out by hand from the USD/COP calendar (Bogota is UTC-5 all year;
Mon-Fri; Colombian holidays of November-December 2026: Monday 2 and 16 November, Tuesday 8
December), not with the calendar code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics import ALWAYS, MarketCalendar

USDCOP = MarketCalendar()
H, D = timedelta(hours=1), timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


SUNDAY = utc(2026, 11, 29, 15, 0)  # 10:00 Bogota
MONDAY_0820 = utc(2026, 11, 30, 13, 20)
WEDNESDAY_NOON = utc(2026, 11, 25, 17, 0)
HOLIDAY_NOON = utc(2026, 12, 8, 17, 0)  # Tuesday 8 December, a holiday
AFTER_FRIDAY_CLOSE = utc(2026, 11, 27, 20, 0)  # 15:00 Bogota

CASES = [
    # Sunday: back over Saturday and Sunday to Friday's midnight (05:00 UTC).
    (SUNDAY, 24 * H, utc(2026, 11, 27, 5, 0)),
    (SUNDAY, 1 * H, utc(2026, 11, 28, 4, 0)),  # Friday 23:00 Bogota
    # Fri 27, Thu 26, Wed 25, Tue 24, Mon 23, Fri 20, Thu 19.
    (SUNDAY, 7 * D, utc(2026, 11, 19, 5, 0)),
    # Monday 08:20: 8 h 20 of Monday, 15 h 40 of Friday: from Friday 08:20.
    (MONDAY_0820, 24 * H, utc(2026, 11, 27, 13, 20)),
    (MONDAY_0820, 1 * H, utc(2026, 11, 30, 12, 20)),
    # Wednesday noon: the calendar window.
    (WEDNESDAY_NOON, 24 * H, utc(2026, 11, 24, 17, 0)),
    (WEDNESDAY_NOON, 1 * H, utc(2026, 11, 25, 16, 0)),
    # 12 h of Wednesday, Tue 24, Mon 23, Fri 20, Thu 19, Wed 18, Tue 17, then (Monday 16 is a
    # holiday) the last 12 h of Friday 13.
    (WEDNESDAY_NOON, 7 * D, utc(2026, 11, 13, 17, 0)),
    # A holiday: back to the Monday before it, midnight to midnight.
    (HOLIDAY_NOON, 24 * H, utc(2026, 12, 7, 5, 0)),
    (HOLIDAY_NOON, 1 * H, utc(2026, 12, 8, 4, 0)),
    # After Friday's close the clock still runs (a trading day has 24 hours).
    (AFTER_FRIDAY_CLOSE, 24 * H, utc(2026, 11, 26, 20, 0)),
    (AFTER_FRIDAY_CLOSE, 0 * H, AFTER_FRIDAY_CLOSE),
]


@pytest.mark.parametrize(("end", "length", "start"), CASES)
def test_window_starts_at_fixed_instants(end: datetime, length: timedelta, start: datetime) -> None:
    assert USDCOP.trading_window_start(end, length) == start


@pytest.mark.parametrize(("end", "length", "start"), CASES)
def test_the_window_holds_its_length_of_trading_time(
    end: datetime, length: timedelta, start: datetime
) -> None:
    assert USDCOP.trading_minutes(start, end) == pytest.approx(length / timedelta(minutes=1))


@pytest.mark.parametrize("end", [SUNDAY, MONDAY_0820, WEDNESDAY_NOON, HOLIDAY_NOON])
@pytest.mark.parametrize("length", [H, 24 * H, 7 * D, 30 * D])
def test_always_is_the_calendar_window(end: datetime, length: timedelta) -> None:
    assert ALWAYS.trading_window_start(end, length) == end - length
    assert ALWAYS.trading_minutes(end - length, end) == length / timedelta(minutes=1)


def test_closed_days_add_no_trading_time() -> None:
    friday_midnight = utc(2026, 11, 28, 5, 0)  # Saturday 00:00 Bogota
    assert USDCOP.trading_minutes(friday_midnight, SUNDAY) == 0.0
    assert USDCOP.trading_minutes(utc(2026, 12, 8, 5, 0), HOLIDAY_NOON) == 0.0
    assert USDCOP.trading_minutes(SUNDAY, MONDAY_0820) == 8 * 60 + 20


def test_a_negative_length_is_refused() -> None:
    with pytest.raises(ValueError, match="length must be a timedelta >= 0"):
        USDCOP.trading_window_start(SUNDAY, -H)
