"""Publishers for the watch streams: one evaluation per key per tick, shared by every subscriber.

A :class:`Topic` is one key (the health list; the drift of one model with one set of parameters).
Its thread evaluates the key at once and then every ``refresh_s`` seconds (`pause`: longer after
an evaluation that took long, so that one topic keeps at most a fifth of a core busy), whether
one client watches it or two hundred, and offers a :class:`Snapshot` to every subscriber when the
evaluation's *signature* (what the change rules compare, docs/DEFINITIONS.md#watch-streams)
differs from the last one. The snapshot is rendered once (``render``) for all of them.

Each :class:`Subscription` holds at most ``queue_size`` snapshots. A subscriber whose queue is
full when a new snapshot comes is too slow: it is dropped (its queue emptied) and its next read
raises :class:`SlowSubscriber`; nothing is ever buffered without bound. The topic ends when its
last subscriber leaves. An evaluation that fails ends every subscription of the topic with that
error; the next subscriber starts a new topic. :meth:`Hub.close` ends every subscription with
:class:`ShuttingDown`.

No gRPC and no protobuf here: the servicers turn subscriptions into streams
(``server.api.streaming``).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from time import monotonic, thread_time
from typing import Any, Generic, TypeVar

from server.errors import (
    ShuttingDown,
    SlowSubscriber,
    StreamEnded,
    TooManySubscribers,
    Unsubscribed,
)

T = TypeVar("T")

#: The most of one core a topic's evaluations may take in this process: after an evaluation that
#: took ``t`` seconds of the thread's CPU time (its waits on the database not counted) the thread
#: rests at least ``t * (1 / TOPIC_SHARE - 1)`` (the health list of a hundred models takes
#: seconds; re-evaluating it every 2 s would keep a core busy for as long as anyone watches).
TOPIC_SHARE = 0.2


def pause(refresh_s: float, evaluated_s: float) -> float:
    """The rest between two evaluations of a topic: ``refresh_s``, or longer after one that took
    ``evaluated_s`` seconds of CPU time.

    >>> pause(2.0, 0.1), pause(2.0, 1.0)
    (2.0, 4.0)
    """
    return max(refresh_s, evaluated_s * (1.0 / TOPIC_SHARE - 1.0))


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[T]):
    """One evaluation of a topic: its value, rendered once, and the revision of its signature."""

    value: T
    rendered: Any
    revision: str
    stream: str


def revision_of(signature: Hashable) -> str:
    """A short, stable digest of a signature (made of tuples, strings and numbers)."""
    return hashlib.blake2b(repr(signature).encode(), digest_size=8).hexdigest()


class Subscription(Generic[T]):
    """One subscriber's bounded queue of snapshots."""

    def __init__(self, topic: Topic[T], queue_size: int) -> None:
        self.topic = topic
        self.on_drop: Callable[[], None] | None = None  # called once when dropped as too slow
        self._queue_size = queue_size
        self._condition = threading.Condition()
        self._pending: deque[Snapshot[T]] = deque()
        self._ended: StreamEnded | Exception | None = None

    def get(self, timeout: float) -> Snapshot[T] | None:
        """The next snapshot; None when none came within ``timeout`` seconds (a heartbeat is
        due). Raises the reason once the subscription has ended and its queue is read."""
        deadline = monotonic() + timeout
        with self._condition:
            while not self._pending and self._ended is None:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    return None
                self._condition.wait(remaining)
            if self._pending:
                return self._pending.popleft()
            assert self._ended is not None
            raise self._ended

    def close(self) -> None:
        """Leave the topic (idempotent): the client went away or the stream ended."""
        self._end(Unsubscribed("unsubscribed"))
        self.topic.remove(self)

    def offer(self, snapshot: Snapshot[T]) -> bool:
        """Queue ``snapshot``; False (and nothing queued) when the queue is full."""
        with self._condition:
            if self._ended is not None:
                return True
            if len(self._pending) >= self._queue_size:
                return False
            self._pending.append(snapshot)
            self._condition.notify()
            return True

    def drop(self) -> None:
        """End as too slow: forget the unread snapshots."""
        with self._condition:
            self._pending.clear()
        self._end(SlowSubscriber(self._queue_size))
        if self.on_drop is not None:
            self.on_drop()

    def _end(self, reason: StreamEnded | Exception) -> None:
        with self._condition:
            if self._ended is None:
                self._ended = reason
            self._condition.notify_all()

    def end(self, reason: StreamEnded | Exception) -> None:
        """End with ``reason`` once the snapshots already queued are read."""
        self._end(reason)


