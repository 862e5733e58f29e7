"""The windows of a metric series at once equal the trading-day clock's window one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from analytics import ALWAYS, MarketCalendar, TradingSession

CALENDARS = {
    "usdcop": MarketCalendar(),
    "new_york": MarketCalendar(TradingSession(timezone="America/New_York", holidays="US")),
    "always": ALWAYS,
}
LENGTHS = [
    timedelta(0),
    timedelta(hours=1),
    timedelta(hours=5),
    timedelta(hours=24),
    timedelta(days=7),
    timedelta(days=30),
]


@pytest.mark.parametrize("name", CALENDARS)
@pytest.mark.parametrize("length", LENGTHS, ids=str)
def test_every_start_equals_the_scalar_one(
    name: str, length: timedelta, rng: np.random.Generator
) -> None:
    calendar = CALENDARS[name]
    base = np.datetime64("2026-01-01T00:00", "us")
    ends = base + rng.integers(0, 366 * 24 * 3600, 400) * np.timedelta64(1, "s")
    # Day boundaries, a holiday and a DST change of New York (8 March 2026) among them.
    ends = np.concatenate(
        [
            ends,
            np.array(
                ["2026-11-30T05:00", "2026-11-30T04:59:59", "2026-12-08T17:00", "2026-03-08T07:30"],
                dtype="datetime64[us]",
            ),
        ]
    )
    got = calendar.trading_window_starts(ends, length)
    want = [
        calendar.trading_window_start(
            datetime.fromisoformat(str(end)).replace(tzinfo=UTC), length
        ).replace(tzinfo=None)
        for end in ends
    ]
    assert got.tolist() == want
