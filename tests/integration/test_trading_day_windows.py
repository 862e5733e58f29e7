"""Every window on the trading-day clock, at fixed instants, through the real server.

A server with the USD/COP session calendar over session-only rows written here: one row at every
5-minute slot of every session, 08:00-12:55 in Bogota (UTC-5), Monday to Friday, but not on the
Colombian holidays of the span (Monday 16 November and Tuesday 8 December 2026). The expected
window starts are worked out by hand (see tests/unit/analytics/test_trading_day_clock.py) and the
expected row counts are counted over the hand-made list of slots, not with the calendar code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest

from analytics import MarketCalendar
from databases import ScratchDatabase
from mlanalytics.v1 import (
    drift_service_pb2,
    drift_service_pb2_grpc,
    health_service_pb2,
    health_service_pb2_grpc,
    metrics_service_pb2,
    metrics_service_pb2_grpc,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
)
from rows import Rows
from server.app import create_server

HOLIDAYS = {date(2026, 11, 16), date(2026, 12, 8)}
FIRST_DAY, LAST_DAY = date(2026, 11, 2), date(2026, 12, 11)
MODEL = "clock_v1"


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _slots() -> list[datetime]:
    slots, day = [], FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() < 5 and day not in HOLIDAYS and day != date(2026, 11, 2):
            opens = datetime(day.year, day.month, day.day, 13, 0, tzinfo=UTC)  # 08:00 Bogota
            slots += [opens + timedelta(minutes=5 * k) for k in range(60)]
        day += timedelta(days=1)
    return slots


SLOTS = _slots()

# (name, end, 24 h start, 7 d start), by hand.
INSTANTS = [
    ("sunday", utc(2026, 11, 29, 15, 0), utc(2026, 11, 27, 5, 0), utc(2026, 11, 19, 5, 0)),
    (
        "monday_0820",
        utc(2026, 11, 30, 13, 20),
        utc(2026, 11, 27, 13, 20),
        utc(2026, 11, 19, 13, 20),
    ),
    (
        "wednesday_noon",
        utc(2026, 11, 25, 17, 0),
        utc(2026, 11, 24, 17, 0),
        utc(2026, 11, 13, 17, 0),
    ),
    ("holiday_noon", utc(2026, 12, 8, 17, 0), utc(2026, 12, 7, 5, 0), utc(2026, 11, 27, 5, 0)),
    (
        "after_friday_close",
        utc(2026, 11, 27, 20, 0),
        utc(2026, 11, 26, 20, 0),
        utc(2026, 11, 18, 20, 0),
    ),
]


def count(start: datetime, end: datetime) -> int:
    return sum(start < t <= end for t in SLOTS)


@pytest.fixture(scope="module")
def channel(database: ScratchDatabase) -> Iterator[grpc.Channel]:
    running = create_server(database.settings(market_calendar=MarketCalendar()))
    running.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as opened:
        yield opened
    running.stop(grace=1)


@pytest.fixture
def session_rows(rows: Rows) -> Rows:
    for t in SLOTS:
        rows.inference(MODEL, t, "LONG", reward=0.001)
    return rows


def ts(value: datetime) -> str:
    return value.isoformat()


@pytest.mark.parametrize(
    ("end", "day_start", "week_start"), [i[1:] for i in INSTANTS], ids=[i[0] for i in INSTANTS]
)
def test_every_window_starts_where_the_clock_says(
    session_rows: Rows,
    channel: grpc.Channel,
    end: datetime,
    day_start: datetime,
    week_start: datetime,
) -> None:
    metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    for window, start in (("24h", day_start), ("7d", week_start)):
        got = metrics.GetRollingMetrics(
            metrics_service_pb2.GetRollingMetricsRequest(
                model_id=MODEL, window=window, end_time=ts(end)
            )
        ).data
        assert got.start_time.ToDatetime(UTC) == start, window
        assert got.data_points == count(start, end), window
        assert got.data_points > 0

    accuracy = (
        prediction_service_pb2_grpc.PredictionServiceStub(channel)
        .GetPredictionAccuracy(
            prediction_service_pb2.GetPredictionAccuracyRequest(model_id=MODEL, end_time=ts(end))
        )
        .data
    )
    assert accuracy.start_time.ToDatetime(UTC) == day_start

    health = health_service_pb2_grpc.HealthServiceStub(channel)
    model = health.GetModelHealth(
        health_service_pb2.GetModelHealthRequest(model_id=MODEL, end_time=ts(end))
    ).data
    assert model.window_start.ToDatetime(UTC) == day_start
    assert model.prediction_count == count(day_start, end)
    listed = health.ListModelHealth(health_service_pb2.ListModelHealthRequest(end_time=ts(end)))
    assert [m.model_id for m in listed.data.models] == [MODEL]

    drift = (
        drift_service_pb2_grpc.DriftServiceStub(channel)
        .GetDriftStatus(drift_service_pb2.GetDriftStatusRequest(model_id=MODEL, end_time=ts(end)))
        .data
    )
    assert drift.recent.start_time.ToDatetime(UTC) == day_start
    assert drift.recent.predictions == count(day_start, end)
    assert drift.baseline.end_time.ToDatetime(UTC) == day_start
    baseline_start = drift.baseline.start_time.ToDatetime(UTC)
    assert drift.baseline.predictions == count(baseline_start, day_start) >= 5 * 60


def test_a_model_is_listed_for_seven_trading_days_after_its_last_row(
    session_rows: Rows, channel: grpc.Channel
) -> None:
    health = health_service_pb2_grpc.HealthServiceStub(channel)

    def listed(end: datetime) -> bool:
        reply = health.ListModelHealth(
            health_service_pb2.ListModelHealthRequest(end_time=ts(end))
        ).data
        return MODEL in [m.model_id for m in reply.models]

    # The last row is Friday 11 December 12:55 Bogota. On Tuesday 22 at 12:50 Bogota the 7
    # trading days are 12 h 50 of Tuesday, Mon 21, Fri 18, Thu 17, Wed 16, Tue 15, Mon 14 (no
    # holiday) and the last 11 h 10 of Friday 11, from 12:50: the row is in. At 13:00 they start
    # at Friday 13:00: out, 11 calendar days after the row.
    assert listed(utc(2026, 12, 22, 17, 50))
    assert not listed(utc(2026, 12, 22, 18, 0))
