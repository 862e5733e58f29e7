"""Slow readers on a real gRPC stream: dropped with RESOURCE_EXHAUSTED once their queue is full,
never buffered without bound; one that stops reading altogether is cancelled.

The stream is the service's own (``server.api.streaming.watch`` over ``server.streams.Hub``, its
errors mapped by the service's ErrorInterceptor) on a real grpcio server; only its evaluation is
a counter (a new snapshot every tick) and its snapshots large (200 kB), so that HTTP/2 flow
control stops the writes after a few megabytes.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any, NamedTuple

import grpc
import pytest

from server.api.interceptors import ErrorInterceptor
from server.api.streaming import watch
from server.streams import Hub

PAYLOAD = b"x" * 200_000
QUEUE_SIZE = 4
HEARTBEAT_S = 0.5


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Until ``condition()`` holds (polled), or False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class Stream(NamedTuple):
    hub: Hub
    open: Callable[[], Any]
    served: threading.Event  # set when the server's side of a stream has ended


@pytest.fixture
def stream() -> Iterator[Stream]:
    hub = Hub(refresh_s=0.01, queue_size=QUEUE_SIZE, max_subscribers=10)
    counter = itertools.count()
    served = threading.Event()

    def behaviour(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        try:
            yield from watch(
                context,
                hub,
                "big",
                (),
                evaluate=lambda: next(counter),
                signature=lambda value: value,
                render=lambda value, revision: PAYLOAD,
                heartbeat=lambda revision: b"",
                heartbeat_s=HEARTBEAT_S,
            )
        finally:
            served.set()

    handler = grpc.method_handlers_generic_handler(
        "test.Big", {"Watch": grpc.unary_stream_rpc_method_handler(behaviour)}
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4), interceptors=[ErrorInterceptor()]
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 1_000_000)]
    )
    watch_call = channel.unary_stream("/test.Big/Watch", None, None)
    yield Stream(hub, lambda: watch_call(b""), served)
    channel.close()
    hub.close()
    server.stop(0)


def dropped(hub: Hub) -> int:
    stats = hub.stats().get("big")
    return stats.dropped if stats else 0


def test_a_slow_reader_is_dropped_with_resource_exhausted(stream: Stream) -> None:
    hub = stream.hub
    call = stream.open()
    assert len(next(call)) == len(PAYLOAD)
    # The reader pauses; the server's writes block on flow control, its queue fills up.
    assert wait_until(lambda: dropped(hub) == 1), hub.stats()
    received: list[bytes] = []
    with pytest.raises(grpc.RpcError) as ended:
        received.extend(call)  # what was already on its way, then the status
    assert ended.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"{QUEUE_SIZE} snapshots were waiting unread" in str(ended.value.details())
    # What reached the client is bounded by the transport's window, not by how long it paused.
    assert len(received) * len(PAYLOAD) < 64 * 2**20
    assert hub.stats()["big"].subscribers == 0


def test_a_reader_that_stops_reading_is_cancelled(stream: Stream) -> None:
    hub = stream.hub
    call = stream.open()
    next(call)
    assert wait_until(lambda: dropped(hub) == 1), hub.stats()
    # It never reads again: after three heartbeat intervals the server cancels the call, which
    # frees the thread blocked in its write.
    assert stream.served.wait(3 * HEARTBEAT_S + 10)
    with pytest.raises(grpc.RpcError) as ended:
        list(call)
    assert ended.value.code() == grpc.StatusCode.CANCELLED