class Topic(Generic[T]):
    """One key's publisher thread and its subscribers."""

    def __init__(
        self,
        hub: Hub,
        key: tuple[str, Hashable],
        *,
        stream: str,
        evaluate: Callable[[], T],
        signature: Callable[[T], Hashable],
        render: Callable[[T, str], Any],
    ) -> None:
        self.key = key
        self.stream = stream
        self._hub = hub
        self._evaluate = evaluate
        self._signature = signature
        self._render = render
        self._lock = threading.Lock()
        self._subscribers: set[Subscription[T]] = set()
        self._latest: Snapshot[T] | None = None
        self._closed = False
        self._stop = threading.Event()
        self.ticks = 0  # evaluations done
        self._ticked = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"topic-{stream}", daemon=True)

    def add(self, queue_size: int) -> Subscription[T] | None:
        """A new subscription, primed with the latest snapshot; None if the topic has ended."""
        with self._lock:
            if self._closed:
                return None
            subscription = Subscription(self, queue_size)
            self._subscribers.add(subscription)
            if self._latest is not None:
                subscription.offer(self._latest)
            return subscription

    def remove(self, subscription: Subscription[T]) -> None:
        with self._lock:
            if subscription not in self._subscribers:
                return
            self._subscribers.discard(subscription)
            last = not self._subscribers and not self._closed
            if last:
                self._closed = True
        self._hub.released(self.stream)  # the hub's lock is never taken inside a topic's
        if last:
            self._stop.set()
            self._hub.forget(self)

    def start(self) -> None:
        self._thread.start()

    def end(self, reason: StreamEnded | Exception) -> None:
        """End every subscription with ``reason`` and stop publishing."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers)
        self._stop.set()
        self._hub.forget(self)
        for subscription in subscribers:
            subscription.end(reason)

    def wait_for_tick(self, after: int, timeout: float) -> bool:
        """Until more than ``after`` evaluations are done (tests order themselves with it)."""
        with self._ticked:
            return self._ticked.wait_for(lambda: self.ticks > after, timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = thread_time()
            try:
                value = self._evaluate()
                revision = revision_of(self._signature(value))
                changed = self._latest is None or revision != self._latest.revision
                snapshot = (
                    Snapshot(value, self._render(value, revision), revision, self.stream)
                    if changed
                    else None
                )
            except Exception as error:  # the subscribers learn of it; the next one retries
                self.end(error)
                return
            if self._stop.is_set():  # the last subscriber left while this evaluation ran
                return
            with self._ticked:
                self.ticks += 1
                self._ticked.notify_all()
            self._hub.evaluated(self.stream)
            if snapshot is not None:
                self._publish(snapshot)
            self._stop.wait(pause(self._hub.refresh_s, thread_time() - started))

    def _publish(self, snapshot: Snapshot[T]) -> None:
        with self._lock:
            self._latest = snapshot
            slow = [s for s in self._subscribers if not s.offer(snapshot)]
        for subscription in slow:
            subscription.drop()
            self._hub.dropped(self.stream)
            subscription.topic.remove(subscription)


@dataclass(frozen=True, slots=True)
class StreamStats:
    """Counters of one stream kind, for /metrics."""

    subscribers: int
    topics: int
    evaluations: int
    dropped: int


class Hub:
    """Every topic, the subscriber limit and shutdown."""

    def __init__(self, refresh_s: float, queue_size: int, max_subscribers: int) -> None:
        self.refresh_s = refresh_s
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, Hashable], Topic[Any]] = {}
        self._subscribers: Counter[str] = Counter()
        self._evaluations: Counter[str] = Counter()
        self._dropped: Counter[str] = Counter()
        self._closed = False

    def subscribe(
        self,
        stream: str,
        key: Hashable,
        evaluate: Callable[[], T],
        signature: Callable[[T], Hashable],
        render: Callable[[T, str], Any],
    ) -> Subscription[T]:
        """Join the topic of ``(stream, key)``, starting it if nobody watches it yet.

        Raises ShuttingDown after :meth:`close`, TooManySubscribers at the limit.
        """
        with self._lock:
            if self._closed:
                raise ShuttingDown()
            if self._subscribers.total() >= self.max_subscribers:
                raise TooManySubscribers(self.max_subscribers)
            topic: Topic[Any] | None = self._topics.get((stream, key))
            subscription = topic.add(self.queue_size) if topic is not None else None
            if subscription is None:
                topic = Topic(
                    self,
                    (stream, key),
                    stream=stream,
                    evaluate=evaluate,
                    signature=signature,
                    render=render,
                )
                self._topics[(stream, key)] = topic
                subscription = topic.add(self.queue_size)
                assert subscription is not None
                topic.start()
            self._subscribers[stream] += 1
        return subscription

    def topic(self, stream: str, key: Hashable) -> Topic[Any] | None:
        with self._lock:
            return self._topics.get((stream, key))

    def close(self) -> None:
        """End every stream with ShuttingDown; refuse new ones."""
        with self._lock:
            self._closed = True
            topics = list(self._topics.values())
        for topic in topics:
            topic.end(ShuttingDown())

    def stats(self) -> dict[str, StreamStats]:
        with self._lock:
            streams = set(self._subscribers) | set(self._evaluations) | set(self._dropped)
            topics = Counter(stream for stream, _ in self._topics)
            return {
                s: StreamStats(
                    self._subscribers[s], topics[s], self._evaluations[s], self._dropped[s]
                )
                for s in sorted(streams)
            }

    # --- called by topics ---

    def released(self, stream: str) -> None:
        with self._lock:
            self._subscribers[stream] -= 1

    def forget(self, topic: Topic[Any]) -> None:
        with self._lock:
            if self._topics.get(topic.key) is topic:
                del self._topics[topic.key]

    def evaluated(self, stream: str) -> None:
        with self._lock:
            self._evaluations[stream] += 1

    def dropped(self, stream: str) -> None:
        with self._lock:
            self._dropped[stream] += 1
