"""A metric series equals, point by point, the rolling call at each point's end_time, through
the real server on the session calendar (windows on the trading-day clock)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest

from analytics import MarketCalendar
from databases import ScratchDatabase
from mlanalytics.v1 import metrics_service_pb2 as pb
from mlanalytics.v1 import metrics_service_pb2_grpc
from rows import Rows, every_five_minutes
from server.app import create_server

MODEL = "series_v1"
END = datetime(2026, 11, 30, 17, 7, 30, tzinfo=UTC)  # a Monday, 12:07 in Bogota
# Metrics of each kind: by prefix sums, by slices (resolution as of t, percentiles, drawdown).
METRICS = (
    "sharpe_ratio",
    "win_rate",
    "total_return",
    "avg_return",
    "std_return",
    "reward_count",
    "avg_latency_ms",
    "accuracy",
    "f1_score",
    "max_drawdown",
    "profit_factor",
    "p95_latency_ms",
    "var_95",
)


@pytest.fixture(scope="module")
def metrics(database: ScratchDatabase) -> Iterator[metrics_service_pb2_grpc.MetricsServiceStub]:
    running = create_server(database.settings(market_calendar=MarketCalendar()))
    running.start()
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as opened:
        yield metrics_service_pb2_grpc.MetricsServiceStub(opened)
    running.stop(grace=1)


@pytest.fixture
def written(rows: Rows) -> Rows:
    rng = np.random.default_rng(7)
    times = every_five_minutes(END - timedelta(minutes=2, seconds=30), 6)
    n = times.size
    reward = rng.normal(0.0002, 0.001, n)
    reward[rng.random(n) < 0.1] = np.nan  # NULL rewards
    reward[rng.random(n) < 0.1] = 0.0  # flat bars
    latency = rng.integers(5, 80, n).astype(object)
    latency[rng.random(n) < 0.05] = None
    actions = rng.choice(np.array(["LONG", "SHORT", "HOLD"]), n)
    for action in ("LONG", "SHORT", "HOLD"):
        chosen = actions == action
        rows.series(
            MODEL,
            times[chosen],
            action,
            {
                "reward": reward[chosen],
                "latency_ms": latency[chosen],
                "confidence": rng.random(int(chosen.sum())),
            },
        )
    first = END - timedelta(days=6, minutes=5)
    closes = list(4000 + np.cumsum(rng.normal(0, 2, 6 * 288 + 2)))
    rows.bars(first.replace(second=0), closes)
    return rows


#: Metrics the rolling call leaves out when they do not exist.
OPTIONAL = frozenset({"profit_factor", "avg_latency_ms", "p95_latency_ms", "var_95"})


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_each_point_is_the_rolling_call_at_its_end_time(
    written: Rows, metrics: metrics_service_pb2_grpc.MetricsServiceStub
) -> None:
    start = END - timedelta(days=2)
    answers = {
        name: metrics.GetMetricSeries(
            pb.GetMetricSeriesRequest(
                model_id=MODEL,
                metric=name,
                window="24h",
                step="6h",
                start_time=start.isoformat(),
                end_time=END.isoformat(),
            )
        ).data
        for name in METRICS
    }
    points = answers["sharpe_ratio"].points
    assert len(points) == 9  # END, END - 6 h, ..., END - 48 h
    assert [p.end_time.ToDatetime(UTC) for p in points] == [
        END - timedelta(hours=6 * k) for k in range(8, -1, -1)
    ]
    checked = 0
    for k, point in enumerate(points):
        at = point.end_time.ToDatetime(UTC)
        rolling = metrics.GetRollingMetrics(
            pb.GetRollingMetricsRequest(model_id=MODEL, window="24h", end_time=at.isoformat())
        ).data
        for name in METRICS:
            got = answers[name].points[k]
            assert got.end_time.ToDatetime(UTC) == at
            assert got.data_points == rolling.data_points, (name, at)
            present = {field.name for field, _ in rolling.metrics.ListFields()}
            expected_present = name not in OPTIONAL or name in present
            assert got.HasField("value") == expected_present, (name, at)
            if expected_present:
                want = float(getattr(rolling.metrics, name))
                assert close(got.value, want), (name, at, got.value, want)
                checked += 1
    assert checked > 9 * 10
    # The windows overlap the weekend: a Monday-morning point's 24 h reach back into Friday.
    assert {p.data_points for p in points} != {points[0].data_points}


def test_a_range_of_more_than_1000_points_is_refused(
    written: Rows, metrics: metrics_service_pb2_grpc.MetricsServiceStub
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        metrics.GetMetricSeries(
            pb.GetMetricSeriesRequest(
                model_id=MODEL,
                metric="win_rate",
                step="5m",
                start_time=(END - timedelta(days=4)).isoformat(),
                end_time=END.isoformat(),
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1153 points" in str(error.value.details())


def test_an_unknown_metric_is_refused_naming_the_known_ones(
    written: Rows, metrics: metrics_service_pb2_grpc.MetricsServiceStub
) -> None:
    with pytest.raises(grpc.RpcError) as error:
        metrics.GetMetricSeries(pb.GetMetricSeriesRequest(model_id=MODEL, metric="sharpe"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sharpe_ratio" in str(error.value.details())
    with pytest.raises(grpc.RpcError) as missing:
        metrics.GetMetricSeries(pb.GetMetricSeriesRequest(model_id="nobody", metric="win_rate"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
