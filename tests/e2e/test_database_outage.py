"""Database down: 503 JSON within 2 s, NOT_SERVING, the service stays up and recovers by itself.

This test stops and restarts a PostgreSQL of its own (embedded), never the shared one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from conftest import Stack, eventually
from databases import ScratchDatabase
from devstack import processes
from restclient import Reply


def test_outage_and_recovery(
    own_postgres: processes.EmbeddedPostgres, start_stack: Callable[..., Stack]
) -> None:
    # The deployed defaults: 1 s pool timeout, response cache on.
    database = ScratchDatabase(own_postgres.dsn())
    stack = start_stack(database.settings(db_pool_timeout_s=1.0, cache_ttl_s=2.0))
    rest, serving = stack.rest, stack.serving
    assert rest.get("/api/health/models").status == 200
    assert serving()

    own_postgres.stop()  # the database goes away
    stopped = time.monotonic()

    replies: list[Reply] = []

    def reports_outage() -> bool:  # the cached answer may be served until the monitor notices
        asked = time.monotonic()
        replies.append(rest.get("/api/health/models"))
        assert time.monotonic() - asked < 5.0, "every call answers within seconds"
        return replies[-1].status != 200

    eventually(reports_outage, 6, "the outage reported")
    reply = replies[-1]
    assert reply.status == 503, reply.body
    assert reply.json()["code"] == 14
    assert "database unavailable" in reply.json()["message"]
    # A second or two on an idle machine (bench/); waiting out connection timeouts and Envoy's
    # retries would take 15 s and more.
    assert time.monotonic() - stopped < 6, "503 within seconds of the outage"

    eventually(lambda: not serving(), 5, "gRPC health NOT_SERVING")
    health = rest.get("/health")
    assert health.status == 200  # the service itself stays up
    assert (health.json()["status"], health.json()["database"]) == ("degraded", "disconnected")

    own_postgres.restart()  # the database comes back
    eventually(lambda: rest.get("/api/health/models").status == 200, 30, "recovery")
    eventually(serving, 5, "gRPC health SERVING")
    assert rest.get("/health").json()["database"] == "connected"
