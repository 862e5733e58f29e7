"""Custom metrics through the real server, each aggregate and op checked against numpy over the
rows the test wrote (NULLs, empty matches, in/not_in, quantile edges, the hour in Bogota); their
thresholds as health issues, their values in /metrics and as a series."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import numpy as np
import pytest
from numpy.typing import NDArray

from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc, metrics_service_pb2_grpc
from mlanalytics.v1 import metrics_service_pb2 as pb
from rows import Rows
from server.app import Service
from server.custom_metrics import CustomMetrics

MODEL = "custom_v1"
N = 288
ANNUAL = math.sqrt(252 * 59)

FILE = """
metrics:
  - {name: all_rows, aggregate: count}
  - name: long_rate
    aggregate: rate
    where: [{field: action, op: "==", value: LONG}]
  - name: confident_mean_reward
    aggregate: mean
    of: reward
    where: [{field: confidence, op: ">=", value: 0.7}]
  - name: short_reward_sum
    aggregate: sum
    of: reward
    where: [{field: action, op: in, value: [SHORT]}]
  - name: traded_min_latency
    aggregate: min
    of: latency_ms
    where: [{field: action, op: not_in, value: [HOLD]}]
  - name: rsi_max
    aggregate: max
    of: rsi_9
    where: [{field: rsi_9, op: "!=", value: 50}]
  - name: unsure_reward_std
    aggregate: std
    of: reward
    where: [{field: confidence, op: "<", value: 0.3}]
  - {name: latency_q_low, aggregate: quantile, of: latency_ms, q: 0.001}
  - {name: latency_q_high, aggregate: quantile, of: latency_ms, q: 0.999}
  - name: morning_win_rate
    aggregate: win_rate
    of: reward
    where: [{field: hour_cot, op: in, value: [8, 9, 10]}]
  - name: long_signal_sharpe
    aggregate: sharpe_ratio
    of: reward
    where: [{field: action_raw, op: ">", value: 0}]
  - name: small_moves
    aggregate: mean
    of: position_change
    where: [{field: position_change, op: "<=", value: 0.5}]
  - name: exact_raw
    aggregate: count
    where: [{field: action_raw, op: "==", value: 0.25}]
"""

#: Each aggregate over a filter no row matches (confidence is at most 1): the rest of its
#: definition, and its value then (None: absent).
NO_MATCH: dict[str, tuple[str, float | None]] = {
    "mean": ("of: reward", None),
    "sum": ("of: reward", 0.0),
    "std": ("of: reward", None),
    "win_rate": ("of: reward", 0.0),
    "quantile": ("of: latency_ms, q: 0.5", None),
}
FILE += "".join(
    f"  - {{name: none_{aggregate}, aggregate: {aggregate}, {fields},"
    ' where: [{field: confidence, op: ">", value: 1}]}\n'
    for aggregate, (fields, _) in NO_MATCH.items()
)
FILE += """\
  - name: warned_win_rate
    aggregate: win_rate
    of: reward
    better: higher
    warning: 0.99
    critical: 0.01
