"""The server's plumbing: service health, gRPC health, reflection, errors, read-only sessions."""

from __future__ import annotations

from concurrent import futures
from typing import Any

import grpc
import psycopg
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from mlanalytics.v1 import health_service_pb2 as pb
from mlanalytics.v1 import health_service_pb2_grpc
from server.api.directory import SERVICE_NAMES
from server.api.interceptors import ErrorInterceptor
from server.app import Service
from server.errors import DatabaseUnavailable


def test_service_health_reports_the_database(channel: grpc.Channel) -> None:
    stub = health_service_pb2_grpc.HealthServiceStub(channel)
    reply = stub.GetServiceHealth(pb.GetServiceHealthRequest())
    assert (reply.service, reply.status, reply.database) == (
        "ml-analytics-service",
        "healthy",
        "connected",
    )
    assert reply.version


@pytest.mark.parametrize(
    "name",
    ["", *SERVICE_NAMES],
)
def test_grpc_health_is_serving(channel: grpc.Channel, name: str) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=name))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_every_service(channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [reply] = list(stub.ServerReflectionInfo(iter([request])))
    names = {s.name for s in reply.list_services_response.service}
    assert names == {
        *SERVICE_NAMES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    assert len(SERVICE_NAMES) == 8  # every service of the protos (tests/unit/test_directory.py)


def test_bad_parameter_carries_bad_request_details(channel: grpc.Channel) -> None:
    stub = health_service_pb2_grpc.HealthServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.ListModelHealth(pb.ListModelHealthRequest(end_time="tomorrow"))
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "end_time" in error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    assert status.code == code_pb2.INVALID_ARGUMENT
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["end_time"]
    assert "RFC 3339" in bad_request.field_violations[0].description


def test_sessions_are_read_only(service: Service) -> None:
    with service.pool.connection() as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM dw.fact_rl_inference")


class _Exploding(health_service_pb2_grpc.HealthServiceServicer):
    """A servicer whose calls fail in ways the interceptor must map."""

    def GetServiceHealth(self, request: Any, context: Any) -> Any:
        raise RuntimeError("SELECT secret FROM internals")  # must never reach the caller

    def GetServiceInfo(self, request: Any, context: Any) -> Any:
        raise DatabaseUnavailable()


@pytest.fixture
def exploding() -> Any:
    server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=[ErrorInterceptor()])
    health_service_pb2_grpc.add_HealthServiceServicer_to_server(_Exploding(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as chan:
        yield health_service_pb2_grpc.HealthServiceStub(chan)
    server.stop(None)


def test_unexpected_error_is_internal_without_details(exploding: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        exploding.GetServiceHealth(pb.GetServiceHealthRequest())
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "SELECT" not in error.details()
    assert "Traceback" not in error.details()


def test_domain_error_maps_to_its_code(exploding: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        exploding.GetServiceInfo(pb.GetServiceInfoRequest())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_unimplemented_stays_unimplemented(exploding: Any) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        exploding.ListModelHealth(pb.ListModelHealthRequest())
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
