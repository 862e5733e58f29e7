"""ResponseCache: time to live, single flight, errors, size bound."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from server.cache import ResponseCache


class Clock:
    """A clock the test sets; it notes which threads have read it (every ``get`` reads it once,
    under the cache's lock, before deciding to compute, wait or answer)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._readers: set[str] = set()
        self._read = threading.Condition()

    def __call__(self) -> float:
        with self._read:
            self._readers.add(threading.current_thread().name)
            self._read.notify_all()
        return self.now

    def wait_for_readers(self, names: set[str]) -> None:
        """Until every thread named has read the clock."""
        with self._read:
            assert self._read.wait_for(lambda: names <= self._readers, timeout=5), names


class ThreadWithResult(threading.Thread):
    """A thread whose target's return value can be joined for."""

    def __init__(self, target: Callable[[], str]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self._value: str | None = None

    def run(self) -> None:
        self._value = self._target_fn()

    def result(self) -> str | None:
        self.join(5)
        return self._value


class TestResponseCache:
    def test_reuses_a_value_for_its_ttl(self) -> None:
        clock = Clock()
        cache: ResponseCache[int] = ResponseCache(ttl=2.0, stale=0.0, clock=clock)
        calls = iter(range(100))
        assert cache.get("k", lambda: next(calls)) == 0
        clock.now = 1.99
        assert cache.get("k", lambda: next(calls)) == 0
        clock.now = 2.0
        assert cache.get("k", lambda: next(calls)) == 1  # expired: computed again

    def test_stale_value_is_served_to_others_while_one_caller_refreshes(self) -> None:
        clock = Clock()
        cache: ResponseCache[str] = ResponseCache(ttl=2.0, stale=1.0, clock=clock)
        cache.get("k", lambda: "old")
        clock.now = 2.5  # expired, but within the stale allowance
        refreshing, release = threading.Event(), threading.Event()
        refreshes: list[int] = []

        def refresh() -> str:
            refreshes.append(1)
            refreshing.set()
            release.wait(5)
            return "new"

        refresher = ThreadWithResult(lambda: cache.get("k", refresh))
        refresher.start()
        assert refreshing.wait(5)
        assert cache.get("k", refresh) == "old"  # others do not wait on the refresh
        assert cache.get("k", refresh) == "old"  # and only one refresh runs at a time
        release.set()
        assert refresher.result() == "new"  # the refreshing caller gets the new value
        assert cache.get("k", refresh) == "new"
        assert len(refreshes) == 1
        clock.now = 2.5 + 3.0 + 0.01  # beyond ttl + stale of the refreshed entry (born at 2.5)
        assert cache.get("k", lambda: "newest") == "newest"

    def test_keys_are_independent(self) -> None:
        cache: ResponseCache[str] = ResponseCache(ttl=10)
        assert cache.get("a", lambda: "A") == "A"
        assert cache.get("b", lambda: "B") == "B"

    def test_concurrent_callers_share_one_computation(self) -> None:
        clock = Clock()
        cache: ResponseCache[int] = ResponseCache(ttl=10, clock=clock)
        started, release = threading.Event(), threading.Event()
        computations = []

        def slow() -> int:
            computations.append(1)
            started.set()
            release.wait(5)
            return 42

        results: list[int] = []
        callers = [
            threading.Thread(
                target=lambda: results.append(cache.get("k", slow)), name=f"caller-{i}"
            )
            for i in range(8)
        ]
        callers[0].start()
        started.wait(5)  # the first caller computes
        for caller in callers[1:]:
            caller.start()
        # Every other caller has looked for "k" while it was being computed: each waits for it.
        clock.wait_for_readers({caller.name for caller in callers[1:]})
        release.set()
        for caller in callers:
            caller.join(5)
        assert results == [42] * 8
        assert len(computations) == 1

    def test_errors_reach_every_waiter_and_are_not_cached(self) -> None:
        cache: ResponseCache[int] = ResponseCache(ttl=10)

        def fail() -> int:
            raise RuntimeError("database down")

        with pytest.raises(RuntimeError, match="database down"):
            cache.get("k", fail)
        assert cache.get("k", lambda: 7) == 7

    def test_size_is_bounded_least_recently_used_first(self) -> None:
        cache: ResponseCache[int] = ResponseCache(ttl=10, max_entries=2)
        cache.get("a", lambda: 1)
        cache.get("b", lambda: 2)
        cache.get("a", lambda: 0)  # a is now the most recently used
        cache.get("c", lambda: 3)  # evicts b
        assert cache.get("a", lambda: -1) == 1
        assert cache.get("b", lambda: -2) == -2

    def test_a_waiter_gives_up_at_its_deadline(self) -> None:
        cache: ResponseCache[int] = ResponseCache(ttl=10)
        started, release = threading.Event(), threading.Event()

        def slow() -> int:
            started.set()
            release.wait(5)
            return 1

        owner = threading.Thread(target=lambda: cache.get("k", slow))
        owner.start()
        started.wait(5)
        with pytest.raises(TimeoutError):
            cache.get("k", slow, timeout=0.05)
        release.set()
        owner.join(5)

    def test_clear_forgets(self) -> None:
        cache: ResponseCache[int] = ResponseCache(ttl=10)
        cache.get("k", lambda: 1)
        cache.clear()
        assert cache.get("k", lambda: 2) == 2
