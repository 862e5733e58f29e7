"""The stream publishers: one evaluation per tick for any number of subscribers, change rules,
bounded queues, errors, shutdown and the subscriber limit. Each evaluation takes the next value
the test hands over, so the test decides when a tick happens."""

from __future__ import annotations

import queue
import threading
from collections.abc import Hashable, Iterator

import pytest

from server.errors import ShuttingDown, SlowSubscriber, TooManySubscribers
from server.streams import TOPIC_SHARE, Hub, Subscription, pause, revision_of

WAIT = 5.0  # seconds a test waits for the publisher thread before failing


class Feed:
    """An evaluation function whose results the test hands over, one per tick."""

    def __init__(self) -> None:
        self.values: queue.Queue[object] = queue.Queue()
        self.calls = 0

    def __call__(self) -> object:
        value = self.values.get(timeout=WAIT)
        if isinstance(value, Exception):
            raise value
        self.calls += 1
        return value


def signature(value: object) -> Hashable:
    """Values that differ only in case are the same to a client."""
    return str(value).lower()


def render(value: object, revision: str) -> tuple[object, str]:
    return value, revision


@pytest.fixture
def hub() -> Iterator[Hub]:
    running = Hub(refresh_s=0.001, queue_size=2, max_subscribers=50)
    yield running
    running.close()


def subscribe(hub: Hub, feed: Feed, key: Hashable = "k") -> Subscription[object]:
    return hub.subscribe("test", key, feed, signature, render)


def next_value(subscription: Subscription[object]) -> object:
    snapshot = subscription.get(WAIT)
    assert snapshot is not None, "no snapshot in time"
    return snapshot.value


class TestSharing:
    def test_one_evaluation_per_tick_for_any_number_of_subscribers(self, hub: Hub) -> None:
        feed = Feed()
        subscriptions = [subscribe(hub, feed) for _ in range(40)]
        topic = hub.topic("test", "k")
        assert topic is not None
        for tick, value in enumerate(["a", "b", "c"]):
            feed.values.put(value)
            assert topic.wait_for_tick(tick, WAIT)
            assert [next_value(s) for s in subscriptions] == [value] * 40
        assert feed.calls == 3
        assert hub.stats()["test"].evaluations == 3
        assert hub.stats()["test"].subscribers == 40

    def test_a_late_subscriber_gets_the_latest_snapshot_at_once(self, hub: Hub) -> None:
        feed = Feed()
        first = subscribe(hub, feed)
        feed.values.put("a")
        assert next_value(first) == "a"
        late = subscribe(hub, feed)
        snapshot = late.get(0)  # already queued: no evaluation, no wait
        assert snapshot is not None
        assert snapshot.value == "a"
        assert feed.calls == 1

    def test_distinct_keys_have_distinct_topics(self, hub: Hub) -> None:
        one, two = Feed(), Feed()
        a, b = subscribe(hub, one, "one"), subscribe(hub, two, "two")
        one.values.put("x")
        two.values.put("y")
        assert (next_value(a), next_value(b)) == ("x", "y")
        assert hub.stats()["test"].topics == 2


class TestChangeRules:
    def test_a_snapshot_only_when_the_signature_changes(self, hub: Hub) -> None:
        feed = Feed()
        subscription = subscribe(hub, feed)
        topic = hub.topic("test", "k")
        assert topic is not None
        feed.values.put("a")
        first = subscription.get(WAIT)
        assert first is not None
        feed.values.put("A")  # same signature: nothing sent
        assert topic.wait_for_tick(1, WAIT)
        assert subscription.get(0) is None  # the caller sends a heartbeat instead
        feed.values.put("b")
        second = subscription.get(WAIT)
        assert second is not None
        assert second.value == "b"
        assert second.revision == revision_of("b") != first.revision
        assert second.rendered == ("b", second.revision)  # rendered once, by the publisher


