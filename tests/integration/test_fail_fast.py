"""While the readiness monitor knows the database is down, database-bound calls are refused at
once (UNAVAILABLE), not after DB_POOL_TIMEOUT_S each; those refusals never hold back recovery.

This is what keeps Envoy's retries (three tries of an UNAVAILABLE call) from tripling the time to
a 503 in a real outage. The server reaches the test database through a TCP relay that the test
cuts and restores; the database itself keeps running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from tcprelay import Relay

from databases import ScratchDatabase
from mlanalytics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from server.app import Service, create_server

# Longer than the deployed 1 s, so that "refused at once" (milliseconds) and "refused after the
# pool timeout" stay far apart even on a loaded machine.
POOL_TIMEOUT_S = 4.0


@pytest.fixture
def relayed(database: ScratchDatabase) -> Iterator[tuple[Service, Relay]]:
    relay = Relay.to(database.dsn)
    service = create_server(
        database.settings(
            postgres_host="127.0.0.1",
            postgres_port=relay.port,
            db_pool_timeout_s=POOL_TIMEOUT_S,
        )
    )
    service.start()
    yield service, relay
    service.stop(grace=1)
    relay.cut()


def _summary(channel: grpc.Channel) -> tuple[grpc.StatusCode, str, float]:
    """One uncached data call: its code, message and duration."""
    stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    started = time.monotonic()
    try:
        stub.GetMetricsSummary(metrics_service_pb2.GetMetricsSummaryRequest(), timeout=10)
        code, message = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        code, message = error.code(), error.details() or ""
    return code, message, time.monotonic() - started


def test_known_outage_is_refused_at_once_and_recovery_is_not_held_back(
    relayed: tuple[Service, Relay],
) -> None:
    service, relay = relayed
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        assert _summary(channel)[0] == grpc.StatusCode.OK

        relay.cut()
        deadline = time.monotonic() + 10
        while service.monitor.connected:  # the probe (1 s) or a failed call notices
            assert time.monotonic() < deadline
            _summary(channel)
        refusals = [_summary(channel) for _ in range(20)]
        assert {code for code, _, _ in refusals} == {grpc.StatusCode.UNAVAILABLE}
        assert all("database unavailable (down)" in message for _, message, _ in refusals)
        slowest = max(took for _, _, took in refusals)
        assert slowest < POOL_TIMEOUT_S / 4, f"refused after {slowest:.3f} s, not at once"

        # Callers keep asking throughout; their refusals must not count as new failures.
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                _summary(channel)

        askers = [threading.Thread(target=keep_asking) for _ in range(4)]
        for asker in askers:
            asker.start()
        try:
            relay.restore()
            restored = time.monotonic()
            while _summary(channel)[0] != grpc.StatusCode.OK:
                assert time.monotonic() - restored < 8, "recovery held back by the refusals"
        finally:
            stop.set()
            for asker in askers:
                asker.join(15)
    print(f"\nrefused at once: slowest of 20 {slowest * 1000:.1f} ms")
