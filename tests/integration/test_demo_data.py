"""The demo data of `make run`: the documented stories, and top-ups equal to a fresh load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from devstack.seed import seed_demo
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import drift_service_pb2_grpc, health_service_pb2_grpc
from mlanalytics.v1 import health_service_pb2 as hpb
from rows import Rows

T1 = datetime(2026, 3, 2, 12, 3, 30, tzinfo=UTC)
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
    report = seed_demo(rows.conn, T1)
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


def test_top_up_equals_a_fresh_load(rows: Rows) -> None:
    t2 = T1 + timedelta(hours=3, minutes=17)
    seed_demo(rows.conn, T1)
    topped = seed_demo(rows.conn, t2)
    assert not topped.fresh
    assert topped.bars == 40  # the bars of 12:05 to 15:20
    incremental = _snapshot(rows)
    assert not seed_demo(rows.conn, t2).fresh  # idempotent: nothing changes
    assert _snapshot(rows) == incremental
    rows.conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv")
    assert seed_demo(rows.conn, t2).fresh
    fresh = _snapshot(rows)
    # The fresh load starts 35 days before t2, the first one 35 days before T1: compare the
    # common span, for the models whose stories (a version change, a drift) are not dated
    # relative to the moment of loading.
    start = t2 - timedelta(days=34)
    undated = {"a2c_conservative_v1.4", "dqn_legacy_v0.9", "td3_ensemble_v1.0"}

    def common(snapshot: list[Any]) -> list[Any]:
        return [r for r in snapshot if r[1] > start and r[0] in undated]

    assert common(incremental[0]) == common(fresh[0])
    assert len(common(fresh[0])) > 3 * 33 * 288
    assert [b for b in incremental[1] if b[0] > start] == [b for b in fresh[1] if b[0] > start]


def test_stale_data_is_replaced(rows: Rows) -> None:
    seed_demo(rows.conn, T1)
    later = seed_demo(rows.conn, T1 + timedelta(days=3))
    assert later.fresh


@pytest.mark.parametrize("other_source", ["vendor"])
def test_other_bars_are_left_alone(rows: Rows, other_source: str) -> None:
    rows.conn.execute(
        "INSERT INTO usdcop_m5_ohlcv (time, symbol, close, source) VALUES (%s, 'USD/COP', 1, %s)",
        (T1 - timedelta(hours=1, minutes=3, seconds=30), other_source),
    )
    seed_demo(rows.conn, T1)
    row = rows.conn.execute(
        "SELECT close, source FROM usdcop_m5_ohlcv WHERE time = %s",
        (T1 - timedelta(hours=1, minutes=3, seconds=30),),
    ).fetchone()
    assert row == (1, other_source)
