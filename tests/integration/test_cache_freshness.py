"""With the response cache on: repeated calls are served from it, and new rows show within 5 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg
import pytest

from databases import ScratchDatabase
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc
from rows import Rows
from server.app import create_server


@pytest.fixture
def cached_metrics(database: ScratchDatabase) -> Iterator[Any]:
    service = create_server(database.settings(cache_ttl_s=2.0))
    service.start()
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        yield metrics_service_pb2_grpc.MetricsServiceStub(channel)
    service.stop(grace=1)


def test_new_rows_are_visible_within_five_seconds(rows: Rows, cached_metrics: Any) -> None:
    now = datetime.now(UTC)
    rows.inference("fresh", now - timedelta(minutes=10), "LONG", reward=0.1)
    request = mpb.GetRollingMetricsRequest(model_id="fresh", window="1h")
    first = cached_metrics.GetRollingMetrics(request)
    assert first.data.data_points == 1

    rows.inference("fresh", now - timedelta(minutes=5), "SHORT", reward=0.2)
    written = time.monotonic()
    again = cached_metrics.GetRollingMetrics(request)
    assert again == first  # served from the cache: same response, same timestamp
    while cached_metrics.GetRollingMetrics(request).data.data_points != 2:
        assert time.monotonic() - written < 5.0, "the new row did not show within 5 s"
        time.sleep(0.1)


def test_concurrent_identical_calls_share_one_computation(
    rows: Rows, cached_metrics: Any, database: ScratchDatabase
) -> None:
    rows.inference("busy", datetime.now(UTC) - timedelta(minutes=10), "LONG", reward=0.1)
    request = mpb.GetRollingMetricsRequest(model_id="busy", window="1h")
    results: list[Any] = []

    def call(timeout: float | None) -> None:
        try:
            results.append(cached_metrics.GetRollingMetrics(request, timeout=timeout))
        except grpc.RpcError as error:
            results.append(error)

    with psycopg.connect(database.dsn) as locker:
        locker.execute("LOCK TABLE dw.fact_rl_inference IN ACCESS EXCLUSIVE MODE")
        # One caller computes (and waits on the lock); the others wait for it, without a
        # deadline or with one far away, and one with a deadline too short to wait.
        callers = [threading.Thread(target=call, args=(t,)) for t in (None, None, 30.0, None, 0.3)]
        for caller in callers:
            caller.start()
            time.sleep(0.05)
        time.sleep(0.6)
        locker.rollback()
    for caller in callers:
        caller.join(10)
    replies = [r for r in results if not isinstance(r, grpc.RpcError)]
    errors = [r for r in results if isinstance(r, grpc.RpcError)]
    assert len(replies) == 4
    assert all(r == replies[0] for r in replies)  # one computation, shared
    assert [e.code() for e in errors] == [grpc.StatusCode.DEADLINE_EXCEEDED]
