"""`make run` as a newcomer runs it (embedded PostgreSQL, demo data, server, Envoy): the service
connects as a role that can only read, and SIGTERM drains the edge first, then the server, then
the database, so REST calls in flight at SIGTERM complete with 200.

``python -m devstack run`` runs in a folder of the test's own (its embedded database lives in
``.data/`` there), on free ports.
"""

from __future__ import annotations

import http.client
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import errors

from conftest import InferenceLogLock, child_pids, make_run_process
from devstack.processes import free_port
from devstack.run import DEMO_CUSTOM_METRICS
from server.config import Settings
from server.db import conninfo


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    port: int  # Envoy's public port
    grpc_port: int
    server_pid: int
    server_env: dict[str, str]

    def superuser_dsn(self) -> str:
        """The embedded database as its superuser (over the same Unix socket)."""
        return psycopg.conninfo.make_conninfo(
            host=self.server_env["POSTGRES_HOST"],
            port=self.server_env["POSTGRES_PORT"],
            dbname=self.server_env["POSTGRES_DB"],
            user="postgres",
        )


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode() for key, value in pairs}


def _status(port: int, path: str, timeout: float = 30) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeRun]:
    port, grpc_port = free_port(), free_port()
    with make_run_process(
        tmp_path_factory.mktemp("make-run"),
        SERVICE_HOST="127.0.0.1",
        SERVICE_PORT=str(port),
        GRPC_PORT=str(grpc_port),
        SHUTDOWN_GRACE_S="10",
    ) as running:
        deadline = time.monotonic() + 180  # an embedded PostgreSQL to create and seed
        while not (_accepts(port) and _status(port, "/health") == 200):
            running.assert_running()
            assert time.monotonic() < deadline, "make run did not come up"
            time.sleep(0.2)  # polling a child process's start-up: nothing to wait on
        [server_pid] = [
            pid
            for pid in child_pids(running.process.pid)
            if b"server" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]
        yield MakeRun(running.process, port, grpc_port, server_pid, _environ(server_pid))


def test_the_service_connects_as_a_reader_that_cannot_write(make_run: MakeRun) -> None:
    env = make_run.server_env
    assert env["POSTGRES_USER"] == "mlanalytics_reader"
    assert not env.get("POSTGRES_PASSWORD")
    settings = Settings.from_env(env)  # the service's own connection settings
    with psycopg.connect(conninfo(settings), autocommit=True) as conn:
        conn.execute("BEGIN READ WRITE")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM dw.fact_rl_inference")
        conn.execute("ROLLBACK")
    assert _status(make_run.port, "/api/health/models") == 200  # and it reads
    with psycopg.connect(make_run.superuser_dsn(), autocommit=True) as admin:
        users = admin.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'mlanalytics'"
        ).fetchall()
    assert users == [("mlanalytics_reader",)]


def test_the_demo_shows_the_example_custom_metrics(make_run: MakeRun) -> None:
    example = yaml.safe_load(DEMO_CUSTOM_METRICS.read_text())
    connection = http.client.HTTPConnection("127.0.0.1", make_run.port, timeout=30)
    try:
        connection.request("GET", "/api/metrics/custom/definitions")
        body = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert [m["name"] for m in body["data"]["metrics"]] == [m["name"] for m in example["metrics"]]


def test_sigterm_lets_rest_calls_in_flight_finish(make_run: MakeRun) -> None:
    in_flight = 4
    statuses: list[int | str] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        # A distinct end_time each, so none is answered from the cache.
        path = f"/api/health/models?end_time=2026-01-0{i + 1}T00:00:00Z"
        try:
            status: int | str = _status(make_run.port, path, timeout=60)
        except OSError as error:
            status = repr(error)
        with lock:
            statuses.append(status)

    table_lock = InferenceLogLock(make_run.superuser_dsn())
    with table_lock.held():
        callers = [threading.Thread(target=call, args=(i,)) for i in range(in_flight)]
        for caller in callers:
            caller.start()
        table_lock.wait_for_queries(in_flight, timeout=30)  # all four in flight
        make_run.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        while _accepts(make_run.port):  # Envoy stops accepting connections...
            assert time.monotonic() - signalled < 8, "Envoy still accepts connections"
        refused_after = time.monotonic() - signalled
        # ... while the server still serves: it is stopped only once Envoy has drained.
        assert Path(f"/proc/{make_run.server_pid}").exists()
        assert _accepts(make_run.grpc_port)
        assert statuses == []  # nothing answered yet: the calls wait on the lock
    for caller in callers:
        caller.join(30)
    assert statuses == [200] * in_flight
    assert make_run.process.wait(timeout=60) == 0
    print(f"\nnew connections refused {refused_after * 1000:.0f} ms after SIGTERM")
    assert not Path(f"/proc/{make_run.server_pid}").exists()
    with pytest.raises(psycopg.OperationalError):  # and the database stopped last
        psycopg.connect(make_run.superuser_dsn(), connect_timeout=2).close()
