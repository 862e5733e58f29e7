"""A short-lived, single-flight cache of unary responses.

Dashboards poll the same calls every few seconds, often from many tabs at once. An entry is fresh
for ``ttl`` seconds (default 2) and may be served ``stale`` seconds longer (default 1) while the
first caller to find it stale computes its successor, so whatever changes in the database (new
rows, rewards filled in, new bars) shows within ttl + stale + one computation, inside 5 s
(docs/DEFINITIONS.md#caching-and-freshness), without asking the database anything per call.
While one caller computes a key, identical calls wait for its result instead of computing it
again (single flight); errors are not cached.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class CacheStats(NamedTuple):
    """Lookups since start: served from an entry, served another caller's computation, computed."""

    hits: int
    shared: int
    misses: int
    entries: int


class ResponseCache(Generic[T]):
    """Thread-safe TTL cache with at most ``max_entries`` entries (least recently used go first).

    An entry is fresh for ``ttl`` seconds. For ``stale`` seconds more it is still served to every
    caller but one: the first to find it stale computes its successor (in its own call, with its
    own deadline), so other callers never wait on an expiry; after that it is computed again in
    the caller. Data is therefore never older than ``ttl + stale`` seconds plus one computation.
    """

    def __init__(
        self,
        ttl: float,
        stale: float | None = None,
        max_entries: int = 512,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.stale = ttl / 2 if stale is None else stale
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()  # key: (born, value)
        self._computing: dict[Hashable, Future[T]] = {}
        self._hits = self._shared = self._misses = 0

    def get(self, key: Hashable, compute: Callable[[], T], timeout: float | None = None) -> T:
        """The cached value of ``key``, or ``compute()``'s (run once for concurrent callers).

        A caller waiting for another's computation gives up after ``timeout`` seconds with
        TimeoutError (its own call's deadline).
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            pending = self._computing.get(key)
            if entry is not None:
                age = now - entry[0]
                if age < self.ttl + self.stale:
                    self._entries.move_to_end(key)
                    if age < self.ttl or pending is not None:
                        self._hits += 1
                        return entry[1]  # fresh, or stale while another caller refreshes it
            owner = pending is None
            if pending is None:
                pending = self._computing[key] = Future()
                self._misses += 1
            else:
                self._shared += 1
        if not owner:
            return pending.result(timeout)
        return self._compute(key, compute, pending)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self._hits, self._shared, self._misses, len(self._entries))

    def clear(self) -> None:
        """Forget every entry (computations under way still complete)."""
        with self._lock:
            self._entries.clear()

    def _compute(self, key: Hashable, compute: Callable[[], T], pending: Future[T]) -> T:
        """Compute ``key``, store it, and hand the outcome to everyone waiting for it."""
        born = self._clock()  # the data is at least this fresh
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._computing[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._computing[key]
            self._entries[key] = (born, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        pending.set_result(value)
        return value
