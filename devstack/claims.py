"""What one `make run` claims before it starts anything: its ports, free, and its data folder, by a
lock. A second `make run` in the same checkout (or anything else on those ports) is refused with
one line naming what is taken and by whom, and nothing of the first run is touched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from collections.abc import Iterable
from pathlib import Path

import psutil


class Refused(Exception):
    """A port or the data folder is taken; the message says which, and by whom."""


def holder(port: int) -> str:
    """Who listens on TCP ``port``: ``pid N (command line)``, or ``another process``."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return "another process"
    for connection in connections:
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid
        ):
            try:
                command = " ".join(psutil.Process(connection.pid).cmdline())
            except psutil.Error:
                command = "?"
            return f"pid {connection.pid} ({command[:120]})"
    return "another process"


def check_ports_free(host: str, ports: Iterable[tuple[int, str]]) -> None:
    """Raise :class:`Refused` for the first of ``ports`` (port, what it is for) that cannot be
    bound on ``host`` right now. TIME_WAIT leftovers do not count (SO_REUSEADDR, as servers set);
    a listener does, whatever address it is bound to."""
    for port, purpose in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise Refused(
                        f"cannot bind {purpose} {host}:{port}: {error.strerror}"
                    ) from None
                raise Refused(
                    f"port {port} ({purpose}) is in use by {holder(port)}; stop it or set "
                    "another port"
                ) from None


class FolderLock:
    """An exclusive ``flock`` on ``<folder>.lock`` for as long as the file stays open, in this
    process or in a child it is handed to (``fd`` in ``pass_fds``); the kernel releases it when
    the last holder exits, however it exits. The file names the pid of the run that took it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder.with_name(folder.name + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(self.fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise Refused(
                f"{folder} is in use by another `make run` (pid {owner}) of this checkout;"
                " stop that one first"
            ) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        os.close(self.fd)
