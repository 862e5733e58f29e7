"""What the service must survive: malformed log rows, slow queries, huge or odd values."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import grpc
import pytest

from conftest import END, END_TIME, InferenceLogLock
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc, prediction_service_pb2_grpc
from mlanalytics.v1 import prediction_service_pb2 as ppb
from rows import Rows
from server.app import Service


@pytest.fixture
def loose_schema(rows: Rows) -> Iterator[Rows]:
    """The table with its column types only: no NOT NULL or CHECK (restored afterwards)."""
    with rows.loosened("action_raw", "confidence", "action_discretized", "symbol"):
        yield rows


def test_malformed_rows_are_left_out_not_fatal(loose_schema: Rows, channel: grpc.Channel) -> None:
    rows = loose_schema
    rows.bars(END - timedelta(hours=2), [4000.0 + i for i in range(30)])
    for i in range(6):
        rows.inference("messy", END - timedelta(minutes=90 - 5 * i), "LONG", reward=0.1)
    at = END - timedelta(minutes=30)
    rows.conn.execute(
        "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, symbol, action_raw,"
        " action_discretized, confidence) VALUES"
        " (%(t)s, 'messy', 'USD/COP', NULL, 'LONG', NULL),"  # counted; no raw signal, no conf.
        " (%(t)s, 'messy', NULL, 0.5, 'LONG', 0.5),"  # no symbol: not a prediction
        " (%(t)s, 'messy', 'USD/COP', 0.5, 'Long', 0.5),"  # unknown action: not a prediction
        " (%(t)s, 'messy', 'USD/COP', 0.5, NULL, 0.5)",  # no action: not a prediction
        {"t": at},
    )
    metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    rolling = metrics.GetRollingMetrics(
        mpb.GetRollingMetricsRequest(model_id="messy", window="24h", end_time=END_TIME)
    ).data
    assert rolling.data_points == 7
    assert rolling.resolved_predictions == 7
    long = rolling.predictions.by_action[0]
    assert long.count == 7
    assert long.avg_confidence == pytest.approx(0.5)  # the NULL confidence is skipped
    predictions = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    history = predictions.GetPredictionHistory(
        ppb.GetPredictionHistoryRequest(model_id="messy", end_time=END_TIME)
    ).data
    assert history.total == 7
    no_raw = [r for r in history.predictions if not r.HasField("action_raw")]
    assert len(no_raw) == 1  # the NULL action_raw and confidence are absent, not 0
    assert not no_raw[0].HasField("confidence")
    assert history.page_summary.avg_confidence == pytest.approx(0.5)  # NULL skipped, not 0
    comparison = predictions.GetPredictionComparison(
        ppb.GetPredictionComparisonRequest(model_id="messy", end_time=END.isoformat())
    ).data
    assert comparison.resolved == 7
    [entry] = [e for e in comparison.comparisons if not e.HasField("action_raw")]
    assert not entry.HasField("signal_error")  # no raw signal, no error: not a 500
    assert comparison.mean_abs_signal_error == pytest.approx(0.2)  # |0.8 - 1| over the other six


def test_slow_query_is_a_deadline_not_a_hang(
    rows: Rows, start_service: Callable[..., Service], inference_lock: InferenceLogLock
) -> None:
    rows.inference("m", END - timedelta(minutes=5), "LONG")
    service = start_service(db_statement_timeout_ms=300)
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        with inference_lock.held(), pytest.raises(grpc.RpcError) as caught:
            stub.GetRollingMetrics(mpb.GetRollingMetricsRequest(model_id="m"), timeout=10)
        error: Any = caught.value
        assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "too long" in error.details()
        # The pool is still usable afterwards.
        request = mpb.GetRollingMetricsRequest(model_id="m", end_time=END_TIME)
        reply = stub.GetRollingMetrics(request, timeout=10)
        assert reply.data.data_points == 1


@pytest.mark.parametrize(
    ("model_id", "end_time", "field"),
    [
        ("a\x00b", "", "model_id"),
        ("m", "0001-01-01T00:00:00Z", "end_time"),
        ("m", "9999-12-31T23:59:59-05:00", "end_time"),
        ("m", "x" * 100_000, "end_time"),
    ],
)
def test_odd_values_are_invalid_arguments(
    channel: grpc.Channel, model_id: str, end_time: str, field: str
) -> None:
    stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetRollingMetrics(mpb.GetRollingMetricsRequest(model_id=model_id, end_time=end_time))
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()
