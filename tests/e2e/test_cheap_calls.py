"""Cheap calls never wait behind database-bound ones.

Every pool connection is held by a query waiting on a table lock (the test's own transaction),
with dozens more database-bound calls fired at the same time. `/health`, `/` and an answer
already in the cache must still come back in under 50 ms, through Envoy; the database-bound
calls beyond what the pool can serve are refused at once with a JSON 503; and once the lock is
released every admitted call completes with 200.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from conftest import END, END_TIME, InferenceLogLock, Stack, rfc3339
from restclient import Reply, Rest
from rows import Rows

HEAVY_CALLS = 50
# A few ms on an idle machine; waiting behind the held pool would take its timeout (1 s) or more.
CHEAP_LIMIT_MS = 500.0


@pytest.fixture
def stack(rows: Rows, start_stack: Callable[..., Stack]) -> Stack:
    """A server with the deployed pool and thread counts and a cache that outlives the test."""
    for i in range(20):
        rows.inference("m", END - timedelta(minutes=5 * i), "LONG", reward=0.1)
    return start_stack(db_pool_timeout_s=1.0, cache_ttl_s=600.0, db_statement_timeout_ms=60_000)


def _timed(rest: Rest, path: str) -> tuple[float, Reply]:
    started = time.perf_counter()
    reply = rest.get(path)
    return (time.perf_counter() - started) * 1000, reply


def test_health_info_and_cache_hits_answer_while_the_pool_is_held(
    stack: Stack, inference_lock: InferenceLogLock
) -> None:
    service, rest = stack.service, stack.rest
    cached = f"/api/metrics/rolling?model_id=m&end_time={END_TIME}"
    assert rest.get(cached).status == 200  # now in the cache
    limit = service.admission.limit
    assert limit == 10  # the deployed defaults: a pool of 10, 16 threads

    replies: list[tuple[float, Reply]] = []
    answered = threading.Condition()
    start = threading.Barrier(HEAVY_CALLS)

    def heavy(i: int) -> None:
        # A distinct end_time each: no two share a computation, none is in the cache.
        moment = rfc3339(END - timedelta(seconds=i + 1))
        start.wait(10)
        reply = _timed(rest, f"/api/metrics/rolling?model_id=m&end_time={moment}")
        with answered:
            replies.append(reply)
            answered.notify_all()

    with inference_lock.held():
        callers = [threading.Thread(target=heavy, args=(i,)) for i in range(HEAVY_CALLS)]
        for caller in callers:
            caller.start()
        with answered:  # the excess is refused while the lock is held
            assert answered.wait_for(lambda: len(replies) == HEAVY_CALLS - limit, timeout=30)
            assert all(reply.status == 503 for _, reply in replies), replies
        inference_lock.wait_for_queries(limit, timeout=30)  # every pool connection blocked

        cheap: dict[str, list[float]] = {"/health": [], "/": [], cached: []}
        for _ in range(20):
            for path, times in cheap.items():
                elapsed, reply = _timed(rest, path)
                assert reply.status == 200, (path, reply.body[:200])
                times.append(elapsed)
        still_blocked = inference_lock.waiting_queries()
    for caller in callers:  # the lock released: the admitted calls proceed
        caller.join(30)

    worst = {path: max(times) for path, times in cheap.items()}
    print(f"\nslowest cheap call while {still_blocked} queries waited on the lock: {worst}")
    assert still_blocked == limit, "the pool must be held throughout the measurement"
    assert all(ms < CHEAP_LIMIT_MS for ms in worst.values()), worst
    assert rest.get("/health").json()["status"] == "healthy"  # busy is not down

    statuses = sorted(reply.status for _, reply in replies)
    assert statuses == [200] * limit + [503] * (HEAVY_CALLS - limit)
    refused = [(ms, reply) for ms, reply in replies if reply.status == 503]
    body = refused[0][1].json()
    assert body["code"] == 14
    assert body["message"].startswith("server busy")
    slowest_refusal = max(ms for ms, _ in refused)
    print(f"slowest refusal: {slowest_refusal:.1f} ms")
    assert slowest_refusal < 1000  # refused at once, not after waiting for a connection
