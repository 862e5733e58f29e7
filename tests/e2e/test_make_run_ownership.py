"""One stack per checkout, and nothing left behind.

- A second `make run` in the same checkout (or one that wants a port in use) is refused at once,
  with one line, and the first one keeps answering the same data.
- `make run` killed with SIGKILL: its watchdog stops every process of the run (servers, Envoy,
  the embedded PostgreSQL) and frees its ports.
- A `make run` after a killed one, stopped with Ctrl-C (SIGINT), leaves no process either, its
  embedded PostgreSQL included.
- Envoy's health checks name the run: a foreign gRPC server on a replica's port never gets a call.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import grpc
import psutil
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from conftest import MakeRunProcess, make_run_process
from databases import ScratchDatabase
from devstack.processes import database_environment, free_port

START_TIMEOUT_S = 180  # an embedded PostgreSQL to create and seed, on a loaded machine
GONE_WITHIN_S = 5.0


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _until(
    condition: Callable[[], bool], what: str, timeout: float, explain: Callable[[], str] = str
) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Fails after ``timeout``, with
    what ``explain()`` says."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() < started + timeout, f"timed out waiting for {what} {explain()}"
        time.sleep(0.05)  # another process's state: nothing to wait on
    return time.monotonic() - started


def _up(running: MakeRunProcess) -> bool:
    running.assert_running()
    return "is up" in running.log.read_text()


def _descendants(pid: int) -> set[int]:
    return {child.pid for child in psutil.Process(pid).children(recursive=True)}


def _postgres_of(workdir: Path) -> set[int]:
    """The embedded PostgreSQL's processes whose data folder is in ``workdir``."""
    folder = str(workdir / ".data" / "postgres")
    return {
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if folder in " ".join(process.info["cmdline"] or ())
    }


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _describe(pids: set[int]) -> str:
    found = []
    for pid in _alive(pids):
        try:
            found.append(f"{pid}: {' '.join(psutil.Process(pid).cmdline())[:100]}")
        except psutil.NoSuchProcess:
            continue
    return "; ".join(found)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _run_env(port: int, grpc_port: int, **extra: str) -> dict[str, str]:
    return {
        "SERVICE_HOST": "127.0.0.1",
        "SERVICE_PORT": str(port),
        "GRPC_PORT": str(grpc_port),
        "SHUTDOWN_GRACE_S": "2",
        **extra,
    }


