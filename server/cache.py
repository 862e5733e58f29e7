"""A short-lived, single-flight cache of unary responses.

Dashboards poll the same calls every few seconds, often from many tabs at once. An entry is fresh
for ``ttl`` seconds (default 2) and may be served ``stale`` seconds longer (default 1) while the
first caller to find it stale computes its successor, so whatever changes in the database (new
rows, rewards filled in, new bars) shows within ttl + stale + one computation, inside 5 s
(docs/DEFINITIONS.md#caching-and-freshness), without asking the database anything per call.
While one caller computes a key, identical calls wait for its result instead of computing it
again (single flight); errors are not cached. Memory is bounded twice: by the number of entries
and by their total size in bytes (``CACHE_MAX_BYTES``; a response's size is its serialized size).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")


class CacheStats(NamedTuple):
    """Lookups since start: served from an entry, served another caller's computation, computed."""

    hits: int
    shared: int
    misses: int
    entries: int


#: What :meth:`ResponseCache.peek` returns when it has nothing to serve without waiting.
MISSING: Any = object()


class ResponseCache(Generic[T]):
    """Thread-safe TTL cache of at most ``max_entries`` entries and ``max_bytes`` bytes in all
    (``size(value)`` of each); the least recently used go first. A value larger than
    ``max_bytes`` is handed to its callers but not kept.

    An entry is fresh for ``ttl`` seconds. For ``stale`` seconds more it is still served to every
    caller but one: the first to find it stale computes its successor (in its own call, with its
    own deadline), so other callers never wait on an expiry; after that it is computed again in
    the caller. Data is therefore never older than ``ttl + stale`` seconds plus one computation.
    """

    def __init__(
        self,
        ttl: float,
        stale: float | None = None,
        *,
        max_entries: int = 512,
        max_bytes: int | None = None,
        size: Callable[[T], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.stale = ttl / 2 if stale is None else stale
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._size = size
        self._clock = clock
        self._lock = threading.Lock()
        # key: (born, value, size in bytes)
        self._entries: OrderedDict[Hashable, tuple[float, T, int]] = OrderedDict()
        self._bytes = 0
        self._computing: dict[Hashable, Future[T]] = {}
        self._hits = self._shared = self._misses = 0

    @property
    def bytes(self) -> int:
        """The total size of the entries held."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: Hashable) -> T:
        """The value ``get`` would return at once, without computing or waiting: a fresh entry,
        or a stale one while another caller refreshes it; else :data:`MISSING`."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISSING  # type: ignore[no-any-return]
            age = self._clock() - entry[0]
            if age < self.ttl or (age < self.ttl + self.stale and key in self._computing):
                self._entries.move_to_end(key)
                self._hits += 1
                return entry[1]
        return MISSING  # type: ignore[no-any-return]

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
            self._bytes = 0

    def _compute(self, key: Hashable, compute: Callable[[], T], pending: Future[T]) -> T:
        """Compute ``key``, store it, and hand the outcome to everyone waiting for it."""
        born = self._clock()  # the data is at least this fresh
        try:
            value = compute()
            size = self._size(value) if self._size is not None else 0
        except BaseException as error:
            with self._lock:
                del self._computing[key]
            pending.set_exception(error)
            raise
        with self._lock:
            del self._computing[key]
            self._store(key, born, value, size)
        pending.set_result(value)
        return value

    def _store(self, key: Hashable, born: float, value: T, size: int) -> None:
        """Keep ``value`` (lock held), evicting the least recently used beyond the bounds."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[2]
        if self._max_bytes is not None and size > self._max_bytes:
            return  # would evict everything else and still not fit
        self._entries[key] = (born, value, size)
        self._bytes += size
        while len(self._entries) > self._max_entries or (
            self._max_bytes is not None and self._bytes > self._max_bytes
        ):
            _, (_, _, evicted) = self._entries.popitem(last=False)
            self._bytes -= evicted
