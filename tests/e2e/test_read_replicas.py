"""A primary and its streaming replica: reads go to the standby, and survive losing either host.

The test builds its own pair (``tests/replicas.py``: ``pg_basebackup -R`` from a primary with
``wal_level=replica``), writes rows on the primary, waits for the standby to replay them, and
points the real server at both (``POSTGRES_HOST=127.0.0.1,127.0.0.1 POSTGRES_PORT=p1,p2``). Then,
under a steady load of gRPC reads through the Python client (which retries UNAVAILABLE), it stops
the standby (``pg_ctl stop -m fast``: the pool moves to the primary), brings the standby back,
and stops the primary (the pool moves back to the standby). Every read must succeed and be
right. The response cache is off, so every call is a database read. Figures:
docs/RELIABILITY.md, "Database read replicas and failover".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from replicas import ReplicatedPostgres, Server

from devstack.seed import create_schema
from mlanalytics import AnalyticsClient
from mlanalytics.errors import AnalyticsError
from rows import Rows
from server.app import Service, create_server
from server.config import Settings

DB = "mlanalytics_replicas"
MODELS = ("alpha", "beta", "gamma")
END = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
ROWS_PER_MODEL = 2 * 288  # 2 days of 5-minute predictions before END
#: Load per phase: this many reads before the stop and after it, at most this long.
READS_BEFORE, READS_AFTER, PHASE_TIMEOUT_S, MAX_READS = 60, 200, 60.0, 5000
MAX_NOT_SERVING_MS = 600.0  # ~0 with the probe's reconnection; ~1 s without
#: Reads go on at least this long after the stop, so that the health probe (once a second) has
#: met the lost host too.
AFTER_STOP_S = 2.5
CLIENTS = 4


@pytest.fixture
def cluster() -> Iterator[ReplicatedPostgres]:
    pair = ReplicatedPostgres()
    try:
        pair.start()
        yield pair
    finally:
        pair.close()


def _seed(primary: Server) -> None:
    """Three models' predictions, 5 minutes apart, and the bars that resolve them."""
    primary.query(f"CREATE DATABASE {DB}")
    rng = np.random.default_rng(7)
    times = [END - timedelta(minutes=5 * i) for i in range(ROWS_PER_MODEL)][::-1]
    with psycopg.connect(primary.dsn(DB), autocommit=True) as conn:
        create_schema(conn)
        rows = Rows(conn)
        rows.bars(
            END - timedelta(minutes=5 * ROWS_PER_MODEL),
            list(4000 + np.cumsum(rng.normal(0, 2, ROWS_PER_MODEL + 2))),
        )
        for model_id in MODELS:
            raw = rng.uniform(-1, 1, ROWS_PER_MODEL)
            rows.inferences(
                {
                    "timestamp_utc": times,
                    "timestamp_cot": times,
                    "model_id": [model_id] * ROWS_PER_MODEL,
                    "model_version": ["1.0"] * ROWS_PER_MODEL,
                    "symbol": ["USD/COP"] * ROWS_PER_MODEL,
                    "action_raw": raw,
                    "action_discretized": np.where(
                        raw > 0.3, "LONG", np.where(raw < -0.3, "SHORT", "HOLD")
                    ),
                    "confidence": np.abs(raw),
                    "reward": rng.normal(0, 1e-3, ROWS_PER_MODEL),
                    "latency_ms": rng.integers(10, 60, ROWS_PER_MODEL),
                }
            )


def _service(cluster: ReplicatedPostgres) -> Service:
    """The server, configured from the environment as in production, on both hosts."""
    settings = Settings.from_env(
        {
            "SERVICE_HOST": "127.0.0.1",
            "GRPC_PORT": "0",
            "POSTGRES_HOST": "127.0.0.1,127.0.0.1",
            "POSTGRES_PORT": f"{cluster.primary.port},{cluster.replica.port}",
            "POSTGRES_DB": DB,
            "POSTGRES_USER": "postgres",
            "CACHE_TTL_S": "0",  # every call reads the database
            "MARKET_CALENDAR": "always",
            "HEALTH_MIN_TRADES": "0",
            "SHUTDOWN_GRACE_S": "2",
        }
    )
    service = create_server(settings)
    service.start()
    return service


