"""METRICS_PORT: the server also serves its Prometheus exposition as plain HTTP, the same
registry as GET /metrics through Envoy, so that Prometheus can scrape each replica itself."""

from __future__ import annotations

import urllib.request

import grpc
from prometheus_client.parser import text_string_to_metric_families

from databases import ScratchDatabase
from devstack.processes import free_port
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc
from server.app import create_server


def _families(text: str) -> dict[str, float]:
    """Sample name and labels -> value, for the counters a call moves."""
    return {
        f"{s.name}{sorted(s.labels.items())}": s.value
        for family in text_string_to_metric_families(text)
        if family.name == "grpc_server_started"
        for s in family.samples
    }


def test_plain_http_metrics_are_the_servers_own(database: ScratchDatabase) -> None:
    port = free_port()
    service = create_server(database.settings(metrics_port=port))
    service.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = health_service_pb2_grpc.HealthServiceStub(channel)
            stub.GetServiceHealth(health_service_pb2.GetServiceHealthRequest(), timeout=5)
            over_grpc = stub.GetPrometheusMetrics(
                health_service_pb2.GetPrometheusMetricsRequest(), timeout=10
            ).data.decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain")
            over_http = reply.read().decode()
    finally:
        service.stop(grace=1)
    started = _families(over_http)
    assert started == _families(over_grpc)
    key = (
        "grpc_server_started_total[('grpc_method', 'GetServiceHealth'),"
        " ('grpc_service', 'mlanalytics.v1.HealthService'), ('grpc_type', 'unary')]"
    )
    assert started[key] == 1
    assert "mlanalytics_database_up 1.0" in over_http


def test_off_by_default(database: ScratchDatabase) -> None:
    assert database.settings().metrics_port == 0
    service = create_server(database.settings())
    assert service.metrics_address is None
    service.stop(grace=0)