class TestSlowSubscribers:
    def test_a_full_queue_drops_the_subscriber_and_no_one_else(self, hub: Hub) -> None:
        feed = Feed()
        slow, fast = subscribe(hub, feed), subscribe(hub, feed)
        topic = hub.topic("test", "k")
        assert topic is not None
        for tick, value in enumerate(["a", "b", "c"]):  # queue_size 2: the third overflows
            feed.values.put(value)
            assert topic.wait_for_tick(tick, WAIT)
            assert next_value(fast) == value
        with pytest.raises(SlowSubscriber, match="2 snapshots were waiting unread"):
            slow.get(0)  # the queued snapshots were discarded with it
        assert hub.stats()["test"].dropped == 1
        assert hub.stats()["test"].subscribers == 1
        feed.values.put("d")
        assert next_value(fast) == "d"


class TestEndings:
    def test_a_failed_evaluation_ends_every_subscription_with_its_error(self, hub: Hub) -> None:
        feed = Feed()
        subscriptions = [subscribe(hub, feed) for _ in range(3)]
        feed.values.put(LookupError("no such model"))
        for subscription in subscriptions:
            with pytest.raises(LookupError, match="no such model"):
                subscription.get(WAIT)
        assert hub.topic("test", "k") is None
        retry = subscribe(hub, feed)  # a new topic, evaluated anew
        feed.values.put("a")
        assert next_value(retry) == "a"

    def test_the_last_subscriber_leaving_stops_the_topic(self, hub: Hub) -> None:
        feed = Feed()
        subscriptions = [subscribe(hub, feed) for _ in range(2)]
        feed.values.put("a")
        topic = hub.topic("test", "k")
        assert topic is not None
        assert topic.wait_for_tick(0, WAIT)
        subscriptions[0].close()
        assert hub.topic("test", "k") is topic
        subscriptions[1].close()
        subscriptions[1].close()  # idempotent
        assert hub.topic("test", "k") is None
        assert hub.stats()["test"].subscribers == 0
        feed.values.put("never read")
        assert not topic.wait_for_tick(0 + 1, 0.2)  # stopped: no further evaluation

    def test_close_ends_every_stream_and_refuses_new_ones(self, hub: Hub) -> None:
        feed = Feed()
        subscription = subscribe(hub, feed)
        hub.close()
        with pytest.raises(ShuttingDown, match="shutting down"):
            subscription.get(WAIT)
        with pytest.raises(ShuttingDown):
            subscribe(hub, feed)


class TestLimit:
    def test_subscribers_beyond_the_limit_are_refused_until_one_leaves(self) -> None:
        hub = Hub(refresh_s=0.001, queue_size=2, max_subscribers=3)
        feed = Feed()
        try:
            held = [subscribe(hub, feed, key) for key in ("a", "a", "b")]
            with pytest.raises(TooManySubscribers, match="limit 3"):
                subscribe(hub, feed, "c")
            held[0].close()
            subscribe(hub, feed, "c")
        finally:
            hub.close()

    def test_concurrent_subscribers_never_exceed_the_limit(self) -> None:
        hub = Hub(refresh_s=0.001, queue_size=2, max_subscribers=10)
        feed = Feed()
        start = threading.Barrier(30)
        outcomes: list[bool] = []

        def join() -> None:
            start.wait()
            try:
                subscribe(hub, feed)
                outcomes.append(True)
            except TooManySubscribers:
                outcomes.append(False)

        threads = [threading.Thread(target=join) for _ in range(30)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        hub.close()
        assert outcomes.count(True) == 10


class TestPause:
    def test_a_quick_evaluation_rests_the_tick(self) -> None:
        assert pause(2.0, 0.0) == 2.0
        assert pause(2.0, 0.5) == 2.0  # a fifth of a core: 0.5 s of work, then 2 s of rest

    def test_a_slow_one_rests_four_times_its_time(self) -> None:
        assert pause(2.0, 5.0) == pytest.approx(20.0)

    def test_the_share_of_a_busy_topic_is_bounded(self) -> None:
        for work in (0.1, 1.0, 3.0, 10.0):
            assert work / (work + pause(2.0, work)) <= TOPIC_SHARE + 1e-12
