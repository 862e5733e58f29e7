"""Serve a watch stream: a subscription to a publisher (``server.streams``) as gRPC messages.

The first message is the topic's latest snapshot (at once if the topic is running, else as soon as
its first evaluation is done); then one per change, and a heartbeat after ``heartbeat_s`` seconds
without a message. The stream ends with a status that says why:

* RESOURCE_EXHAUSTED: the reader was too slow (dropped), or the server has as many streams as it
  allows (a dropped reader that reads nothing more for three heartbeat intervals is cancelled
  instead: CANCELLED);
* UNAVAILABLE: the server is shutting down, or the database is unreachable;
* the status of a failed evaluation (NOT_FOUND for an unknown model, ...): the evaluation's error
  leaves the stream, and the error interceptor maps it as it does for unary calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

import grpc

from server.api.convert import now_timestamp
from server.errors import Unsubscribed
from server.streams import Hub, Snapshot

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

SNAPSHOT = "snapshot"
HEARTBEAT = "heartbeat"
#: A dropped reader still blocking the stream's writes after this many heartbeat intervals has
#: its call cancelled, which frees the thread.
STALLED_READER_HEARTBEATS = 3


def watch(
    context: grpc.ServicerContext,
    hub: Hub,
    stream: str,
    key: Hashable,
    *,
    evaluate: Callable[[], T],
    signature: Callable[[T], Hashable],
    render: Callable[[T, str], R],
    heartbeat: Callable[[str], R],
    heartbeat_s: float,
) -> Iterator[R]:
    """The messages of one watch: ``render(value, revision)`` per snapshot (rendered once per
    topic), ``heartbeat(revision)`` after ``heartbeat_s`` seconds of silence."""
    # TooManySubscribers, ShuttingDown and the other ends of a stream are ServiceErrors: the
    # ErrorInterceptor gives each its status code, as for any call.
    subscription = hub.subscribe(stream, key, evaluate, signature, render)
    # Wake the waiting thread at once when the client goes away (else after a heartbeat).
    context.add_callback(subscription.close)
    # A dropped reader learns why once it has read what is already on its way; one that reads
    # nothing at all for a while longer holds this thread in a blocked write: cancel the call.
    stalled = threading.Timer(STALLED_READER_HEARTBEATS * heartbeat_s, context.cancel)
    stalled.daemon = True
    subscription.on_drop = stalled.start
    revision = ""
    try:
        while True:
            try:
                snapshot: Snapshot[T] | None = subscription.get(heartbeat_s)
            except Unsubscribed:
                return
            if snapshot is None:
                yield heartbeat(revision)
            else:
                revision = snapshot.revision
                rendered: R = snapshot.rendered
                yield rendered
    finally:
        stalled.cancel()
        subscription.close()


def envelope_fields(revision: str, data: Any = None) -> dict[str, Any]:
    """The fields of a watch message: a snapshot with ``data``, else a heartbeat."""
    return {
        "success": True,
        "kind": HEARTBEAT if data is None else SNAPSHOT,
        "revision": revision,
        "timestamp": now_timestamp(),
        **({} if data is None else {"data": data}),
    }