"""


class Written:
    """The rows of the test, as numpy columns (NaN for NULL)."""

    def __init__(self, rng: np.random.Generator, end: datetime) -> None:
        self.end = end
        last = np.datetime64(end.replace(tzinfo=None), "us") - np.timedelta64(1, "m")
        self.time = last - np.arange(N - 1, -1, -1) * np.timedelta64(5, "m")
        self.action = rng.choice(np.array(["LONG", "SHORT", "HOLD"]), N)
        self.action_raw = np.round(rng.uniform(-1, 1, N), 2)
        self.action_raw[:5] = 0.25
        self.confidence = rng.uniform(0, 1, N)
        self.reward = rng.normal(0.0001, 0.001, N)
        self.reward[rng.random(N) < 0.15] = np.nan
        self.reward[rng.random(N) < 0.1] = 0.0
        self.latency = rng.integers(3, 200, N).astype(float)
        self.latency[rng.random(N) < 0.1] = np.nan
        self.rsi = rng.uniform(20, 80, N).round(0)
        self.rsi[rng.random(N) < 0.2] = np.nan
        self.position_change = rng.choice(np.array([-1.0, 0.0, 0.5, 1.0, np.nan]), N)
        zone = ZoneInfo("America/Bogota")
        self.hour = np.array(
            [
                datetime.fromisoformat(str(t)).replace(tzinfo=UTC).astimezone(zone).hour
                for t in self.time
            ],
            dtype=float,
        )

    def write(self, rows: Rows) -> None:
        def nullable(values: NDArray[np.float64], integer: bool = False) -> NDArray[np.object_]:
            out = np.array([None if math.isnan(v) else v for v in values], dtype=object)
            if integer:
                out = np.array([None if v is None else int(v) for v in out], dtype=object)
            return out

        rows.inferences(
            {
                "timestamp_utc": self.time,
                "model_id": np.full(N, MODEL),
                "action_discretized": self.action,
                "action_raw": self.action_raw,
                "confidence": self.confidence,
                "reward": nullable(self.reward),
                "latency_ms": nullable(self.latency, integer=True),
                "rsi_9": nullable(self.rsi),
                "position_change": nullable(self.position_change),
            }
        )

    def expected(self) -> dict[str, tuple[float | None, int]]:
        """Each metric's (value, matching rows), computed here with plain numpy."""

        def known(x: NDArray[np.float64]) -> NDArray[np.bool_]:
            return ~np.isnan(x)

        r, lat = self.reward, self.latency

        def values(x: NDArray[np.float64], mask: NDArray[np.bool_]) -> NDArray[np.float64]:
            chosen = x[mask]
            return chosen[known(chosen)]

        def win_rate(x: NDArray[np.float64]) -> float:
            realized = int((x != 0).sum())
            return float((x > 0).sum() / realized) if realized else 0.0

        def sharpe(x: NDArray[np.float64]) -> float:
            if x.size < 2 or np.std(x, ddof=1) == 0:
                return 0.0
            return float(np.mean(x) / np.std(x, ddof=1) * ANNUAL)

        everything = np.ones(N, dtype=bool)
        long_ = self.action == "LONG"
        confident = self.confidence >= 0.7
        short = self.action == "SHORT"
        traded = self.action != "HOLD"
        rsi_known = known(self.rsi) & (np.nan_to_num(self.rsi, nan=50.0) != 50)
        unsure = self.confidence < 0.3
        morning = np.isin(self.hour, [8, 9, 10])
        positive = self.action_raw > 0
        small = known(self.position_change) & (np.nan_to_num(self.position_change, nan=9.0) <= 0.5)
        exact = self.action_raw == 0.25
        assert morning.any()
        assert not morning.all()
        return {
            "all_rows": (float(N), N),
            "long_rate": (float(long_.sum() / N), int(long_.sum())),
            "confident_mean_reward": (
                float(np.mean(values(r, confident))),
                int(confident.sum()),
            ),
            "short_reward_sum": (float(np.sum(values(r, short))), int(short.sum())),
            "traded_min_latency": (float(np.min(values(lat, traded))), int(traded.sum())),
            "rsi_max": (float(np.max(values(self.rsi, rsi_known))), int(rsi_known.sum())),
            "unsure_reward_std": (float(np.std(values(r, unsure), ddof=1)), int(unsure.sum())),
            "latency_q_low": (float(np.quantile(values(lat, everything), 0.001)), N),
            "latency_q_high": (float(np.quantile(values(lat, everything), 0.999)), N),
            "morning_win_rate": (win_rate(values(r, morning)), int(morning.sum())),
            "long_signal_sharpe": (sharpe(values(r, positive)), int(positive.sum())),
            "small_moves": (
                float(np.mean(values(self.position_change, small))),
                int(small.sum()),
            ),
            "exact_raw": (float(exact.sum()), int(exact.sum())),
            **{f"none_{aggregate}": (value, 0) for aggregate, (_, value) in NO_MATCH.items()},
            "warned_win_rate": (win_rate(values(r, everything)), N),
        }


@pytest.fixture
def server(
    tmp_path: Path, start_service: Callable[..., Service]
) -> tuple[Service, metrics_service_pb2_grpc.MetricsServiceStub, grpc.Channel]:
    path = tmp_path / "custom.yaml"
    path.write_text(FILE)
    service = start_service(custom_metrics=CustomMetrics.from_file(str(path), "America/Bogota"))
    channel = grpc.insecure_channel(f"127.0.0.1:{service.port}")
    return service, metrics_service_pb2_grpc.MetricsServiceStub(channel), channel