def _unavailable_answers(service: Service) -> float:
    """UNAVAILABLE answers the server has given so far (each one retried by the client)."""
    return sum(
        sample.value
        for metric in service.telemetry.registry.collect()
        for sample in metric.samples
        if sample.name == "grpc_server_handled_total"
        and sample.labels.get("grpc_code") == "UNAVAILABLE"
    )


def _where_the_pool_reads(service: Service) -> tuple[bool, int]:
    """(pg_is_in_recovery(), server port) of a connection from the service's own pool."""
    with service.pool.connection() as conn:
        row = conn.execute("SELECT pg_is_in_recovery(), inet_server_port()").fetchone()
    assert row is not None
    return bool(row[0]), int(row[1])


def _poll(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s")
        time.sleep(0.05)


def _sessions(server: Server) -> int:
    """The service's open sessions on ``server`` (its pool's and its health probe's)."""
    count = server.query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mlanalytics'"
    )
    assert isinstance(count, int)
    return count


class HealthWatch:
    """The service's gRPC health as a load balancer sees it: a Watch stream, every change timed."""

    def __init__(self, port: int) -> None:
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self._changes: list[tuple[float, bool]] = []  # (monotonic time, serving)
        self._lock = threading.Lock()
        self._first = threading.Event()
        self._stream = health_pb2_grpc.HealthStub(self._channel).Watch(
            health_pb2.HealthCheckRequest(service="")
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._first.wait(10), "no health status within 10 s"

    def _run(self) -> None:
        try:
            for reply in self._stream:
                serving = reply.status == health_pb2.HealthCheckResponse.SERVING
                with self._lock:
                    self._changes.append((time.monotonic(), serving))
                self._first.set()
        except grpc.RpcError:
            pass  # cancelled by close()

    def not_serving_s(self, start: float, end: float) -> float:
        """Seconds of (start, end) during which the status was anything but SERVING."""
        with self._lock:
            changes = list(self._changes)
        before = [serving for at, serving in changes if at <= start]
        down_since = None if (before[-1] if before else True) else start
        total = 0.0
        for at, serving in changes:
            if not start < at < end:
                continue
            if not serving and down_since is None:
                down_since = at
            elif serving and down_since is not None:
                total, down_since = total + at - down_since, None
        return total + (end - down_since if down_since is not None else 0.0)

    def close(self) -> None:
        self._stream.cancel()
        self._thread.join(timeout=5)
        self._channel.close()


@dataclass
class Load:
    """CLIENTS threads reading in a loop through the Python client, until stopped."""

    target: str
    service: Service
    successes: int = 0
    failures: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    longest_s: float = 0.0
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for index in range(CLIENTS):
            thread = threading.Thread(target=self._run, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    @property
    def reads(self) -> int:
        return self.successes + len(self.failures)

    def wait_for(self, successes: int) -> None:
        """Until ``successes`` reads have succeeded; fails past the phase's time or read bound."""
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        with self._changed:
            while self.successes < successes:
                if self.reads >= MAX_READS or not self._changed.wait(deadline - time.monotonic()):
                    pytest.fail(
                        f"{self.successes} of {successes} reads succeeded"
                        f" ({len(self.failures)} failed: {self.failures[:3]})"
                    )

    def keep_reading_until(self, moment: float) -> None:
        """Let the load run until ``time.monotonic()`` reaches ``moment``."""
        with self._changed:
            while (left := moment - time.monotonic()) > 0:
                self._changed.wait(left)

    def _run(self, index: int) -> None:
        calls = _calls()
        with AnalyticsClient(self.target, timeout=10) as client:
            turn = index
            while not self._stop.is_set() and self.reads < MAX_READS:
                check = calls[turn % len(calls)]
                turn += 1
                started = time.monotonic()
                problem: str | None = None
                failed: str | None = None
                try:
                    problem = check(client)
                except AnalyticsError as error:
                    failed = f"{type(error).__name__}: {error}"
                elapsed = time.monotonic() - started
                with self._changed:
                    self.longest_s = max(self.longest_s, elapsed)
                    if failed is not None:
                        self.failures.append(failed)
                    else:
                        self.successes += 1
                        if problem is not None:
                            self.wrong.append(problem)
                    self._changed.notify_all()


def _calls() -> list[Callable[[AnalyticsClient], str | None]]:
    """Reads of different shapes; each returns what is wrong with its answer, or None."""
    in_24h = 288  # rows of each model in (END - 24 h, END]

    def rolling(client: AnalyticsClient) -> str | None:
        answer = client.rolling_metrics("alpha", window="24h", end_time=END)
        return None if answer.data_points == in_24h else f"rolling: {answer.data_points} points"

    def history(client: AnalyticsClient) -> str | None:
        answer = client.prediction_history("beta", page_size=50, end_time=END)
        return None if len(answer.predictions) == 50 else f"history: {len(answer.predictions)}"

    def health(client: AnalyticsClient) -> str | None:
        answer = client.list_model_health(end_time=END)
        return None if answer.total_models == len(MODELS) else f"health: {answer.total_models}"

    def comparison(client: AnalyticsClient) -> str | None:
        answer = client.performance_comparison(window="24h", end_time=END)
        seen = {model.model_id for model in answer.models}
        return None if seen == set(MODELS) else f"comparison: {sorted(seen)}"

    return [rolling, history, health, comparison]


@dataclass(frozen=True)
class Phase:
    name: str
    reads: int
    failed: int
    retried: int
    longest_ms: float
    not_serving_ms: float

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.reads} reads, {self.failed} failed, {self.retried} UNAVAILABLE"
            f" answers retried by the client, longest read {self.longest_ms:.0f} ms,"
            f" health not SERVING for {self.not_serving_ms:.0f} ms"
        )


