"""ResponseCache: the bound in bytes, and peek (what can be served without waiting)."""

from __future__ import annotations

import threading

import pytest

from conftest import Clock
from server.cache import MISSING, ResponseCache


class TestBytesBound:
    def test_total_size_stays_within_max_bytes_least_recently_used_first(self) -> None:
        cache: ResponseCache[bytes] = ResponseCache(ttl=10, max_bytes=100, size=len)
        cache.get("a", lambda: b"a" * 40)
        cache.get("b", lambda: b"b" * 40)
        assert cache.bytes == 80
        cache.get("a", lambda: b"")  # a is now the most recently used
        cache.get("c", lambda: b"c" * 40)  # 120 > 100: b goes
        assert cache.bytes == 80
        assert len(cache) == 2
        assert cache.get("a", lambda: b"recomputed") == b"a" * 40
        assert cache.get("b", lambda: b"recomputed") == b"recomputed"

    def test_a_value_larger_than_the_bound_is_returned_but_not_kept(self) -> None:
        cache: ResponseCache[bytes] = ResponseCache(ttl=10, max_bytes=100, size=len)
        cache.get("small", lambda: b"s" * 10)
        assert cache.get("huge", lambda: b"h" * 101) == b"h" * 101
        assert (cache.bytes, len(cache)) == (10, 1)  # nothing else was evicted for it
        assert cache.get("huge", lambda: b"again") == b"again"

    def test_a_recomputed_entry_replaces_its_size(self) -> None:
        clock = Clock()
        cache: ResponseCache[bytes] = ResponseCache(
            ttl=1, stale=0, max_bytes=100, size=len, clock=clock
        )
        cache.get("k", lambda: b"x" * 60)
        clock.now = 2.0  # expired
        cache.get("k", lambda: b"y" * 30)
        assert cache.bytes == 30

    def test_entry_count_still_bounds(self) -> None:
        cache: ResponseCache[bytes] = ResponseCache(
            ttl=10, max_entries=2, max_bytes=10**6, size=len
        )
        for key in "abc":
            cache.get(key, lambda: b"v")
        assert (len(cache), cache.bytes) == (2, 2)

    def test_clear_releases_the_bytes(self) -> None:
        cache: ResponseCache[bytes] = ResponseCache(ttl=10, max_bytes=100, size=len)
        cache.get("k", lambda: b"v" * 50)
        cache.clear()
        assert (len(cache), cache.bytes) == (0, 0)


@pytest.fixture
def aging() -> tuple[Clock, ResponseCache[str]]:
    """A cache on a test clock holding "k" = "old" from time 0: fresh for 2 s, then stale for 1."""
    clock = Clock()
    cache: ResponseCache[str] = ResponseCache(ttl=2, stale=1, clock=clock)
    cache.get("k", lambda: "old")
    return clock, cache


class TestPeek:
    def test_unknown_is_missing(self) -> None:
        cache: ResponseCache[str] = ResponseCache(ttl=10)
        assert cache.peek("k") is MISSING

    @pytest.mark.parametrize(
        ("now", "peeked"),
        [
            pytest.param(1.5, "old", id="fresh"),
            # Stale and nobody refreshing: the caller must compute it.
            pytest.param(2.5, MISSING, id="stale"),
            pytest.param(3.0, MISSING, id="expired"),
        ],
    )
    def test_with_nobody_refreshing(
        self, aging: tuple[Clock, ResponseCache[str]], now: float, peeked: object
    ) -> None:
        clock, cache = aging
        clock.now = now
        assert cache.peek("k") == peeked

    def test_stale_is_served_while_another_caller_refreshes(
        self, aging: tuple[Clock, ResponseCache[str]]
    ) -> None:
        clock, cache = aging
        clock.now = 2.5
        refreshing, release = threading.Event(), threading.Event()

        def refresh() -> str:
            refreshing.set()
            release.wait(5)
            return "new"

        refresher = threading.Thread(target=lambda: cache.get("k", refresh))
        refresher.start()
        assert refreshing.wait(5)
        assert cache.peek("k") == "old"
        release.set()
        refresher.join(5)
        assert cache.peek("k") == "new"
