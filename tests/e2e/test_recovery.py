"""After a 30-second database outage: data calls succeed within 2 s of the database accepting
connections again, and health never says healthy while data calls fail.

Health (REST `/health` and gRPC `grpc.health.v1`) and data calls (REST through Envoy and native
gRPC) are polled concurrently through the whole outage, each observation recorded with when it
was asked and answered; the ordering is checked on those records. The test stops and restarts
a PostgreSQL of its own (embedded), never the shared one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import psycopg

from conftest import Stack
from databases import ScratchDatabase
from devstack import processes
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc

OUTAGE_S = 30.0
# About a second on an idle machine (the probe runs once a second); the pool's reconnection
# back-off, were it in the way, would take far longer.
RECOVERY_LIMIT_S = 6.0
POLL_S = 0.02  # between two questions of one poller: fine enough, and leaves CPU for the rest


@dataclass(frozen=True)
class Observation:
    asked: float
    answered: float
    ok: bool


class Poller(threading.Thread):
    """Asks ``ask()`` over and over until stopped, recording every answer."""

    def __init__(self, name: str, ask: Callable[[], bool], stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self._ask = ask
        self._stop_polling = stop
        self.seen: list[Observation] = []

    def run(self) -> None:
        while not self._stop_polling.is_set():
            asked = time.monotonic()
            try:
                ok = self._ask()
            except (grpc.RpcError, OSError):
                ok = False
            self.seen.append(Observation(asked, time.monotonic(), ok))
            self._stop_polling.wait(POLL_S)


def _accepting(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def test_recovery_is_prompt_and_health_never_runs_ahead(
    own_postgres: processes.EmbeddedPostgres, start_stack: Callable[..., Stack]
) -> None:
    dsn = own_postgres.dsn()
    # The deployed defaults: 1 s pool timeout, response cache on.
    stack = start_stack(ScratchDatabase(dsn).settings(db_pool_timeout_s=1.0, cache_ttl_s=2.0))
    rest = stack.rest
    model_health = health_service_pb2_grpc.HealthServiceStub(stack.channel)
    stop = threading.Event()

    def rest_data() -> bool:
        return rest.get("/api/health/models").status == 200

    def grpc_data() -> bool:
        model_health.ListModelHealth(health_service_pb2.ListModelHealthRequest(), timeout=5)
        return True

    def rest_health() -> bool:
        return bool(rest.get("/health").json()["status"] == "healthy")

    data = [Poller(f"rest-data-{i}", rest_data, stop) for i in range(3)]
    data.append(Poller("grpc-data", grpc_data, stop))
    health = [Poller("rest-health", rest_health, stop), Poller("grpc-health", stack.serving, stop)]
    pollers = data + health
    try:
        for poller in pollers:
            poller.start()
        deadline = time.monotonic() + 30
        while not all(any(o.ok for o in p.seen) for p in pollers):  # all up and answering
            assert time.monotonic() < deadline
            stop.wait(POLL_S)

        own_postgres.stop()  # the database goes away
        down = time.monotonic()
        stop.wait(OUTAGE_S)  # the outage lasts this long (not an ordering wait)

        accepting: list[float] = []
        refused = [time.monotonic()]  # when the latest refused connection attempt ended

        def watch_accept() -> None:
            while not _accepting(dsn):
                refused[0] = time.monotonic()
                stop.wait(POLL_S)
            accepting.append(time.monotonic())

        watcher = threading.Thread(target=watch_accept, daemon=True)
        watcher.start()
        own_postgres.restart()  # the database comes back
        watcher.join(30)
        [back] = accepting
        # Observe for a while after health is back.
        deadline = time.monotonic() + 30
        while not all(any(o.ok and o.asked > back + 3 for o in p.seen) for p in pollers):
            assert time.monotonic() < deadline, "not everything recovered within 30 s"
            stop.wait(POLL_S)
    finally:
        stop.set()
        for poller in pollers:
            poller.join(10)

    observations = sorted((o for p in data for o in p.seen), key=lambda o: o.asked)
    health_seen = sorted((o for p in health for o in p.seen), key=lambda o: o.asked)
    first_failure = min(o.answered for o in observations if not o.ok and o.asked > down)
    first_data_back = min(o.answered for o in observations if o.ok and o.asked > first_failure)
    healthy_again = min(o.answered for o in health_seen if o.ok and o.asked > first_failure)
    failures_after_healthy = [o for o in observations if not o.ok and o.asked > healthy_again]
    # Down for sure until the last refused connection: the database may accept (and the
    # service's probe find it) a little before this test's own attempt succeeds, on a loaded
    # machine by more than a poll interval.
    [still_down] = refused
    healthy_while_down = [
        o for o in health_seen if o.ok and first_failure < o.answered < still_down
    ]
    print(
        f"\noutage {back - down:.1f} s; first data failure {first_failure - down:.2f} s after it"
        f" began; data back {first_data_back - back:.2f} s and health back"
        f" {healthy_again - back:.2f} s after the database accepted connections;"
        f" {len(observations)} data and {len(health_seen)} health observations"
    )
    assert back - down >= OUTAGE_S
    assert first_failure - down < 6, "data calls fail within seconds of the outage"
    assert first_data_back - back < RECOVERY_LIMIT_S
    assert healthy_while_down == [], "health said healthy while data calls were failing"
    assert failures_after_healthy == [], "a data call failed after health said healthy"
    assert healthy_again - back < RECOVERY_LIMIT_S + 1.0