def _stop_under_load(name: str, service: Service, server: Server, health: HealthWatch) -> Phase:
    """READS_BEFORE reads, ``server`` stopped (fast), READS_AFTER more reads and at least
    AFTER_STOP_S seconds of them: all must succeed."""
    unavailable = _unavailable_answers(service)
    with Load(f"127.0.0.1:{service.port}", service) as load:
        load.wait_for(READS_BEFORE)
        started = time.monotonic()
        server.stop()
        stopped = time.monotonic()
        load.wait_for(load.successes + READS_AFTER)
        load.keep_reading_until(stopped + AFTER_STOP_S)
        ended = time.monotonic()
    assert not load.wrong, load.wrong[:5]
    return Phase(
        name,
        load.reads,
        len(load.failures),
        int(_unavailable_answers(service) - unavailable),
        load.longest_s * 1000,
        health.not_serving_s(started, ended) * 1000,
    )


def test_reads_prefer_the_standby_and_survive_losing_either_host(
    cluster: ReplicatedPostgres,
) -> None:
    primary, replica = cluster.primary, cluster.replica
    _seed(primary)
    cluster.wait_caught_up()
    service = _service(cluster)
    health = HealthWatch(service.port)
    try:
        # Both up: with prefer-standby every connection of the service is on the standby.
        with Load(f"127.0.0.1:{service.port}", service) as load:
            load.wait_for(READS_BEFORE)  # the pool grows under load
        assert not load.failures, load.failures[:3]
        assert not load.wrong, load.wrong[:3]
        assert _where_the_pool_reads(service) == (True, replica.port)
        # The pool's connections and, once it has run, the health probe's: all on the standby.
        pool_size = service.pool.get_stats()["pool_size"]
        _poll(lambda: _sessions(replica) == pool_size + 1)
        on_standby, on_primary = _sessions(replica), _sessions(primary)
        assert on_primary == 0, (on_standby, on_primary)

        # The standby fails: the pool moves to the primary.
        standby_lost = _stop_under_load("standby stopped", service, replica, health)
        assert _where_the_pool_reads(service) == (False, primary.port)

        # The standby returns and catches up; the pool's connections stay on the primary (until
        # they are replaced), so the next failure is the primary's.
        replica.start()
        cluster.wait_caught_up()
        assert _sessions(replica) == 0

        # The primary fails: the pool moves back to the standby, which keeps serving reads.
        primary_lost = _stop_under_load("primary stopped", service, primary, health)
        assert _where_the_pool_reads(service) == (True, replica.port)

        print(
            f"\nboth up: {on_standby} service sessions on the standby (pool {pool_size}, probe 1),"
            f" {on_primary} on the primary"
        )
        for phase in (standby_lost, primary_lost):
            print(phase)
            assert phase.failed == 0, phase
            # A load balancer must not take the service out for a database failover: one failed
            # health check of a short poll could. (Without the probe's reconnection: ~1 s.)
            assert phase.not_serving_ms <= MAX_NOT_SERVING_MS, phase
    finally:
        health.close()
        service.stop(grace=1)
