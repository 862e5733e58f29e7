"""``python -m devstack.watchdog``: stops what a `make run` started once that run has gone, however
it went (a clean stop, a crash, SIGKILL, an OOM kill, a closed terminal).

`make run` starts it first, in a session of its own, with a pipe on its standard input, and
writes a line for each thing it starts:

``group PID``
    a process group (a server replica, Envoy and its wrapper);
``ended PID``
    that group has exited and been reaped (its number may be used again);
``postgres DATA_DIR``
    the embedded PostgreSQL whose data lives in ``DATA_DIR``.

The watchdog reads until the pipe closes, which the kernel does when `make run` exits by any
path. Then, at once, it sends SIGTERM to every group still there and asks the PostgreSQL for a
fast shutdown (SIGINT to its postmaster, as ``pg_ctl stop -m fast`` does); it sends SIGKILL to
the groups left after :data:`GRACE_S` and waits until the PostgreSQL has exited. On a clean stop
`make run` has already stopped the groups in order (Envoy drains first), so only the database is
left to stop.

`make run` also hands it the lock of the data folder (an inherited ``flock``), so a next
`make run` is refused until the watchdog has finished and the folder is free.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

GRACE_S = 2.0  # SIGTERM, then SIGKILL after this long
POSTGRES_STOP_S = 60.0  # a fast shutdown with a checkpoint on a loaded machine


def _exists(signal_to: Callable[[int, int], None], number: int) -> bool:
    """Whether the process (``os.kill``) or group (``os.killpg``) ``number`` exists."""
    try:
        signal_to(number, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _alive(pid: int) -> bool:
    return _exists(os.kill, pid)


def _group_alive(group: int) -> bool:
    return _exists(os.killpg, group)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def stop_groups(groups: list[int], grace: float = GRACE_S) -> None:
    """SIGTERM each group still there; SIGKILL those left after ``grace`` seconds."""
    running = [group for group in groups if _group_alive(group)]
    for group in running:
        _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while running and time.monotonic() < deadline:
        running = [group for group in running if _group_alive(group)]
        time.sleep(0.05)  # another process's exit: nothing here to block on
    for group in running:
        _signal_group(group, signal.SIGKILL)


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the PostgreSQL running on ``data_dir`` (its ``postmaster.pid``), if any."""
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    pid = int(first) if first.strip().isdigit() else None
    return pid if pid and _alive(pid) else None


def stop_postgres(pid: int, timeout: float = POSTGRES_STOP_S) -> None:
    """Fast shutdown of the postmaster ``pid`` (SIGINT: its clients are disconnected, then a
    checkpoint); wait until it has exited, or make it quit at once after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGQUIT)  # immediate shutdown: it recovers from WAL at next start


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is for `make run`
    groups: list[int] = []
    databases: list[Path] = []
    for line in sys.stdin:
        kind, _, value = line.strip().partition(" ")
        if kind == "group" and value.isdigit():
            groups.append(int(value))
        elif kind == "ended" and value.isdigit() and int(value) in groups:
            groups.remove(int(value))
        elif kind == "postgres" and value:
            databases.append(Path(value))
    # The database stops at the same time as the processes using it: after a clean stop they
    # have gone already; after a hard one nothing is left to finish.
    postmasters = [pid for pid in map(postmaster_pid, databases) if pid is not None]
    for pid in postmasters:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
    stop_groups(groups)
    for pid in postmasters:
        stop_postgres(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
