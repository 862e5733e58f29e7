"""SIGTERM: the server refuses new calls, lets the in-flight ones finish, ends every watch stream
with a final status, and exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import psycopg
import pytest

from databases import ScratchDatabase
from devstack.run import database_environment, free_port, wait_for_server
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import drift_service_pb2_grpc, health_service_pb2_grpc, metrics_service_pb2_grpc
from mlanalytics.v1 import health_service_pb2 as hpb
from mlanalytics.v1 import metrics_service_pb2 as mpb
from rows import Rows


def test_sigterm_drains_in_flight_calls(rows: Rows, database: ScratchDatabase) -> None:
    rows.inference("m", datetime.now(UTC) - timedelta(minutes=5), "LONG", reward=0.1)
    port = free_port()
    env = {
        **os.environ,
        **database_environment(database.dsn),
        "SERVICE_HOST": "127.0.0.1",
        "GRPC_PORT": str(port),
        "SHUTDOWN_GRACE_S": "10",
    }
    server = subprocess.Popen([sys.executable, "-m", "server"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(port, server)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        result: dict[str, object] = {}

        def slow_call() -> None:
            try:
                reply = stub.GetRollingMetrics(
                    mpb.GetRollingMetricsRequest(model_id="m"), timeout=20
                )
                result["data_points"] = reply.data.data_points
            except grpc.RpcError as error:
                result["error"] = error

        with psycopg.connect(database.dsn) as locker:
            # The call waits on the locked table while SIGTERM arrives.
            locker.execute("LOCK TABLE dw.fact_rl_inference IN ACCESS EXCLUSIVE MODE")
            caller = threading.Thread(target=slow_call)
            caller.start()
            time.sleep(0.5)
            server.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            with grpc.insecure_channel(f"127.0.0.1:{port}") as late:
                late_stub = metrics_service_pb2_grpc.MetricsServiceStub(late)
                try:
                    late_stub.GetRollingMetrics(
                        mpb.GetRollingMetricsRequest(model_id="m"), timeout=2
                    )
                    refused = False
                except grpc.RpcError:
                    refused = True
            assert server.poll() is None, "the server must wait for the call in flight"
            locker.rollback()  # the query can proceed now
        caller.join(15)
        assert result == {"data_points": 1}
        assert refused, "a call after SIGTERM must be refused"
        assert server.wait(timeout=15) == 0
        channel.close()
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


def test_sigterm_ends_every_stream_with_a_final_status(
    rows: Rows, database: ScratchDatabase
) -> None:
    rows.inference("m", datetime.now(UTC) - timedelta(minutes=5), "LONG", reward=0.1)
    port = free_port()
    env = {
        **os.environ,
        **database_environment(database.dsn),
        "SERVICE_HOST": "127.0.0.1",
        "GRPC_PORT": str(port),
        "SHUTDOWN_GRACE_S": "10",
        "STREAM_HEARTBEAT_S": "0.5",
    }
    server = subprocess.Popen([sys.executable, "-m", "server"], env=env, stderr=subprocess.DEVNULL)
    try:
        wait_for_server(port, server)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
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
            server.send_signal(signal.SIGTERM)
            for stream in streams:
                with pytest.raises(grpc.RpcError) as ended:
                    list(stream)  # heartbeats until the end, then the final status
                assert ended.value.code() == grpc.StatusCode.UNAVAILABLE
                assert "shutting down" in str(ended.value.details())
        assert server.wait(timeout=15) == 0
        # Open streams do not hold the shutdown for its grace period.
        assert time.monotonic() - stopping < 5
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()
