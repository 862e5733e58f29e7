"""A short-lived, single-flight cache of unary responses.

Dashboards poll the same calls every few seconds, often from many tabs at once. An entry is fresh
for ``ttl`` seconds (default 2) and may be served ``stale`` seconds longer while it is refreshed
in the background (default 1), so whatever changes in the database (new rows, rewards filled in,
new bars) shows within ttl + stale + one computation, inside the 5 s the SPEC allows, without
asking the database anything per call. While one caller computes a key, identical calls wait
for its result instead of computing it again (single flight); errors are not cached.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

import grpc

T = TypeVar("T")
log = logging.getLogger(__name__)
_NO_DEADLINE = 86_400.0  # a "deadline" further away than a day is no deadline


class ResponseCache(Generic[T]):
    """Thread-safe TTL cache with at most ``max_entries`` entries (least recently used go first).

    An entry is fresh for ``ttl`` seconds. For ``stale`` seconds more it is still served, while
    one background refresh computes its successor, so callers never wait on an expiry; after
    that it is computed again in the caller. Data is therefore never older than
    ``ttl + stale`` seconds plus one computation.
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
        self._refresher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cache-refresh")

    def get(self, key: Hashable, compute: Callable[[], T], timeout: float | None = None) -> T:
        """The cached value of ``key``, or ``compute()``'s (run once for concurrent callers).

        A caller waiting for another's computation gives up after ``timeout`` seconds with
        TimeoutError (its own call's deadline).
        """
        with self._lock:
            now = self._clock()
            entry = self._entries.get(key)
            if entry is not None:
                age = now - entry[0]
                if age < self.ttl + self.stale:
                    self._entries.move_to_end(key)
                    if age >= self.ttl and key not in self._computing:
                        self._computing[key] = Future()
                        refresh = self._refresher.submit(self._compute, key, compute)
                        refresh.add_done_callback(_log_failure)
                    return entry[1]
            pending = self._computing.get(key)
            owner = pending is None
            if pending is None:
                pending = self._computing[key] = Future()
        if not owner:
            return pending.result(timeout)
        return self._compute(key, compute)

    def clear(self) -> None:
        """Forget every entry (computations under way still complete)."""
        with self._lock:
            self._entries.clear()

    def close(self) -> None:
        """Stop the background refreshes (waiting for the running ones)."""
        self._refresher.shutdown(wait=True, cancel_futures=True)

    def _compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Compute ``key``, store it, and hand the outcome to everyone waiting for it."""
        born = self._clock()  # the data is at least this fresh
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                pending = self._computing.pop(key)
            pending.set_exception(error)
            raise
        with self._lock:
            pending = self._computing.pop(key)
            self._entries[key] = (born, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        pending.set_result(value)
        return value


def _log_failure(refresh: Future[Any]) -> None:
    """A failed background refresh has no caller to tell: log it (the entry stays stale)."""
    error = refresh.exception()
    if error is not None:
        log.warning("background refresh failed: %s", error, exc_info=error)


class CacheInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Serves the listed unary methods from a ResponseCache keyed by method and request bytes."""

    def __init__(self, cache: ResponseCache[Any], methods: frozenset[str]) -> None:
        self._cache = cache
        self._methods = methods

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or method not in self._methods:
            return handler
        behaviour = handler.unary_unary

        def cached(request: Any, context: grpc.ServicerContext) -> Any:
            key = (method, request.SerializeToString(deterministic=True))
            return self._cache.get(
                key, lambda: behaviour(request, context), timeout=_remaining(context)
            )

        return grpc.unary_unary_rpc_method_handler(
            cached,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _remaining(context: grpc.ServicerContext) -> float | None:
    """Seconds left before the call's deadline; None without one (grpc then reports ~forever,
    more than a lock wait accepts)."""
    remaining = context.time_remaining()
    return remaining if remaining is not None and remaining < _NO_DEADLINE else None
