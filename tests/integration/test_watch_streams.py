"""The watch streams over native gRPC against the real server and PostgreSQL: the first message
at once, heartbeats, a change in the data as a new snapshot, errors as statuses, the limit."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from analytics import FEATURES
from databases import ScratchDatabase
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import drift_service_pb2_grpc, health_service_pb2_grpc
from mlanalytics.v1 import health_service_pb2 as hpb
from rows import Rows
from server.app import Service, create_server

REFRESH_S = 0.2
HEARTBEAT_S = 0.5
MIN = timedelta(minutes=1)


@pytest.fixture(scope="module")
def watched(database: ScratchDatabase) -> Iterator[Service]:
    """A server with a fast tick and heartbeat, and room for two streams."""
    running = create_server(
        database.settings(
            stream_refresh_s=REFRESH_S, stream_heartbeat_s=HEARTBEAT_S, stream_max_subscribers=2
        )
    )
    running.start()
    yield running
    running.stop(grace=1)


@pytest.fixture
def stubs(watched: Service) -> Iterator[tuple[Any, Any]]:
    with grpc.insecure_channel(f"127.0.0.1:{watched.port}") as channel:
        yield (
            health_service_pb2_grpc.HealthServiceStub(channel),
            drift_service_pb2_grpc.DriftServiceStub(channel),
        )


class Reader:
    """Reads a stream in a thread; each message with the moment it arrived."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.messages: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.error: grpc.RpcError | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.call:
                self.messages.put((time.monotonic(), message))
        except grpc.RpcError as error:
            self.error = error
        self.messages.put((time.monotonic(), None))

    def next(self, timeout: float = 10.0) -> tuple[float, Any]:
        return self.messages.get(timeout=timeout)

    def next_snapshot(self, timeout: float = 10.0) -> tuple[float, Any]:
        deadline = time.monotonic() + timeout
        while True:
            at, message = self.next(max(deadline - time.monotonic(), 0.01))
            assert message is not None, self.error
            if message.kind == "snapshot":
                return at, message

    def snapshot_where(self, predicate: Any, timeout: float = 10.0) -> tuple[float, Any]:
        """The first snapshot that satisfies ``predicate`` (a stream joined while another test's
        topic still runs starts with that topic's latest snapshot, at most a tick old)."""
        deadline = time.monotonic() + timeout
        while True:
            at, message = self.next_snapshot(max(deadline - time.monotonic(), 0.01))
            if predicate(message):
                return at, message

    def close(self) -> None:
        self.call.cancel()
        self._thread.join(5)


def healthy(rows: Rows, model_id: str, now: datetime) -> None:
    """12 winning predictions at 20 ms, the last a minute ago: healthy."""
    for i in range(12):
        rows.inference(model_id, now - (1 + 5 * i) * MIN, "LONG", reward=0.1, latency_ms=20)


def test_health_list_at_once_then_heartbeats_then_a_change(
    rows: Rows, stubs: tuple[Any, Any]
) -> None:
    health, _ = stubs
    now = datetime.now(UTC)
    healthy(rows, "watched", now)
    started = time.monotonic()
    reader = Reader(health.WatchModelHealth(hpb.WatchModelHealthRequest()))
    try:
        at, first = reader.snapshot_where(
            lambda m: [x.model_id for x in m.data.models] == ["watched"]
        )
        assert first.success
        assert at - started < 2.0
        listed = health.ListModelHealth(hpb.ListModelHealthRequest()).data
        assert [(m.model_id, m.status, list(m.issues)) for m in first.data.models] == [
            (m.model_id, m.status, list(m.issues)) for m in listed.models
        ]
        assert [m.status for m in first.data.models] == ["healthy"]
        # Nothing changes: heartbeats, each carrying the snapshot's revision.
        for _ in range(2):
            beat_at, beat = reader.next()
            assert beat.kind == "heartbeat"
            assert beat.revision == first.revision
            assert not beat.HasField("data")
            assert beat_at - at < HEARTBEAT_S + 1.0
            at = beat_at
        # The model turns slow (avg latency above 200 ms): critical, sent as a new snapshot.
        rows.inference("watched", now, "LONG", reward=0.1, latency_ms=20_000)
        changed_at = time.monotonic()
        arrived, change = reader.next_snapshot()
        assert [m.status for m in change.data.models] == ["critical"]
        assert change.revision != first.revision
        assert arrived - changed_at < REFRESH_S + 2.0
    finally:
        reader.close()


