"""Database down: 503 JSON within 2 s, NOT_SERVING, the service stays up and recovers by itself.

This test stops and restarts a PostgreSQL of its own (embedded), never the shared one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import eventually
from databases import ScratchDatabase
from devstack import envoy, processes
from devstack.seed import create_schema
from restclient import Reply, Rest
from server.app import Service


@pytest.fixture
def own_postgres() -> Iterator[processes.EmbeddedPostgres]:
    database = processes.start_postgres()
    yield database
    database.close()


def test_outage_and_recovery(
    own_postgres: processes.EmbeddedPostgres, start_service: Callable[..., Service]
) -> None:
    dsn = own_postgres.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_schema(conn)
        conn.execute(
            "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, action_raw,"
            " action_discretized, confidence, reward, latency_ms)"
            " VALUES (%s, 'm', 0.9, 'LONG', 0.9, 0.1, 20)",
            (datetime.now(UTC),),
        )
    # The deployed defaults: 1 s pool timeout, response cache on.
    service = start_service(ScratchDatabase(dsn).settings(db_pool_timeout_s=1.0, cache_ttl_s=2.0))
    proxy = processes.start_envoy(
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

        own_postgres.stop()  # the database goes away
        stopped = time.monotonic()

        replies: list[Reply] = []

        def reports_outage() -> bool:  # the cached answer may be served until the monitor notices
            asked = time.monotonic()
            replies.append(rest.get("/api/health/models"))
            assert time.monotonic() - asked < 2.0, "every call answers within 2 s"
            return replies[-1].status != 200

        eventually(reports_outage, 2.5, "the outage reported")
        reply = replies[-1]
        assert reply.status == 503, reply.body
        assert reply.json()["code"] == 14
        assert "database unavailable" in reply.json()["message"]
        assert time.monotonic() - stopped < 2.5, "503 within a second or two of the outage"

        eventually(lambda: not serving(), 5, "gRPC health NOT_SERVING")
        health = rest.get("/health")
        assert health.status == 200  # the service itself stays up
        assert (health.json()["status"], health.json()["database"]) == ("degraded", "disconnected")

        own_postgres.restart()  # the database comes back
        eventually(lambda: rest.get("/api/health/models").status == 200, 30, "recovery")
        eventually(serving, 5, "gRPC health SERVING")
        assert rest.get("/health").json()["database"] == "connected"
    finally:
        channel.close()
        proxy.stop()
