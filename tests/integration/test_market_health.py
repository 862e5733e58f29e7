"""Model health in market time, with fixed clocks (docs/DEFINITIONS.md#model-health).

A server with the USD/COP session calendar (America/Bogota, Mon-Fri 08:00-13:00, Colombian
holidays) and the 20-trade minimum; Bogota is UTC-5 all year.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from analytics import MarketCalendar
from databases import ScratchDatabase
from devstack.seed import seed_demo
from mlanalytics.v1 import common_pb2, health_service_pb2_grpc
from mlanalytics.v1 import health_service_pb2 as pb
from rows import Rows
from server.app import create_server

SUNDAY = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
FRIDAY_CLOSE = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # 13:00 in Bogota
MONDAY_0820 = datetime(2026, 11, 30, 13, 20, tzinfo=UTC)  # 08:20 in Bogota
FIVE = timedelta(minutes=5)


@pytest.fixture(scope="module")
def session_health(
    database: ScratchDatabase,
) -> Iterator[health_service_pb2_grpc.HealthServiceStub]:
    running = create_server(
        database.settings(market_calendar=MarketCalendar(), health_min_trades=20)
    )
    running.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield health_service_pb2_grpc.HealthServiceStub(channel)
    running.stop(grace=1)


def _sessions(rows: Rows, model_id: str, first: datetime, last: datetime, **kw: object) -> int:
    """A LONG prediction with a winning reward at every 5-minute slot in a session, first..last."""
    calendar, count, at = MarketCalendar(), 0, first
    while at <= last:
        if calendar.is_open(at):
            rows.inference(model_id, at, "LONG", reward=0.1, **kw)  # type: ignore[arg-type]
            count += 1
        at += FIVE
    return count


def _health(
    stub: health_service_pb2_grpc.HealthServiceStub, model_id: str, end: datetime
) -> common_pb2.ModelHealth:
    request = pb.GetModelHealthRequest(model_id=model_id, end_time=end.isoformat())
    return stub.GetModelHealth(request).data


def test_on_sunday_a_model_active_until_fridays_close_is_fresh(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    # Every slot from Monday 2026-11-23 08:00 to Friday 12:55 in Bogota.
    first = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    _sessions(rows, "steady", first, FRIDAY_CLOSE - FIVE)
    got = _health(session_health, "steady", SUNDAY)
    # One trading day back from Sunday: all of Friday, from its midnight in Bogota (05:00 UTC).
    assert got.window_start.ToDatetime(UTC) == datetime(2026, 11, 27, 5, 0, tzinfo=UTC)
    assert got.prediction_count == 60  # Friday 08:00..12:55
    assert got.market_minutes_since_last == pytest.approx(5.0)  # 12:55 to Friday's close
    assert got.minutes_since_last == pytest.approx(24 * 60 + 21 * 60 + 5)  # calendar minutes
    assert got.status == "healthy", got.issues
    assert got.score_breakdown.recency_points == 30
    assert not got.market.open
    assert got.market.calendar == "America/Bogota Mon-Fri 08:00-13:00 +CO holidays"
    assert got.market.last_close.ToDatetime(UTC) == FRIDAY_CLOSE
    assert got.market.next_open.ToDatetime(UTC) == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)


def test_a_model_that_stopped_mid_session_on_friday_is_silent_on_sunday(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    first = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    _sessions(rows, "stopped", first, datetime(2026, 11, 27, 16, 0, tzinfo=UTC))  # 11:00 Friday
    got = _health(session_health, "stopped", SUNDAY)
    assert got.market_minutes_since_last == pytest.approx(120.0)  # 11:00 to the 13:00 close
    assert got.status == "critical"
    assert "silent for 120 min (over 60 min)" in got.issues


def test_monday_morning_counts_fridays_last_minutes_and_mondays_first(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    rows.inference("early", FRIDAY_CLOSE - FIVE, "LONG", reward=0.1)  # Friday 12:55
    got = _health(session_health, "early", MONDAY_0820)
    assert got.market_minutes_since_last == pytest.approx(25.0)  # 5 before the close, 20 after
    assert got.market.open


def test_a_holiday_monday_is_a_closed_day(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    # Monday 2026-01-12 is the Epiphany holiday in Colombia; the model stopped at Friday's close.
    friday_1255 = datetime(2026, 1, 9, 17, 55, tzinfo=UTC)
    _sessions(rows, "holiday", datetime(2026, 1, 5, 13, 0, tzinfo=UTC), friday_1255)
    holiday_noon = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    got = _health(session_health, "holiday", holiday_noon)
    assert not got.market.open
    assert got.market_minutes_since_last == pytest.approx(5.0)
    assert got.status == "healthy", got.issues
    tuesday_0820 = datetime(2026, 1, 13, 13, 20, tzinfo=UTC)
    assert _health(session_health, "holiday", tuesday_0820).market_minutes_since_last == (
        pytest.approx(25.0)
    )


def test_a_win_rate_over_too_few_trades_is_no_verdict(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    end = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # Thursday 12:00 in Bogota
    for i in range(12):  # 12 trades, 3 wins: a 25 % win rate
        reward = 0.1 if i < 3 else -0.1
        rows.inference("few", end - (i + 1) * FIVE, "LONG", reward=reward)
    got = _health(session_health, "few", end)
    assert got.win_rate == pytest.approx(0.25)
    assert got.status == "warning"
    assert got.issues == ["too few trades (12 < 20) for a win-rate verdict"]


def test_make_run_on_a_saturday_shows_the_market_closed(
    rows: Rows, session_health: health_service_pb2_grpc.HealthServiceStub
) -> None:
    saturday = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)  # a fake clock: 10:00 in Bogota
    seed_demo(rows.conn, saturday)  # the session calendar, as `make run` seeds by default
    data = session_health.ListModelHealth(
        pb.ListModelHealthRequest(end_time=saturday.isoformat())
    ).data
    assert not data.market.open
    assert data.market.last_close.ToDatetime(UTC) == datetime(2026, 12, 11, 18, 0, tzinfo=UTC)
    statuses = {m.model_id: m.status for m in data.models}
    assert statuses["ppo_lstm_v3.2"] == "healthy", [(m.model_id, m.issues) for m in data.models]
    assert statuses["dqn_legacy_v0.9"] == "critical"  # stopped 3 market hours before the close
    assert statuses["td3_ensemble_v1.0"] == "critical"  # slow
    assert statuses["a2c_conservative_v1.4"] == "warning"  # the coin flip
