"""Keep `make run`'s server replicas running: one that exits is started again, with back-off.

Each replica is a child process on a port of its own. :meth:`Supervisor.poll`, called by the
run loop, notices a replica that exited, logs it and starts it again after a delay: 1 s, then
twice the last delay each time it dies again (at most 30 s), back to 1 s once it had stayed up
60 s. Envoy takes the replica out of rotation meanwhile (its health checks) and back once it
answers; the other replicas serve.

Replicas are started from the thread that calls :meth:`Supervisor.start` and :meth:`poll` (the
main thread): a child's parent-death signal (``PR_SET_PDEATHSIG``) fires when the *thread* that
started it ends, so a helper thread would take the replicas with it when it ends.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("devstack.supervisor")

Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: ``first`` s, doubling up to ``cap``; back to ``first`` for a
    process that had stayed up ``stable`` s before it exited."""

    first: float = 1.0
    cap: float = 30.0
    stable: float = 60.0

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap:
            raise ValueError(f"first must be in (0, cap], got {self.first}")
        if self.stable <= 0:
            raise ValueError(f"stable must be positive, got {self.stable}")

    def after(self, previous: float | None, uptime: float) -> float:
        """The delay before the next start, given the ``previous`` delay (None: none yet) and
        how long the process ran."""
        if previous is None or uptime >= self.stable:
            return self.first
        return min(previous * 2, self.cap)


@dataclass
class Replica:
    """One supervised server: its number (from 1), port, process and restart state."""

    number: int
    port: int
    process: Process
    started: float
    restarts: int = 0
    delay: float | None = None  # the last back-off used; None until the first restart
    restart_at: float | None = None  # while it is down: when it is started again

    @property
    def name(self) -> str:
        return f"server replica {self.number} (port {self.port})"


class Supervisor:
    """Starts a process per port with ``start(port)`` and keeps each one running."""

    def __init__(
        self,
        ports: Sequence[int],
        start: Callable[[int], Process],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not ports:
            raise ValueError("ports must name at least one port")
        self._ports = list(ports)
        self._start = start
        self._backoff = backoff or Backoff()
        self._clock = clock
        self.replicas: list[Replica] = []

    def start(self) -> list[Replica]:
        """Start every replica (once)."""
        self.replicas = [
            Replica(number, port, self._start(port), self._clock())
            for number, port in enumerate(self._ports, start=1)
        ]
        return self.replicas

    def poll(self) -> None:
        """Note the replicas that exited; start again those whose delay has passed."""
        now = self._clock()
        for replica in self.replicas:
            if replica.restart_at is None:
                status = replica.process.poll()
                if status is None:
                    continue
                uptime = now - replica.started
                replica.delay = self._backoff.after(replica.delay, uptime)
                replica.restart_at = now + replica.delay
                log.warning(
                    "%s %s after %.1f s; restarting in %g s",
                    replica.name,
                    _describe(status),
                    uptime,
                    replica.delay,
                )
            if replica.restart_at is not None and now >= replica.restart_at:
                replica.process = self._start(replica.port)
                replica.started = self._clock()
                replica.restart_at = None
                replica.restarts += 1
                log.warning(
                    "%s restarted (restart %d, pid %d)",
                    replica.name,
                    replica.restarts,
                    replica.process.pid,
                )

    def stop(self, grace: float) -> None:
        """SIGTERM every replica at once (each drains its calls for up to ``grace`` s), then
        SIGKILL any still running 5 s after that."""
        running = [r.process for r in self.replicas if r.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace + 5
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _describe(status: int) -> str:
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"
