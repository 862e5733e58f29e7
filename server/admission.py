"""Admission control: database-bound calls never take every thread.

The gRPC server serves every call from one pool of ``GRPC_MAX_WORKERS`` threads. A call that
needs the database can hold its thread for as long as the database takes (a lock, a slow plan),
so without a bound a burst of them would leave nothing for the calls that need no database
(``/health``, ``/``, cached answers) and those would queue behind them. :class:`Admission` lets
at most ``limit`` database-bound calls in at once (at most the pool's connections, and leaving
:data:`RESERVED_THREADS` threads free); the excess is refused at once with
:class:`~server.errors.ServerBusy` (UNAVAILABLE, HTTP 503), which clients retry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from server.errors import ServerBusy

#: Threads kept free of database work, for the calls that need none.
RESERVED_THREADS = 4


def database_call_limit(pool_max_size: int, workers: int) -> int:
    """How many database-bound calls may run at once: no more than the pool has connections
    (more would only wait for one), and leaving :data:`RESERVED_THREADS` threads free."""
    return max(1, min(pool_max_size, workers - RESERVED_THREADS))


class Admission:
    """At most ``limit`` holders at once; the next one is refused without waiting."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self.refused = 0  # calls refused so far

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold a slot for the ``with`` block; raise ServerBusy at once if none is free."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                self.refused += 1
            raise ServerBusy(self.limit)
        try:
            yield
        finally:
            self._slots.release()