def test_every_aggregate_and_op_equals_numpy_over_the_rows(
    rows: Rows,
    rng: np.random.Generator,
    server: tuple[Service, metrics_service_pb2_grpc.MetricsServiceStub, grpc.Channel],
) -> None:
    _, metrics, channel = server
    end = datetime.now(UTC).replace(microsecond=0)
    written = Written(rng, end)
    written.write(rows)
    data = metrics.GetCustomMetrics(
        pb.GetCustomMetricsRequest(model_id=MODEL, window="24h", end_time=end.isoformat())
    ).data
    assert data.data_points == N
    expected = written.expected()
    assert [m.name for m in data.metrics] == list(expected)  # file order
    for got in data.metrics:
        value, matching = expected[got.name]
        assert got.rows == matching, got.name
        if value is None:
            assert not got.HasField("value"), got.name
        else:
            assert got.HasField("value"), got.name
            assert math.isclose(got.value, value, rel_tol=1e-9, abs_tol=1e-12), (
                got.name,
                got.value,
                value,
            )
    warned = next(m for m in data.metrics if m.name == "warned_win_rate")
    assert (warned.better, warned.status) == ("higher", "warning")

    # An empty window of a model that exists: rate undefined, counts 0, trading metrics 0.
    empty = metrics.GetCustomMetrics(
        pb.GetCustomMetricsRequest(
            model_id=MODEL, window="1h", end_time=(end - timedelta(days=3)).isoformat()
        )
    ).data
    assert empty.data_points == 0
    by_name = {m.name: m for m in empty.metrics}
    assert not by_name["long_rate"].HasField("value")
    assert by_name["all_rows"].value == 0
    assert by_name["none_sum"].value == 0
    assert by_name["morning_win_rate"].value == 0
    assert not by_name["confident_mean_reward"].HasField("value")
    assert by_name["warned_win_rate"].status == "critical"  # 0 is below 0.01 too

    # The threshold is a health issue of the model, and every value is in /metrics.
    health = health_service_pb2_grpc.HealthServiceStub(channel)
    model = health.GetModelHealth(
        health_service_pb2.GetModelHealthRequest(model_id=MODEL, end_time=end.isoformat())
    ).data
    assert any("custom metric warned_win_rate" in issue for issue in model.issues)
    assert model.status in ("warning", "critical")
    scrape = health.GetPrometheusMetrics(health_service_pb2.GetPrometheusMetricsRequest()).data
    text = scrape.decode()
    for name, (value, _) in expected.items():
        pattern = rf'mlanalytics_model_custom_metric{{metric="{name}",model_id="{MODEL}"}} (\S+)'
        found = re.search(pattern, text)
        if value is None:
            assert found is None, name
        else:
            assert found is not None, name
    assert (
        f'mlanalytics_model_custom_metric_status{{metric="warned_win_rate",model_id="{MODEL}"}} 1.0'
        in text
    )
    channel.close()


def test_a_custom_metric_series_equals_the_custom_call_at_each_point(
    rows: Rows,
    server: tuple[Service, metrics_service_pb2_grpc.MetricsServiceStub, grpc.Channel],
) -> None:
    _, metrics, channel = server
    end = datetime.now(UTC).replace(microsecond=0)
    written = Written(np.random.default_rng(3), end)
    written.write(rows)
    for name in ("morning_win_rate", "latency_q_high", "long_rate", "unsure_reward_std"):
        series = metrics.GetMetricSeries(
            pb.GetMetricSeriesRequest(
                model_id=MODEL,
                metric=name,
                window="1h",
                step="6h",
                start_time=(end - timedelta(hours=30)).isoformat(),
                end_time=end.isoformat(),
            )
        ).data
        assert len(series.points) == 6
        for point in series.points:
            at = point.end_time.ToDatetime(UTC).isoformat()
            data = metrics.GetCustomMetrics(
                pb.GetCustomMetricsRequest(model_id=MODEL, window="1h", end_time=at)
            ).data
            [want] = [m for m in data.metrics if m.name == name]
            assert point.data_points == data.data_points
            assert point.HasField("value") == want.HasField("value"), (name, at)
            if want.HasField("value"):
                assert math.isclose(point.value, want.value, rel_tol=1e-12), (name, at)
    channel.close()
