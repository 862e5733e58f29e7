"""With the response cache on: repeated calls are served from it, and new rows show within 5 s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from conftest import InferenceLogLock, eventually
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc
from rows import Rows
from server.app import Service


@pytest.fixture
def cached_metrics(start_service: Callable[..., Service]) -> Iterator[Any]:
    service = start_service(cache_ttl_s=2.0)
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        yield metrics_service_pb2_grpc.MetricsServiceStub(channel)


def test_new_rows_are_visible_within_five_seconds(rows: Rows, cached_metrics: Any) -> None:
    now = datetime.now(UTC)
    rows.inference("fresh", now - timedelta(minutes=10), "LONG", reward=0.1)
    request = mpb.GetRollingMetricsRequest(model_id="fresh", window="1h")
    first = cached_metrics.GetRollingMetrics(request)
    assert first.data.data_points == 1

    rows.inference("fresh", now - timedelta(minutes=5), "SHORT", reward=0.2)
    again = cached_metrics.GetRollingMetrics(request)
    assert again == first  # served from the cache: same response, same timestamp
    # The freshness deadline is what this test measures: poll for the new row until 5 s.
    eventually(
        lambda: cached_metrics.GetRollingMetrics(request).data.data_points == 2,
        5.0,
        "the new row showing",
    )


def test_concurrent_identical_calls_share_one_computation(
    rows: Rows, cached_metrics: Any, inference_lock: InferenceLogLock
) -> None:
    rows.inference("busy", datetime.now(UTC) - timedelta(minutes=10), "LONG", reward=0.1)
    request = mpb.GetRollingMetricsRequest(model_id="busy", window="1h")
    with inference_lock.held():
        # The first caller computes: its query waits on the lock.
        first = cached_metrics.GetRollingMetrics.future(request)
        inference_lock.wait_for_queries(1)
        # The others come while it does, without a deadline or with one far away...
        waiters = [
            cached_metrics.GetRollingMetrics.future(request, timeout=deadline)
            for deadline in (None, 30.0, None)
        ]
        # ... and one with a deadline too short to wait for it.
        with pytest.raises(grpc.RpcError) as impatient:
            cached_metrics.GetRollingMetrics(request, timeout=0.3)
        assert impatient.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert inference_lock.waiting_queries() == 1, "the callers wait for the first one's query"
    replies = [call.result(timeout=10) for call in (first, *waiters)]
    assert all(reply == replies[0] for reply in replies)  # one computation, shared
