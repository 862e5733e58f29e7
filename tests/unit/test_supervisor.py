"""The supervisor of `make run`'s server replicas: back-off arithmetic, and restarts of real child
processes (``sleep``), timed by a clock the test moves, so no test waits for a back-off."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from conftest import Clock, refused_start
from devstack.supervisor import Backoff, Supervisor
from server.config import ConfigError, Settings


class TestBackoff:
    def test_doubles_from_one_second_to_thirty(self) -> None:
        backoff = Backoff()
        delays: list[float] = []
        previous = None
        for _ in range(8):
            previous = backoff.after(previous, uptime=0.5)
            delays.append(previous)
        assert delays == [1, 2, 4, 8, 16, 30, 30, 30]

    def test_resets_once_the_process_stayed_up(self) -> None:
        backoff = Backoff(first=1, cap=30, stable=60)
        assert backoff.after(16, uptime=59.9) == 30
        assert backoff.after(16, uptime=60) == 1

    @pytest.mark.parametrize(
        ("first", "cap", "stable", "match"),
        [(0, 30, 60, "first"), (40, 30, 60, "first"), (1, 30, 0, "stable")],
    )
    def test_bad_arguments_name_themselves(
        self, first: float, cap: float, stable: float, match: str
    ) -> None:
        with pytest.raises(ValueError, match=match):
            Backoff(first, cap, stable)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _kill(process: subprocess.Popen[bytes], signum: int = signal.SIGKILL) -> None:
    os.kill(process.pid, signum)
    process.wait()  # reaped: the supervisor's next poll sees it


class TestSupervisor:
    @pytest.fixture
    def supervisor(self, started: list[subprocess.Popen[bytes]]) -> tuple[Supervisor, Clock]:
        def start(port: int) -> subprocess.Popen[bytes]:
            process = subprocess.Popen(["sleep", "600"])
            started.append(process)
            return process

        clock = Clock(now=1000.0)
        return Supervisor([50051, 50052], start, Backoff(1, 30, 60), clock), clock

    def test_a_killed_replica_is_restarted_after_the_backoff(
        self, supervisor: tuple[Supervisor, Clock], caplog: pytest.LogCaptureFixture
    ) -> None:
        servers, clock = supervisor
        first, second = servers.start()
        original = first.process
        clock.now += 5
        _kill(original)
        with caplog.at_level(logging.WARNING, logger="devstack.supervisor"):
            servers.poll()
            assert first.process is original  # not yet: 1 s of back-off first
            clock.now += 0.99
            servers.poll()
            assert first.process is original
            clock.now += 0.01
            servers.poll()
        assert first.process is not original
        assert first.process.poll() is None
        assert (first.restarts, second.restarts) == (1, 0)
        assert second.process.poll() is None  # the other one was left alone
        assert caplog.messages == [
            "server replica 1 (port 50051) was killed by SIGKILL after 5.0 s; restarting in 1 s",
            f"server replica 1 (port 50051) restarted (restart 1, pid {first.process.pid})",
        ]

    def test_a_replica_that_keeps_dying_waits_longer_each_time(
        self, supervisor: tuple[Supervisor, Clock]
    ) -> None:
        servers, clock = supervisor
        replica = servers.start()[1]
        waits = []
        for _ in range(7):
            _kill(replica.process, signal.SIGTERM)
            servers.poll()
            assert replica.restart_at is not None
            waits.append(replica.restart_at - clock.now)
            clock.now = replica.restart_at
            servers.poll()
            clock.now += 2  # dies 2 s after each start
        assert waits == [1, 2, 4, 8, 16, 30, 30]
        assert replica.restarts == 7

    def test_the_backoff_resets_after_a_minute_up(
        self, supervisor: tuple[Supervisor, Clock]
    ) -> None:
        servers, clock = supervisor
        replica = servers.start()[0]
        for _ in range(3):  # 1, 2, 4 s
            _kill(replica.process)
            servers.poll()
            assert replica.restart_at is not None
            clock.now = replica.restart_at
            servers.poll()
        clock.now += 60
        _kill(replica.process)
        servers.poll()
        assert replica.delay == 1

    def test_stop_terminates_every_replica(self, supervisor: tuple[Supervisor, Clock]) -> None:
        servers, _ = supervisor
        replicas = servers.start()
        servers.stop(grace=1)
        assert [r.process.returncode for r in replicas] == [-signal.SIGTERM] * 2


class TestServerReplicasSetting:
    def test_default_is_one(self) -> None:
        assert Settings.from_env({}).server_replicas == 1

    @pytest.mark.parametrize("value", ["0", "9", "two"])
    def test_bad_value_fails_with_one_line(self, value: str) -> None:
        with pytest.raises(
            ConfigError, match=f"^SERVER_REPLICAS must be an integer in 1..8, got '{value}'$"
        ):
            Settings.from_env({"SERVER_REPLICAS": value})

    def test_the_ports_must_fit(self) -> None:
        with pytest.raises(ConfigError, match=r"would need port 65537, beyond 65535"):
            Settings.from_env({"GRPC_PORT": "65534", "SERVER_REPLICAS": "4"})

    def test_make_run_prints_one_line(self) -> None:
        result = refused_start([sys.executable, "-m", "devstack", "run"], SERVER_REPLICAS="many")
        assert result.stderr.strip().splitlines() == [
            "configuration error: SERVER_REPLICAS must be an integer in 1..8, got 'many'"
        ]