def _refused(workdir: Path, env: dict[str, str]) -> tuple[int, str, float]:
    """A `python -m devstack run` expected to refuse: its status, stderr and seconds taken."""
    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, "-m", "devstack", "run"],
        cwd=workdir,
        env={**_base_environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return second.returncode, second.stderr, time.monotonic() - started


def _base_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTGRES_")}


def test_a_second_run_is_refused_while_the_first_keeps_answering(tmp_path: Path) -> None:
    port, grpc_port = free_port(), free_port()
    with make_run_process(tmp_path, **_run_env(port, grpc_port)) as first:
        _until(lambda: _up(first), "make run to come up", START_TIMEOUT_S)
        now = datetime.now(UTC)
        path = f"/api/metrics/summary?end_time={now:%Y-%m-%dT%H:%M:%SZ}"
        status, body = _get(port, path)
        assert status == 200
        before = json.loads(body)["data"]
        assert before["models"]  # the demo's

        # The same checkout, other ports: the data folder is taken.
        code, stderr, took = _refused(tmp_path, _run_env(free_port(), free_port()))
        assert code != 0
        assert took < 10, took
        [line] = stderr.strip().splitlines()
        assert ".data/postgres is in use by another `make run`" in line
        assert str(first.process.pid) in line

        # Another checkout, the first run's public port: named, with who holds it.
        other = tmp_path / "other"
        other.mkdir()
        code, stderr, took = _refused(other, _run_env(port, free_port()))
        assert code != 0
        assert took < 10, took
        [line] = stderr.strip().splitlines()
        assert f"port {port}" in line
        assert "in use by pid" in line
        assert "envoy" in line
        assert not (other / ".data" / "postgres").exists()  # refused before starting anything

        # ... and its server port.
        code, stderr, _ = _refused(other, _run_env(free_port(), grpc_port))
        assert code != 0
        assert f"port {grpc_port}" in stderr
        assert "GRPC_PORT" in stderr

        # The first run answers the same data all along.
        deadline = time.monotonic() + 60
        calls = 0
        while time.monotonic() < deadline:
            first.assert_running()
            status, body = _get(port, path)
            assert (status, json.loads(body)["data"]) == (200, before)
            calls += 1
            time.sleep(1)  # a steady pace over the minute asked for
        assert calls >= 30


def test_a_killed_run_leaves_nothing_and_the_next_one_stops_cleanly(tmp_path: Path) -> None:
    port, grpc_port = free_port(), free_port()
    with make_run_process(tmp_path, **_run_env(port, grpc_port)) as killed:
        _until(lambda: _up(killed), "make run to come up", START_TIMEOUT_S)
        processes = _descendants(killed.process.pid) | _postgres_of(tmp_path)
        assert len(processes) >= 4, processes  # watchdog, server, Envoy (and its wrapper), db
        killed.process.send_signal(signal.SIGKILL)
        killed.process.wait()
        took = _until(
            lambda: not _alive(processes),
            "every process of the run to end",
            GONE_WITHIN_S,
            explain=lambda: _describe(processes),
        )
        print(f"\nevery process of the killed run gone {took:.2f} s after SIGKILL")
        _until(
            lambda: _bindable(port) and _bindable(grpc_port), "its ports to be free", GONE_WITHIN_S
        )

    # The next run in the same checkout reuses the data folder; Ctrl-C stops all of it.
    with make_run_process(tmp_path, **_run_env(port, grpc_port)) as again:
        _until(lambda: _up(again), "make run to come up again", START_TIMEOUT_S)
        processes = _descendants(again.process.pid) | _postgres_of(tmp_path)
        assert _postgres_of(tmp_path)
        again.process.send_signal(signal.SIGINT)
        assert again.process.wait(timeout=60) == 0
        _until(
            lambda: not _alive(processes),
            "every process of the run to end",
            GONE_WITHIN_S,
            explain=lambda: _describe(processes),
        )
        assert not _postgres_of(tmp_path)


class _Foreign:
    """A gRPC server that is not ours: SERVING for the standard names, counting every call."""

    def __init__(self, port: int) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()
        outer = self

        class Count(grpc.GenericRpcHandler):  # type: ignore[type-arg]
            def service(self, details: grpc.HandlerCallDetails) -> None:  # None: UNIMPLEMENTED
                if not details.method.startswith("/grpc.health.v1."):
                    with outer._lock:
                        outer.calls.append(details.method)

        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            handlers=[Count()],
            options=[("grpc.so_reuseport", 0)],
        )
        checker = health.HealthServicer()
        checker.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(checker, self.server)
        self.server.add_insecure_port(f"127.0.0.1:{port}")
        self.server.start()


@contextmanager
def _foreign_on(port: int) -> Iterator[_Foreign]:
    foreign = _Foreign(port)
    try:
        yield foreign
    finally:
        foreign.server.stop(None)


def _server_on(run: MakeRunProcess, port: int) -> int | None:
    for pid in _descendants(run.process.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"server" in command and f"GRPC_PORT={port}".encode() in environ:
            return pid
    return None


def _flags(run: MakeRunProcess, port: int) -> str:
    """Envoy's health flags of the replica on ``port`` (``healthy`` when none is set)."""
    [admin] = re.findall(r"envoy (http://\S+)/clusters", run.log.read_text())
    with urllib.request.urlopen(f"{admin}/clusters", timeout=5) as reply:
        text = reply.read().decode()
    found = re.search(rf"^grpc_server::[\d.]+:{port}::health_flags::(\S+)$", text, re.M)
    assert found, text
    return found.group(1)


def test_a_foreign_server_on_a_replica_port_never_gets_a_call(
    database: ScratchDatabase, demo: datetime, tmp_path: Path
) -> None:
    port, first = free_port(), free_port()
    while not _bindable(first + 1):
        first = free_port()
    env = _run_env(port, first, SERVER_REPLICAS="2", **database_environment(database.dsn))
    with make_run_process(tmp_path, **env) as running:
        _until(lambda: _up(running), "make run to come up", START_TIMEOUT_S)
        victim = _server_on(running, first)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        _until(lambda: _bindable(first), "the replica's port to be free", 10)
        # The foreign server takes the port before the supervisor restarts the replica (which
        # then cannot bind it). Until Envoy's next health check it still believes the old host
        # healthy, so the test counts from the moment Envoy flags the port: from then on the
        # foreign server, although SERVING to the standard names, never answers the run's name
        # and is never healthy again.
        with _foreign_on(first) as foreign:
            _until(lambda: _flags(running, first) != "healthy", "Envoy to flag the port", 30)
            already = len(foreign.calls)
            answered = 0
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline or answered < 200:
                status, _ = _get(port, f"/api/health/models?end_time={demo:%Y-%m-%dT%H:%M:%SZ}")
                assert status == 200
                answered += 1
                assert time.monotonic() < deadline + 60
            assert foreign.calls[already:] == []
            assert _flags(running, first) != "healthy"
