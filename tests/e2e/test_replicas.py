"""Server replicas behind Envoy: losing one under load loses no request.

1. `make run` (``python -m devstack run``) with SERVER_REPLICAS=2, against the test database,
   under a steady load of REST GETs (cached and uncached paths, 4 threads): one replica is
   SIGKILLed and restarted by the supervisor; once it answers SERVING itself and Envoy sees it
   healthy again, the other gets SIGTERM (a rolling restart) and is restarted too. No request
   fails, and each replica serves requests after its restart (its own request counter, read
   from it directly).
2. Two ``python -m server`` replicas behind Envoy, one reaching PostgreSQL through a TCP relay the
   test cuts: that replica says NOT_SERVING and leaves rotation (it gets no request), the other
   answers everything, and it comes back when the relay does. No request fails.

Every process is real and on loopback; every wait is a bounded poll of a state (Envoy's
``/clusters``, a process table, a counter). ``-s`` prints the figures of docs/RELIABILITY.md.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families
from tcprelay import Relay

from conftest import child_pids, make_run_process
from databases import ScratchDatabase
from devstack import envoy, processes
from devstack.processes import database_environment, free_port
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc

MODEL = "ppo_lstm_v3.2"  # a demo model
THREADS = 4
MAX_REQUESTS = 60_000  # per run: the load stops here whatever happens
PHASE_TIMEOUT_S = 60.0  # any one wait


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Load:
    """REST GETs through Envoy from ``THREADS`` threads until stopped: cached paths and paths
    no cache holds (a distinct ``end_time`` each), every outcome counted."""

    port: int
    end: datetime
    outcomes: list[int | str] = field(default_factory=list)  # 2xx status, or what went wrong
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def path(self, n: int) -> str:
        moment = (self.end - timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
        return [
            "/api/health/models",  # cached
            f"/api/metrics/rolling?model_id={MODEL}&end_time={moment}",  # uncached
            "/api/metrics/summary",  # cached
            f"/api/health/model/{MODEL}?end_time={moment}",  # uncached
            "/health",
        ][n % 5]

    def start(self) -> None:
        for i in range(THREADS):
            thread = threading.Thread(target=self._run, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self, first: int) -> None:
        n = first
        while not self._stop.is_set() and len(self.outcomes) < MAX_REQUESTS:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", self.path(n))
                response = conn.getresponse()
                body = response.read()
                outcome: int | str = response.status
                if not 200 <= response.status < 300:
                    outcome = f"{response.status} {body[:200]!r}"
            except (OSError, http.client.HTTPException) as error:
                outcome = repr(error)
            finally:
                conn.close()
            with self._lock:
                self.outcomes.append(outcome)
            n += THREADS

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(35)

    @property
    def count(self) -> int:
        return len(self.outcomes)

    @property
    def failures(self) -> list[int | str]:
        return [o for o in self.outcomes if not (isinstance(o, int) and 200 <= o < 300)]

    def wait_for(self, more: int) -> None:
        """Until ``more`` further requests were answered (whatever the answer)."""
        target = self.count + more
        _until(lambda: self.count >= target, f"{more} more requests")


def _until(
    condition: Callable[[], bool],
    what: str,
    timeout: float = PHASE_TIMEOUT_S,
    explain: Callable[[], str] = str,
) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Fails after ``timeout``, with
    what ``explain()`` says."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"timed out waiting for {what} {explain()}"
        time.sleep(0.05)  # polling another process's state: nothing to wait on
    return time.monotonic() - start


# --- what Envoy and the replicas say -------------------------------------------------------------


def health_flags(admin_url: str) -> dict[int, str]:
    """Envoy's health flags of each replica of the cluster, by port."""
    with urllib.request.urlopen(f"{admin_url}/clusters", timeout=5) as reply:
        text = reply.read().decode()
    return {
        int(port): flags
        for port, flags in re.findall(
            r"^grpc_server::[\d.]+:(\d+)::health_flags::(\S+)$", text, re.M
        )
    }


def all_healthy(admin_url: str, ports: list[int]) -> bool:
    flags = health_flags(admin_url)
    return all(flags.get(port) == "healthy" for port in ports)