def test_numbers_moving_within_the_same_rules_send_nothing(
    rows: Rows, stubs: tuple[Any, Any], watched: Service
) -> None:
    health, _ = stubs
    now = datetime.now(UTC)
    for i in range(12):  # critical for latency: "avg latency 500 ms above 200 ms"
        rows.inference("slow", now - (1 + 5 * i) * MIN, "LONG", reward=0.1, latency_ms=500)
    reader = Reader(health.WatchModelHealth(hpb.WatchModelHealthRequest()))
    try:
        _, first = reader.snapshot_where(lambda m: [x.model_id for x in m.data.models] == ["slow"])
        assert first.data.models[0].issues == ["avg latency 500 ms above 200 ms"]
        topic = watched.hub.topic("health", ())
        assert topic is not None
        ticks = topic.ticks
        rows.inference("slow", now, "LONG", reward=0.1, latency_ms=900)  # 530 ms now
        assert topic.wait_for_tick(ticks + 2, 10)  # evaluated twice since the insert
        while not reader.messages.empty():
            _, message = reader.next()
            assert message.kind == "heartbeat", "same status, same rule: no snapshot"
    finally:
        reader.close()


def test_drift_watch_sends_a_change_of_the_drifted_features(
    rows: Rows, stubs: tuple[Any, Any]
) -> None:
    _, drift = stubs
    now = datetime.now(UTC)

    def row(at: datetime, i: int, vix_z: float | None = None) -> None:
        features: dict[str, float | None] = dict.fromkeys(FEATURES, i / 10)
        features["vix_z"] = i / 10 if vix_z is None else vix_z
        rows.inference("dw", at, "HOLD", features=features)

    for i in range(20):  # the same values on both sides: nothing drifts
        row(now - timedelta(days=2) - i * 5 * MIN, i)
        row(now - timedelta(hours=1) - i * 5 * MIN, i)
    reader = Reader(drift.WatchDrift(dpb.WatchDriftRequest(model_id="dw", window_hours=24)))
    try:
        _, first = reader.next_snapshot()
        assert first.data.model_id == "dw"
        assert list(first.data.features_drifted) == []
        for i in range(20):  # vix_z jumps in the recent window
            row(now - timedelta(minutes=30) - i * MIN, i, vix_z=100.0 + i)
        _, change = reader.next_snapshot()
        assert list(change.data.features_drifted) == ["vix_z"]
    finally:
        reader.close()


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [({"model_id": ""}, "model_id"), ({"model_id": "m", "window_hours": 0}, "window_hours")],
)
def test_drift_watch_rejects_bad_parameters(
    stubs: tuple[Any, Any], request_fields: dict[str, Any], field: str
) -> None:
    _, drift = stubs
    with pytest.raises(grpc.RpcError) as raised:
        next(drift.WatchDrift(dpb.WatchDriftRequest(**request_fields)))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(raised.value)  # type: ignore[arg-type]
    assert status is not None
    violations = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(violations)
    assert [v.field for v in violations.field_violations] == [field]


def test_drift_watch_of_an_unknown_model_is_not_found(rows: Rows, stubs: tuple[Any, Any]) -> None:
    _, drift = stubs
    with pytest.raises(grpc.RpcError) as raised:
        next(drift.WatchDrift(dpb.WatchDriftRequest(model_id="nobody")))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nobody" in str(raised.value.details())


def test_streams_beyond_the_limit_are_refused(
    rows: Rows, stubs: tuple[Any, Any], watched: Service
) -> None:
    health, _ = stubs
    healthy(rows, "m", datetime.now(UTC))
    deadline = time.monotonic() + 10  # the other tests' streams are released asynchronously
    while sum(s.subscribers for s in watched.hub.stats().values()):
        assert time.monotonic() < deadline, watched.hub.stats()
        time.sleep(0.02)
    readers = [Reader(health.WatchModelHealth(hpb.WatchModelHealthRequest())) for _ in range(2)]
    try:
        for reader in readers:
            reader.snapshot_where(lambda m: [x.model_id for x in m.data.models] == ["m"])
        with pytest.raises(grpc.RpcError) as raised:
            next(health.WatchModelHealth(hpb.WatchModelHealthRequest()))
        assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "limit 2" in str(raised.value.details())
        # Unary calls are served meanwhile.
        assert health.ListModelHealth(hpb.ListModelHealthRequest(), timeout=10).success
    finally:
        for reader in readers:
            reader.close()
