"""SIGTERM: the server refuses new calls, lets the in-flight ones finish, and exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import grpc
import psycopg

from databases import ScratchDatabase
from devstack.run import database_environment, free_port, wait_for_server
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import metrics_service_pb2_grpc
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
