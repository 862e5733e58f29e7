"""Model health (ListModelHealth, GetModelHealth) against hand-computed expectations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from conftest import END, END_TIME
from mlanalytics.v1 import health_service_pb2 as pb
from mlanalytics.v1 import health_service_pb2_grpc
from mlanalytics.v1.common_pb2 import ModelHealth
from rows import Rows

MIN = timedelta(minutes=1)


def _series(rows: Rows, model_id: str, last: datetime, rewards: list[float], **kw: object) -> None:
    """One row per reward, 5 minutes apart, the last at ``last``."""
    for i, reward in enumerate(reversed(rewards)):
        rows.inference(model_id, last - 5 * i * MIN, "LONG", reward=reward, **kw)  # type: ignore[arg-type]


@pytest.fixture
def desk(rows: Rows) -> Rows:
    # good: 12 wins, 6 losses, 2 flat -> win rate 12/18; 40 ms; last 4 min ago; new version.
    rows.inference("good", END - timedelta(hours=30), "LONG", reward=0.1, model_version="1.0")
    _series(
        rows,
        "good",
        END - 4 * MIN,
        [0.1] * 12 + [-0.1] * 6 + [0.0] * 2,
        latency_ms=40,
        model_version="2.0",
    )
    # slow: win rate 10/15, 250 ms, last 20 min ago.
    _series(rows, "slow", END - 20 * MIN, [0.2] * 10 + [-0.1] * 5, latency_ms=250)
    # weak: 3 wins of 7 with P&L (one flat), 8 predictions, 80 ms, last 45 min ago.
    _series(rows, "weak", END - 45 * MIN, [0.1] * 3 + [-0.1] * 4 + [0.0], latency_ms=80)
    # stale: seen 3 days ago, silent since.
    _series(rows, "stale", END - timedelta(days=3), [0.1, -0.1], latency_ms=10)
    # gone: seen 10 days ago only (beyond the 7-day horizon); future: only after end_time.
    _series(rows, "gone", END - timedelta(days=10), [0.1])
    _series(rows, "future", END + timedelta(hours=1), [0.1])
    # A row exactly 24 h before end_time is outside the window (start exclusive).
    rows.inference("slow", END - timedelta(hours=24), "LONG", reward=-5.0, latency_ms=10_000)
    return rows


def _list(channel: grpc.Channel, end: datetime = END) -> pb.ModelHealthList:
    stub = health_service_pb2_grpc.HealthServiceStub(channel)
    response = stub.ListModelHealth(pb.ListModelHealthRequest(end_time=end.isoformat()))
    assert response.success
    return response.data


def _listed(channel: grpc.Channel) -> dict[str, ModelHealth]:
    """The listed models by id."""
    return {m.model_id: m for m in _list(channel).models}


def _one(channel: grpc.Channel, model_id: str) -> ModelHealth:
    """GetModelHealth of ``model_id`` at END."""
    stub = health_service_pb2_grpc.HealthServiceStub(channel)
    response = stub.GetModelHealth(pb.GetModelHealthRequest(model_id=model_id, end_time=END_TIME))
    return response.data


class TestListModelHealth:
    def test_every_model_seen_in_seven_days_and_nothing_else(
        self, desk: Rows, channel: grpc.Channel
    ) -> None:
        data = _list(channel)
        assert [m.model_id for m in data.models] == ["slow", "stale", "weak", "good"]
        assert (data.total_models, data.healthy_models, data.warning_models) == (4, 1, 0)
        assert data.critical_models == 3

    def test_healthy_model(self, desk: Rows, channel: grpc.Channel) -> None:
        good = _listed(channel)["good"]
        assert good.status == "healthy"
        assert good.model_version == "2.0"  # the latest one
        assert good.prediction_count == 20
        assert good.win_rate == pytest.approx(12 / 18, rel=1e-12)
        assert good.avg_latency_ms == pytest.approx(40.0)
        assert good.minutes_since_last == pytest.approx(4.0)
        assert good.last_prediction.ToDatetime(UTC) == END - 4 * MIN
        # min(40, 80 * 0.667) + 30 (<= 50 ms) + 30 (<= 10 min)
        assert good.health_score == pytest.approx(100.0)
        assert list(good.issues) == []

    def test_slow_model_is_critical(self, desk: Rows, channel: grpc.Channel) -> None:
        slow = _listed(channel)["slow"]
        assert slow.status == "critical"
        assert slow.prediction_count == 15  # the row at exactly end - 24 h is excluded
        assert slow.avg_latency_ms == pytest.approx(250.0)
        # 40 + 0 (> 200 ms) + 20 (<= 30 min)
        assert slow.health_score == pytest.approx(60.0)
        assert (slow.score_breakdown.latency_points, slow.score_breakdown.recency_points) == (0, 20)
        assert len(slow.issues) == 1
        assert "latency" in slow.issues[0]

    def test_weak_model(self, desk: Rows, channel: grpc.Channel) -> None:
        weak = _listed(channel)["weak"]
        assert weak.status == "critical"  # win rate 3/7 < 0.45
        assert weak.win_rate == pytest.approx(3 / 7, rel=1e-12)
        # 80 * 3/7 + 20 (<= 100 ms) + 10 (<= 60 min)
        assert weak.health_score == pytest.approx(80 * 3 / 7 + 20 + 10, rel=1e-12)
        assert len(weak.issues) == 3  # win rate, fewer than 10 predictions, silent > 30 min
        assert any("win rate" in issue for issue in weak.issues)

    def test_stale_model_stays_listed_as_critical(self, desk: Rows, channel: grpc.Channel) -> None:
        stale = _listed(channel)["stale"]
        assert stale.status == "critical"
        assert (stale.prediction_count, stale.win_rate) == (0, 0.0)
        assert not stale.HasField("avg_latency_ms")
        assert stale.last_prediction.ToDatetime(UTC) == END - timedelta(days=3)
        assert stale.minutes_since_last == pytest.approx(3 * 24 * 60)
        assert stale.health_score == 0.0
        assert stale.issues

    def test_end_time_moves_the_horizon(self, desk: Rows, channel: grpc.Channel) -> None:
        later = _list(channel, END + timedelta(hours=2))
        assert "future" in [m.model_id for m in later.models]
        earlier = _list(channel, END - timedelta(days=8))
        assert [m.model_id for m in earlier.models] == ["gone"]

    def test_empty_log(self, rows: Rows, channel: grpc.Channel) -> None:
        data = _list(channel)
        assert (data.total_models, list(data.models)) == (0, [])


class TestGetModelHealth:
    def test_same_numbers_as_the_list(self, desk: Rows, channel: grpc.Channel) -> None:
        for model_id, expected in _listed(channel).items():
            assert _one(channel, model_id) == expected

    def test_model_gone_quiet_long_ago_is_critical_not_missing(
        self, desk: Rows, channel: grpc.Channel
    ) -> None:
        gone = _one(channel, "gone")
        assert gone.status == "critical"
        assert gone.last_prediction.ToDatetime(UTC) == END - timedelta(days=10)

    def test_model_only_after_end_time_has_no_last_prediction(
        self, desk: Rows, channel: grpc.Channel
    ) -> None:
        future = _one(channel, "future")
        assert future.status == "critical"
        assert not future.HasField("last_prediction")
        assert not future.HasField("minutes_since_last")

    def test_unknown_model_is_not_found(self, desk: Rows, channel: grpc.Channel) -> None:
        stub = health_service_pb2_grpc.HealthServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetModelHealth(pb.GetModelHealthRequest(model_id="nobody"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert "nobody" in (caught.value.details() or "")
