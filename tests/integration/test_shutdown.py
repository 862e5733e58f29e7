"""SIGTERM: the server refuses new calls, lets the in-flight ones finish, and exits cleanly."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import InferenceLogLock, eventually
from databases import ScratchDatabase
from devstack import processes
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc
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
