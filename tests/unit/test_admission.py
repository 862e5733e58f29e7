"""Admission: at most `limit` holders; the next is refused at once, and a slot comes back."""

from __future__ import annotations

import threading

import pytest

from server.admission import RESERVED_THREADS, Admission, database_call_limit
from server.errors import ServerBusy


class TestAdmission:
    def test_refuses_beyond_the_limit_without_waiting(self) -> None:
        admission = Admission(2)
        with (
            admission.admit(),
            admission.admit(),
            pytest.raises(ServerBusy, match="2 database calls already in progress"),
            admission.admit(),
        ):
            pass  # pragma: no cover
        assert admission.refused == 1
        with admission.admit():  # both slots are free again
            pass

    def test_a_failing_holder_gives_its_slot_back(self) -> None:
        admission = Admission(1)
        with pytest.raises(RuntimeError), admission.admit():
            raise RuntimeError("query failed")
        with admission.admit():
            pass

    def test_concurrent_holders_never_exceed_the_limit(self) -> None:
        admission = Admission(3)
        inside = threading.Semaphore(0)
        release = threading.Event()
        outcomes: list[str] = []
        lock = threading.Lock()

        def hold() -> None:
            try:
                with admission.admit():
                    inside.release()
                    release.wait(5)
                    result = "admitted"
            except ServerBusy:
                result = "refused"
            with lock:
                outcomes.append(result)

        holders = [threading.Thread(target=hold) for _ in range(3)]
        for thread in holders:
            thread.start()
        for _ in range(3):
            assert inside.acquire(timeout=5)  # all three hold a slot now
        late = [threading.Thread(target=hold) for _ in range(5)]
        for thread in late:
            thread.start()
        for thread in late:
            thread.join(5)
        assert outcomes == ["refused"] * 5  # refused while the three still hold their slots
        release.set()
        for thread in holders:
            thread.join(5)
        assert sorted(outcomes) == ["admitted"] * 3 + ["refused"] * 5

    def test_limit_must_be_positive(self) -> None:
        with pytest.raises(ValueError, match="limit"):
            Admission(0)


class TestDatabaseCallLimit:
    @pytest.mark.parametrize(
        ("pool", "workers", "expected"),
        [
            (10, 16, 10),  # the defaults: the pool is the bound, 6 threads stay free
            (10, 12, 12 - RESERVED_THREADS),  # few threads: the reserve is the bound
            (2, 16, 2),
            (10, 5, 1),
        ],
    )
    def test_bound(self, pool: int, workers: int, expected: int) -> None:
        assert database_call_limit(pool, workers) == expected
