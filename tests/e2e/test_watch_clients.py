"""The Python client's watch iterators and the CLI's `watch` commands against real servers."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import eventually
from databases import ScratchDatabase
from devstack import processes
from devstack.processes import free_port
from mlanalytics import AnalyticsClient, InvalidArgument, NotFound
from rows import Rows
from server.app import Service

pytestmark = pytest.mark.e2e

MIN = timedelta(minutes=1)


def healthy(rows: Rows, model_id: str, now: datetime) -> None:
    for i in range(12):
        rows.inference(model_id, now - (1 + 5 * i) * MIN, "LONG", reward=0.1, latency_ms=20)


class Consumer:
    """Iterates a watch in a thread; what it yields, in order."""

    def __init__(self, events: Iterator[Any]) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(events,), daemon=True)
        self._thread.start()

    def _run(self, events: Iterator[Any]) -> None:
        try:
            for event in events:
                self.items.put(event)
        except Exception as error:  # handed to the test
            self.items.put(error)

    def next(self, timeout: float = 20.0) -> Any:
        return self.items.get(timeout=timeout)


def wait_for_subscribers(service: Service, n: int, timeout: float = 30.0) -> None:
    eventually(
        lambda: sum(s.subscribers for s in service.hub.stats().values()) == n,
        timeout,
        f"{n} subscribers",
    )


@contextmanager
def watch_cli(port: int, *arguments: str) -> Iterator[subprocess.Popen[str]]:
    """The CLI's ``watch`` command against ``127.0.0.1:port``, its output piped; killed at the
    end if it still runs."""
    executable = Path(sys.executable).parent / "mlanalytics"
    cli = subprocess.Popen(
        [str(executable), "--target", f"127.0.0.1:{port}", "watch", *arguments],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield cli
    finally:
        if cli.poll() is None:
            cli.kill()
        cli.wait()
        if cli.stdout is not None:
            cli.stdout.close()


def test_watch_resumes_cleanly_across_a_server_restart(
    rows: Rows, database: ScratchDatabase, start_service: Callable[..., Service]
) -> None:
    now = datetime.now(UTC)
    healthy(rows, "resumed", now)
    port = free_port()
    settings = database.settings(grpc_port=port, stream_refresh_s=0.2, stream_heartbeat_s=0.5)
    first_server = start_service(settings)
    client = AnalyticsClient(f"127.0.0.1:{port}")
    consumer = Consumer(client.watch_model_health(max_backoff=0.5))
    try:
        first = consumer.next()
        assert [m.status for m in first.data.models] == ["healthy"]
        first_server.stop(grace=1)  # the stream ends with UNAVAILABLE; the client retries
        second_server = start_service(settings)
        wait_for_subscribers(second_server, 1)  # reconnected: the same snapshot, not repeated
        rows.inference("resumed", now, "LONG", reward=0.1, latency_ms=20_000)
        change = consumer.next()
        assert change.kind == "snapshot"
        assert [m.status for m in change.data.models] == ["critical"]
        assert change.revision != first.revision
        assert consumer.items.empty()
    finally:
        client.close()


def test_watch_yields_heartbeats_when_asked(
    rows: Rows, start_service: Callable[..., Service]
) -> None:
    healthy(rows, "beating", datetime.now(UTC))
    service = start_service(stream_heartbeat_s=0.3)
    with AnalyticsClient(f"127.0.0.1:{service.port}") as client:
        events = client.watch_drift("beating", heartbeats=True)
        kinds = [next(events).kind for _ in range(3)]
        events.close()  # cancels the call
        assert kinds == ["snapshot", "heartbeat", "heartbeat"]
        wait_for_subscribers(service, 0)


def test_watch_raises_typed_errors_without_retrying(
    rows: Rows, proxy: processes.EnvoyProcess
) -> None:
    with AnalyticsClient(f"127.0.0.1:{proxy.port}") as client:
        with pytest.raises(NotFound, match="nobody"):
            next(client.watch_drift("nobody"))
        with pytest.raises(InvalidArgument) as caught:
            next(client.watch_drift("m", window_hours=500))
        assert [v.field for v in caught.value.field_violations] == ["window_hours"]


def test_cli_prints_changes_as_they_happen(
    rows: Rows, start_service: Callable[..., Service]
) -> None:
    now = datetime.now(UTC)
    healthy(rows, "cli_a", now)
    healthy(rows, "cli_b", now)
    service = start_service(stream_refresh_s=0.2)
    with watch_cli(service.port, "health") as cli:
        assert cli.stdout is not None
        lines = [cli.stdout.readline() for _ in range(2)]
        assert [line.split()[2:4] for line in lines] == [["cli_a", "healthy"], ["cli_b", "healthy"]]
        rows.inference("cli_b", now, "LONG", reward=0.1, latency_ms=20_000)
        changed = cli.stdout.readline().split("  ")
        assert changed[1:3] == ["cli_b", "critical"]  # only what changed
        assert "avg latency" in changed[-1]
        cli.send_signal(signal.SIGINT)
        assert cli.wait(60) == 0  # prompt when idle; generous for a loaded machine


def test_cli_watch_json_is_one_snapshot_per_line(rows: Rows, proxy: processes.EnvoyProcess) -> None:
    healthy(rows, "json_m", datetime.now(UTC))
    with watch_cli(proxy.port, "drift", "--model", "json_m", "--json") as cli:
        assert cli.stdout is not None
        event = json.loads(cli.stdout.readline())
        assert (event["kind"], event["data"]["model_id"]) == ("snapshot", "json_m")
        cli.send_signal(signal.SIGINT)
        cli.wait(60)