def serving(port: int) -> bool:
    """Does the replica on ``port`` itself answer its gRPC health check with SERVING?"""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def envoy_stats(admin_url: str) -> dict[str, int]:
    """The grpc_server cluster's counters of retries, connection failures and ejections."""
    with urllib.request.urlopen(f"{admin_url}/stats?format=json", timeout=5) as reply:
        stats = json.load(reply)["stats"]
    prefix = "cluster.grpc_server."
    wanted = (
        "upstream_rq_retry",
        "upstream_rq_retry_success",
        "upstream_rq_retry_overflow",
        "upstream_cx_connect_fail",
        "outlier_detection.ejections_enforced_total",
        "health_check.failure",
    )
    found = {s["name"]: int(s["value"]) for s in stats if "name" in s and "value" in s}
    return {name: found.get(prefix + name, 0) for name in wanted}


class Counters:
    """Each replica's own count of the RPCs of the service it started (not gRPC health checks),
    from its Prometheus counter, asked directly; one channel per replica."""

    def __init__(self, ports: list[int]) -> None:
        self._channels = {port: grpc.insecure_channel(f"127.0.0.1:{port}") for port in ports}

    def served(self, port: int) -> int:
        stub = health_service_pb2_grpc.HealthServiceStub(self._channels[port])
        body = stub.GetPrometheusMetrics(
            health_service_pb2.GetPrometheusMetricsRequest(), timeout=10, wait_for_ready=True
        ).data.decode()
        return int(
            sum(
                sample.value
                for family in text_string_to_metric_families(body)
                if family.name == "grpc_server_started"
                for sample in family.samples
                if sample.labels["grpc_service"].startswith("mlanalytics.")
            )
        )

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


# --- 1. a rolling restart of `make run`'s replicas ------------------------------------------------


