"""The demo data of `make run`: the documented stories, and top-ups equal to a fresh load.

The data follows the USD/COP session by default (Monday to Friday 08:00-12:55 in Bogota, UTC-5,
no Colombian holidays), or runs around the clock with the `always` calendar.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import grpc
import pytest

from analytics import MarketCalendar
from analytics.calendar import ALWAYS
from devstack.seed import seed_demo
from mlanalytics.v1 import anomaly_service_pb2 as apb
from mlanalytics.v1 import (
    anomaly_service_pb2_grpc,
    drift_service_pb2_grpc,
    health_service_pb2_grpc,
    version_service_pb2_grpc,
)
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import health_service_pb2 as hpb
from mlanalytics.v1 import version_service_pb2 as vpb
from rows import Rows

USDCOP = MarketCalendar()
T1 = datetime(2026, 3, 2, 12, 3, 30, tzinfo=UTC)  # Monday, 07:03:30 in Bogota
IN_SESSION = datetime(2026, 3, 4, 17, 3, 30, tzinfo=UTC)  # Wednesday, 12:03:30 in Bogota
SATURDAY = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)  # 10:00 in Bogota
COLUMNS = """model_id, timestamp_utc, model_version, action_raw, action_discretized, confidence,
    log_ret_5m, vix_z, embi_z, close_price, position_before, position_after, reward,
    latency_ms, metadata"""  # not cumulative_reward: it counts from the first row loaded


def _snapshot(rows: Rows) -> tuple[list[Any], list[Any]]:
    inferences = rows.conn.execute(
        f"SELECT {COLUMNS} FROM dw.fact_rl_inference ORDER BY model_id, timestamp_utc"
    ).fetchall()
    bars = rows.conn.execute(
        "SELECT time, symbol, open, high, low, close, volume, source"
        " FROM usdcop_m5_ohlcv ORDER BY time"
    ).fetchall()
    return inferences, bars


def test_the_stories(rows: Rows, channel: grpc.Channel) -> None:
    # Around the clock, so that health's calendar-time 24 h window holds a full day of rows.
    report = seed_demo(rows.conn, T1, ALWAYS)
    assert report.fresh
    assert report.inferences > 5 * 30 * 288  # five models, 35 days at 5-minute cadence
    health = health_service_pb2_grpc.HealthServiceStub(channel)
    models = {
        m.model_id: m
        for m in health.ListModelHealth(
            hpb.ListModelHealthRequest(end_time=T1.isoformat())
        ).data.models
    }
    assert models["ppo_lstm_v3.2"].status == "healthy"
    assert models["ppo_lstm_v3.2"].model_version == "3.2.1"
    assert models["a2c_conservative_v1.4"].status == "warning"
    assert models["td3_ensemble_v1.0"].status == "critical"
    assert any("latency" in issue for issue in models["td3_ensemble_v1.0"].issues)
    silent = models["dqn_legacy_v0.9"]
    assert silent.status == "critical"
    assert silent.minutes_since_last > 180
    assert models["ppo_lstm_v3.2"].minutes_since_last < 5  # ends within minutes of "now"
    drift = drift_service_pb2_grpc.DriftServiceStub(channel)

    def status(model_id: str) -> str:
        request = dpb.GetDriftStatusRequest(model_id=model_id, end_time=T1.isoformat())
        return str(drift.GetDriftStatus(request).data.status)

    assert status("sac_transformer_v2.1") == "critical"
    assert status("ppo_lstm_v3.2") == "healthy"

    # sac's confidence collapsed 150 minutes (of market time: around the clock here) before T1.
    [collapse] = [i for i in models["sac_transformer_v2.1"].issues if "change point" in i]
    assert collapse.startswith("change point: confidence shifted -")
    assert not [
        i
        for m in models.values()
        if m.model_id != "sac_transformer_v2.1"
        for i in m.issues
        if "change point" in i
    ]
    anomalies = anomaly_service_pb2_grpc.AnomalyServiceStub(channel)
    request = apb.GetAnomaliesRequest(model_id="sac_transformer_v2.1", end_time=T1.isoformat())
    changes = [
        c for c in anomalies.GetAnomalies(request).data.change_points if c.signal == "confidence"
    ]
    assert len(changes) == 1
    onset = changes[0].at.ToDatetime(UTC)
    assert abs(onset - (T1 - timedelta(minutes=150))) <= timedelta(minutes=10)
    assert changes[0].after_mean < 0.3
    assert changes[0].before_mean > 0.5
    assert changes[0].shift < -2


@pytest.mark.parametrize("calendar", [USDCOP, ALWAYS], ids=["session", "always"])
def test_the_version_stories(rows: Rows, channel: grpc.Channel, calendar: MarketCalendar) -> None:
    """td3 deployed a worse version two sessions ago: rollback, in its health too; ppo runs a
    canary beside its current version: a paired comparison."""
    seed_demo(rows.conn, IN_SESSION, calendar)
    when = IN_SESSION.isoformat()
    versions = version_service_pb2_grpc.ModelVersionServiceStub(channel)
    worse = versions.CompareModelVersions(
        vpb.CompareModelVersionsRequest(model_id="td3_ensemble_v1.0", end_time=when)
    ).data
    assert (worse.baseline.version, worse.candidate.version) == ("1.0.2", "1.0.3")
    assert (worse.method, worse.verdict) == ("welch", "rollback"), str(worse).replace("\n", " ")
    canary = versions.CompareModelVersions(
        vpb.CompareModelVersionsRequest(model_id="ppo_lstm_v3.2", candidate="3.3.0", end_time=when)
    ).data
    assert (canary.baseline.version, canary.method) == ("3.2.1", "paired")
    assert canary.common_bars >= 30
    timeline = versions.ListModelVersions(
        vpb.ListModelVersionsRequest(model_id="ppo_lstm_v3.2", end_time=when)
    ).data
    assert [v.version for v in timeline.versions] == ["3.2.0", "3.2.1", "3.3.0"]
    assert timeline.current_version == "3.2.1"
    health = health_service_pb2_grpc.HealthServiceStub(channel)
    listed = health.ListModelHealth(hpb.ListModelHealthRequest(end_time=when)).data.models
    issues = {m.model_id: list(m.issues) for m in listed}
    assert [i for i in issues["td3_ensemble_v1.0"] if i.startswith("rollback: version 1.0.3")]
    others = [i for m, found in issues.items() if m != "td3_ensemble_v1.0" for i in found]
    assert not [i for i in others if i.startswith("rollback")]


@pytest.mark.parametrize(
    ("calendar", "t1", "t2", "new_bars", "common_rows"),
    [
        # 12:05 to 15:20 UTC.
        (ALWAYS, T1, T1 + timedelta(hours=3, minutes=17), 40, 2 * 33 * 288),
        # Over a night: Wednesday 12:05 to 12:55 and Thursday 08:00 to 09:00 in Bogota.
        (USDCOP, IN_SESSION, IN_SESSION + timedelta(hours=21), 11 + 13, 2 * 22 * 60),
    ],
    ids=["always", "session"],
)
def test_top_up_equals_a_fresh_load(  # noqa: PLR0917 (a fixture and parameters)
    rows: Rows,
    calendar: MarketCalendar,
    t1: datetime,
    t2: datetime,
    new_bars: int,
    common_rows: int,
) -> None:
    seed_demo(rows.conn, t1, calendar)
    topped = seed_demo(rows.conn, t2, calendar)
    assert not topped.fresh
    assert topped.bars == new_bars
    incremental = _snapshot(rows)
    assert not seed_demo(rows.conn, t2, calendar).fresh  # idempotent: nothing changes
    assert _snapshot(rows) == incremental
    rows.conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv")
    assert seed_demo(rows.conn, t2, calendar).fresh
    fresh = _snapshot(rows)
    # The fresh load starts 35 days before t2, the first one 35 days before T1: compare the
    # common span, for the models whose stories (a version change, a drift) are not dated
    # relative to the moment of loading.
    start = t2 - timedelta(days=34)
    undated = {"a2c_conservative_v1.4", "dqn_legacy_v0.9"}

    def common(snapshot: list[Any]) -> list[Any]:
        return [r for r in snapshot if r[1] > start and r[0] in undated]

    assert common(incremental[0]) == common(fresh[0])
    assert len(common(fresh[0])) > common_rows
    assert [b for b in incremental[1] if b[0] > start] == [b for b in fresh[1] if b[0] > start]


def _by_id(rows: Rows) -> dict[int, dict[str, Any]]:
    """Every inference row by inference_id, all its columns but created_at."""
    cur = rows.conn.execute("SELECT * FROM dw.fact_rl_inference")
    names = [d.name for d in cur.description or ()]
    every = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in every:
        del row["created_at"]
    return {row["inference_id"]: row for row in every}


@pytest.mark.parametrize("calendar", [USDCOP, ALWAYS], ids=["session", "always"])
def test_a_top_up_writes_only_new_rows_and_rewards_now_known(
    rows: Rows, calendar: MarketCalendar
) -> None:
    t = datetime(2026, 3, 4, 17, 4, 30, tzinfo=UTC)  # Wednesday, 12:04:30 in Bogota
    seed_demo(rows.conn, t, calendar)
    before = _by_id(rows)
    # A minute later the 12:05 bar is there; ten minutes later the 12:10 one.
    for later in (t + timedelta(minutes=1), t + timedelta(minutes=10)):
        report = seed_demo(rows.conn, later, calendar)
        assert not report.fresh
        assert report.bars == 1
        after = _by_id(rows)
        assert before.keys() <= after.keys()  # no row was deleted or written again
        resolved = []
        for inference_id, row in before.items():
            now_row = after[inference_id]
            if row["reward"] is None and now_row["reward"] is not None:
                resolved.append(inference_id)
                known = ("reward", "cumulative_reward")
                assert {k: v for k, v in now_row.items() if k not in known} == {
                    k: v for k, v in row.items() if k not in known
                }
            else:
                assert now_row == row
        # The four models still predicting had one pending row each (ppo two: its canary's),
        # whose reward is now known.
        assert len(resolved) == 5
        new = after.keys() - before.keys()
        assert min(new) > max(before)
        last = {
            m: max(r["timestamp_utc"] for r in before.values() if r["model_id"] == m)
            for m in {r["model_id"] for r in before.values()}
        }
        assert all(after[i]["timestamp_utc"] > last[after[i]["model_id"]] for i in new)
        # One row per new bar for each of the five models (the silent one follows 3 h behind),
        # and one for ppo's canary.
        assert len(new) == 6
        assert report.inferences == len(new) + len(resolved)
        before = after
    # The rewards written in place are the position times the move to the next bar.
    worst = rows.conn.execute(
        """
        SELECT count(*), max(abs(i.reward - i.position_after * ln(nb.close / b.close)))
        FROM dw.fact_rl_inference i
        JOIN usdcop_m5_ohlcv b ON b.time = date_trunc('minute', i.timestamp_utc)
        JOIN usdcop_m5_ohlcv nb ON nb.time = b.time + interval '5 minutes'
        WHERE i.reward IS NOT NULL AND b.time >= %s
        """,
        (t - timedelta(minutes=5),),
    ).fetchone()
    assert worst is not None
    assert worst[0] == 5 * 2  # the 12:00 and 12:05 rows of the four models and the canary
    assert worst[1] < 1e-9
    assert seed_demo(rows.conn, t + timedelta(minutes=10), calendar).inferences == 0


def test_a_weekend_is_no_gap(rows: Rows) -> None:
    friday = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)  # 12:30 in Bogota
    seed_demo(rows.conn, friday)
    before = _by_id(rows)
    sunday_night = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Sunday 21:00 in Bogota, 56.5 h later
    report = seed_demo(rows.conn, sunday_night)
    assert (report.fresh, report.bars) == (False, 5)  # 12:35 to 12:55, up to the close
    monday = datetime(2026, 3, 9, 13, 20, tzinfo=UTC)  # 08:20 in Bogota
    report = seed_demo(rows.conn, monday)
    assert (report.fresh, report.bars) == (False, 5)  # 08:00 to 08:20
    assert before.keys() <= _by_id(rows).keys()


def test_stale_data_is_replaced(rows: Rows) -> None:
    seed_demo(rows.conn, T1)
    later = seed_demo(rows.conn, T1 + timedelta(days=3))
    assert later.fresh


def test_another_calendar_replaces_the_data(rows: Rows) -> None:
    seed_demo(rows.conn, IN_SESSION, USDCOP)
    assert seed_demo(rows.conn, IN_SESSION, ALWAYS).fresh
    assert not seed_demo(rows.conn, IN_SESSION, ALWAYS).fresh
    assert seed_demo(rows.conn, IN_SESSION, USDCOP).fresh


@pytest.mark.parametrize("other_source", ["vendor"])
def test_other_bars_are_left_alone(rows: Rows, other_source: str) -> None:
    inside = IN_SESSION - timedelta(hours=1, minutes=3, seconds=30)  # 11:00 in Bogota
    rows.conn.execute(
        "INSERT INTO usdcop_m5_ohlcv (time, symbol, close, source) VALUES (%s, 'USD/COP', 1, %s)",
        (inside, other_source),
    )
    seed_demo(rows.conn, IN_SESSION)
    row = rows.conn.execute(
        "SELECT close, source FROM usdcop_m5_ohlcv WHERE time = %s", (inside,)
    ).fetchone()
    assert row == (1, other_source)


def _trading_days(first: date, last: date, holidays: set[date]) -> set[date]:
    """Monday to Friday from first to last, less the holidays: by hand, not by the calendar."""
    days = (first + timedelta(days=k) for k in range((last - first).days + 1))
    return {d for d in days if d.weekday() < 5 and d not in holidays}


def test_on_a_saturday_the_data_is_the_sessions_up_to_fridays_close(
    rows: Rows, channel: grpc.Channel
) -> None:
    report = seed_demo(rows.conn, SATURDAY)  # a fake clock: Saturday 2026-12-12, 10:00 in Bogota
    # 35 days back reach Saturday 2026-11-07; the Colombian holidays since are Monday 2026-11-16
    # (Independence of Cartagena, moved) and Tuesday 2026-12-08 (Immaculate Conception).
    days = _trading_days(
        date(2026, 11, 7), date(2026, 12, 12), {date(2026, 11, 16), date(2026, 12, 8)}
    )
    assert len(days) == 23
    assert report.bars == 23 * 60  # 08:00 to 12:55, every 5 minutes

    # PostgreSQL's own time zone rules say where each row falls on the Bogota clock.
    local = "(t AT TIME ZONE 'America/Bogota')"
    bars = rows.conn.execute(
        f"SELECT {local}::date, min({local}::time), max({local}::time), count(*)"
        " FROM (SELECT time AS t FROM usdcop_m5_ohlcv) b GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert {day for day, *_ in bars} == days
    assert all(row[1:] == (time(8, 0), time(12, 55), 60) for row in bars)
    inferences = rows.conn.execute(
        f"SELECT model_id, array_agg(DISTINCT {local}::date), min({local}::time),"
        f" max({local}::time), max(t), count(*)"
        " FROM (SELECT model_id, timestamp_utc AS t FROM dw.fact_rl_inference"
        "       WHERE model_version <> '3.3.0') i GROUP BY 1"  # not ppo's canary
    ).fetchall()
    by_model = {model_id: rest for model_id, *rest in inferences}
    assert len(by_model) == 5
    friday_close = datetime(2026, 12, 11, 18, 0, tzinfo=UTC)  # 13:00 in Bogota
    for model_id, (dates, first, last, latest, count) in by_model.items():
        assert set(dates) == days, model_id
        assert first == time(8, 0, 2), model_id
        if model_id == "dqn_legacy_v0.9":
            # Silent for 3 hours of market time before the end: since Friday 10:00 in Bogota.
            assert latest == friday_close - timedelta(hours=3, minutes=5) + timedelta(seconds=2)
            assert count == 23 * 60 - 36  # Friday 10:00 to 12:55
        else:
            # Up to the last bar of Friday's session, 12:55 (it closes at 13:00).
            assert (last, latest) == (time(12, 55, 2), friday_close - timedelta(seconds=298))
            assert count == 23 * 60

    # Rewards are the position times the move to the next bar, also over nights and weekends;
    # the last row of all waits for Monday's first bar.
    checked = rows.conn.execute(
        """
        SELECT count(*) FILTER (WHERE i.reward IS NOT NULL),
               count(*) FILTER (WHERE i.reward IS NULL),
               max(abs(i.reward - i.position_after * ln(nb.close / b.close))),
               count(*) FILTER (WHERE nb.time - b.time > interval '5 minutes')
        FROM dw.fact_rl_inference i
        JOIN usdcop_m5_ohlcv b ON b.time = date_trunc('minute', i.timestamp_utc)
        LEFT JOIN LATERAL (
            SELECT time, close FROM usdcop_m5_ohlcv WHERE time > b.time ORDER BY time LIMIT 1
        ) nb ON true
        WHERE i.model_id = 'ppo_lstm_v3.2' AND i.model_version <> '3.3.0'  -- not the canary
        """
    ).fetchone()
    assert checked is not None
    resolved, pending, worst, overnight = checked
    assert (resolved, pending) == (23 * 60 - 1, 1)
    assert overnight == 22  # one a night (and weekend) between the 23 sessions
    # Closes are stored to 6 decimals (~4000 COP): ln of a ratio is off by < 1e-9.
    assert worst < 1e-9

    # The drift story still shows: the pipeline broke 26 h before Friday's close, so all of
    # Friday's session is drifted, and the calendar 24 h window before Saturday 10:00 holds it.
    drift = drift_service_pb2_grpc.DriftServiceStub(channel)
    request = dpb.GetDriftStatusRequest(
        model_id="sac_transformer_v2.1", end_time=SATURDAY.isoformat()
    )
    assert drift.GetDriftStatus(request).data.status == "critical"
