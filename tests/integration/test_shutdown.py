"""SIGTERM: the server refuses new calls, lets the in-flight ones finish, ends every watch stream
with a final status, and exits cleanly."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import InferenceLogLock, eventually
from databases import ScratchDatabase
from devstack import processes
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import drift_service_pb2_grpc, health_service_pb2_grpc, metrics_service_pb2_grpc
from mlanalytics.v1 import health_service_pb2 as hpb
from mlanalytics.v1 import metrics_service_pb2 as mpb
from rows import Rows


def _refuses_calls(port: int) -> bool:
    """Does the server refuse a new call (a health check, which needs no database)?"""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.RpcError as error:
            return error.code() == grpc.StatusCode.UNAVAILABLE
    return False


def test_sigterm_drains_in_flight_calls(
    rows: Rows, database: ScratchDatabase, inference_lock: InferenceLogLock
) -> None:
    rows.inference("m", datetime.now(UTC) - timedelta(minutes=5), "LONG", reward=0.1)
    request = mpb.GetRollingMetricsRequest(model_id="m")
    server = processes.start_server(
        dsn=database.dsn, environment={"SHUTDOWN_GRACE_S": "10"}, quiet=True
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
            with inference_lock.held():
                in_flight = stub.GetRollingMetrics.future(request, timeout=20)
                inference_lock.wait_for_queries(1)  # the call is in flight: its query waits
                server.process.send_signal(signal.SIGTERM)
                eventually(lambda: _refuses_calls(server.port), 5, "refusing calls after SIGTERM")
                late = grpc.insecure_channel(f"127.0.0.1:{server.port}")
                with late, pytest.raises(grpc.RpcError) as refused:
                    metrics_service_pb2_grpc.MetricsServiceStub(late).GetRollingMetrics(
                        request, timeout=2
                    )
                assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
                assert server.process.poll() is None, "the server waits for the call in flight"
            # The lock is released: the query proceeds and the call completes.
            assert in_flight.result(timeout=15).data.data_points == 1
        assert server.process.wait(timeout=15) == 0
    finally:
        server.stop(grace=0)


def test_sigterm_ends_every_stream_with_a_final_status(
    rows: Rows, database: ScratchDatabase
) -> None:
    rows.inference("m", datetime.now(UTC) - timedelta(minutes=5), "LONG", reward=0.1)
    server = processes.start_server(
        dsn=database.dsn,
        environment={"SHUTDOWN_GRACE_S": "30", "STREAM_HEARTBEAT_S": "0.5"},
        quiet=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            health = health_service_pb2_grpc.HealthServiceStub(channel)
            drift = drift_service_pb2_grpc.DriftServiceStub(channel)
            streams: list[Any] = [
                health.WatchModelHealth(hpb.WatchModelHealthRequest()),
                health.WatchModelHealth(hpb.WatchModelHealthRequest()),
                drift.WatchDrift(dpb.WatchDriftRequest(model_id="m")),
            ]
            for stream in streams:
                assert next(stream).kind == "snapshot"
            stopping = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            for stream in streams:
                with pytest.raises(grpc.RpcError) as ended:
                    list(stream)  # heartbeats until the end, then the final status
                assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "shutting down" in str(ended.value.details())
        assert server.process.wait(timeout=45) == 0
        # Open streams do not hold the shutdown for its grace period (30 s).
        assert time.monotonic() - stopping < 10
    finally:
        server.stop(grace=0)


def test_a_terminal_interrupt_does_not_reach_the_server(database: ScratchDatabase) -> None:
    """Ctrl-C signals the terminal's foreground process group: `make run`'s, which stops Envoy
    first (it drains) and the servers after; a server in that group would stop at once."""
    server = processes.start_server(dsn=database.dsn, quiet=True)
    try:
        assert os.getpgid(server.process.pid) == server.process.pid
        assert os.getpgid(server.process.pid) != os.getpgrp()
    finally:
        server.stop()
