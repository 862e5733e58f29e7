"""The smoke data set's end: in the past, and its days (and so every window of up to 7 days)
inside one calendar month, whatever the date the tests run on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bench.datasets import SIZES, smoke_end


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_the_smoke_set_ends_in_the_past_inside_one_month(naive: datetime) -> None:
    now = naive.replace(tzinfo=UTC)
    end = smoke_end(now)
    start = end - timedelta(days=SIZES["smoke"][1])
    assert end <= now
    assert now - end < timedelta(days=32)  # recent: the previous month's at the latest
    assert (start.year, start.month) == (end.year, end.month)


def test_the_first_week_of_a_month_uses_the_month_before() -> None:
    assert smoke_end(datetime(2026, 12, 6, 5, 0, tzinfo=UTC)) == datetime(
        2026, 11, 16, 12, 0, tzinfo=UTC
    )
    assert smoke_end(datetime(2026, 12, 16, 12, 0, tzinfo=UTC)) == datetime(
        2026, 12, 16, 12, 0, tzinfo=UTC
    )
