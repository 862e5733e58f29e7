"""``python -m server.probe`` (the container health check): 0 for a server that is SERVING,
1 with one line for one that is NOT_SERVING or not there."""

from __future__ import annotations

import os
import subprocess
import sys

from grpc_health.v1 import health_pb2

from devstack.processes import free_port
from server.app import Service


def _probe(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.probe"],
        env={**os.environ, "GRPC_PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_serving(service: Service) -> None:
    result = _probe(service.port)
    assert (result.returncode, result.stderr) == (0, "")


def test_not_serving(service: Service) -> None:
    service.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        result = _probe(service.port)
    finally:
        service.health.set("", health_pb2.HealthCheckResponse.SERVING)
    assert result.returncode == 1
    assert result.stderr.strip() == f"127.0.0.1:{service.port} says NOT_SERVING"


def test_nothing_there() -> None:
    port = free_port()
    result = _probe(port)
    assert result.returncode == 1
    assert result.stderr.strip() == f"no answer from 127.0.0.1:{port}: UNAVAILABLE"