def _server_pids(make_run: subprocess.Popen[bytes]) -> dict[int, int]:
    """The running server replicas of a `make run`: pid by port."""
    pids = {}
    for pid in child_pids(make_run.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if argv[1:3] == [b"-m", b"server"] and state != "Z":
            [port] = [int(v[len(b"GRPC_PORT=") :]) for v in environ if v.startswith(b"GRPC_PORT=")]
            pids[port] = pid
    return pids


def _consecutive_free_ports() -> int:
    """A port p with p and p + 1 free on loopback right now."""
    for _ in range(50):
        port = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise AssertionError("no two consecutive free ports")


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    port: int
    ports: list[int]
    admin_url: str
    log: Path


@pytest.fixture
def make_run(database: ScratchDatabase, demo: datetime, tmp_path: Path) -> Iterator[MakeRun]:
    port, first = free_port(), _consecutive_free_ports()
    with make_run_process(
        tmp_path,
        **database_environment(database.dsn),
        SERVICE_HOST="127.0.0.1",
        SERVICE_PORT=str(port),
        GRPC_PORT=str(first),
        SERVER_REPLICAS="2",
        SHUTDOWN_GRACE_S="2",
    ) as running:
        admin: list[str] = []

        def up() -> bool:
            running.assert_running()
            admin[:] = re.findall(r"envoy (http://\S+)/clusters", running.log.read_text())
            return bool(admin)

        _until(up, "make run to come up", timeout=120)
        yield MakeRun(running.process, port, [first, first + 1], admin[0], running.log)


def test_a_rolling_restart_under_load_loses_no_request(make_run: MakeRun, demo: datetime) -> None:
    ports = make_run.ports
    _until(lambda: all_healthy(make_run.admin_url, ports), "both replicas healthy in Envoy")
    load = Load(make_run.port, demo)
    load.start()
    try:
        load.wait_for(200)
        rejoined = {}
        for port, signum in zip(ports, (signal.SIGKILL, signal.SIGTERM), strict=True):
            old = _server_pids(make_run.process)[port]
            os.kill(old, signum)
            started = time.monotonic()

            def restarted(port: int = port, old: int = old) -> bool:
                return _server_pids(make_run.process).get(port, old) != old

            seen: list[tuple[bool, str]] = []

            def back(port: int = port, seen: list[tuple[bool, str]] = seen) -> bool:
                # Envoy's flags alone can read "healthy" while the new process is not up yet:
                # between the end of an ejection and a second failed health check.
                seen[:] = [(serving(port), health_flags(make_run.admin_url).get(port, "?"))]
                return seen[0] == (True, "healthy")

            _until(restarted, f"the supervisor to restart the replica on {port}")
            _until(
                back,
                f"Envoy to see the replica on {port} healthy again",
                explain=lambda seen=seen: (
                    f"(serving, flags) {seen};"  # type: ignore[misc]
                    f" {envoy_stats(make_run.admin_url)}; log: {make_run.log.read_text()[-1500:]}"
                ),
            )
            rejoined[signal.Signals(signum).name] = time.monotonic() - started
            load.wait_for(200)
        # Each restarted replica takes its share of the load again.
        counters = Counters(ports)
        try:
            _until(
                lambda: all(counters.served(port) >= 50 for port in ports),
                "each replica to serve 50",
            )
            per_replica = [counters.served(port) for port in ports]
        finally:
            counters.close()
    finally:
        load.stop()
    stats = envoy_stats(make_run.admin_url)
    print(
        f"\nrolling restart: {load.count} requests, {len(load.failures)} failed;"
        f" rejoined after SIGKILL {rejoined['SIGKILL']:.1f} s, after SIGTERM"
        f" {rejoined['SIGTERM']:.1f} s; served since restart {per_replica}; envoy {stats}"
    )
    assert load.failures == [], load.failures[:10]
    log = make_run.log.read_text()
    assert f"server replica 1 (port {ports[0]}) was killed by SIGKILL" in log
    assert f"server replica 2 (port {ports[1]}) exited with status 0" in log
    assert log.count("restarted (restart 1, pid") == 2


# --- 2. a replica without its database leaves rotation ------------------------------------------


def _start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = processes.start_server(
        environment={**env, "SHUTDOWN_GRACE_S": "2"}, port=port, quiet=True
    )
    return server.process


def test_a_replica_without_its_database_leaves_rotation(
    database: ScratchDatabase, demo: datetime, tmp_path: Path
) -> None:
    relay = Relay.to(database.dsn)
    direct_env = database_environment(database.dsn)
    relayed_env = direct_env | {"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": str(relay.port)}
    ports = [free_port(), free_port()]
    healthy_port, cut_port = ports
    servers = [
        _start_server(direct_env, healthy_port),
        _start_server(relayed_env, cut_port),
    ]
    proxy = processes.start_envoy(
        envoy.render(listen_host="127.0.0.1", listen_port=0, backend_ports=ports)
    )
    load = Load(proxy.port, demo)
    counters = Counters(ports)
    try:
        _until(lambda: all_healthy(proxy.admin_url, ports), "both replicas healthy in Envoy")
        load.start()
        load.wait_for(200)

        relay.cut()  # the database goes away, for one replica only
        out_after = _until(
            lambda: "failed_active_hc" in health_flags(proxy.admin_url)[cut_port],
            "Envoy to take the replica without a database out",
        )
        before = counters.served(cut_port)
        requests_before = load.count
        load.wait_for(600)
        assert counters.served(cut_port) == before, "a replica out of rotation got requests"
        requests_while_out = load.count - requests_before

        relay.restore()
        back_after = _until(
            lambda: all_healthy(proxy.admin_url, [cut_port]),
            "Envoy to see the replica healthy again",
        )
        _until(lambda: counters.served(cut_port) >= before + 50, "the replica to serve again")
    finally:
        load.stop()
        counters.close()
        stats = envoy_stats(proxy.admin_url)
        proxy.stop()
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            server.wait(timeout=15)
        relay.cut()
    print(
        f"\ndatabase cut for one replica: {load.count} requests, {len(load.failures)} failed;"
        f" out of rotation {out_after:.2f} s after the cut, {requests_while_out} requests"
        f" meanwhile all answered by the other; back {back_after:.2f} s after the relay"
        f" returned; envoy {stats}"
    )
    assert load.failures == [], load.failures[:10]


# --- 3. Envoy is started only once it accepts ----------------------------------------------------


def test_envoy_is_up_only_once_its_listener_accepts() -> None:
    """With health checks, Envoy opens its listener only after the first check of every replica;
    it reports the listener's port before that. start_envoy waits for /ready, so a caller's first
    connection is accepted even while a replica leaves the first check hanging (for its 1 s
    timeout)."""
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        config = envoy.render(
            listen_host="127.0.0.1", listen_port=0, backend_port=silent.getsockname()[1]
        )
        proxy = processes.start_envoy(config, quiet=True)
        try:
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5).close()
        finally:
            proxy.stop()
