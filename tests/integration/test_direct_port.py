"""The direct gRPC port listens on loopback only, unless GRPC_HOST says otherwise: the only door
from outside is Envoy's public port."""

from __future__ import annotations

import socket
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from databases import ScratchDatabase
from server.app import Service, create_server
from server.config import ConfigError


def _outward_address() -> str | None:
    """This machine's address on its outward interface (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def public_service_host(start_service: Callable[..., Service]) -> Service:
    """A server whose SERVICE_HOST is every interface, as in the deployed defaults."""
    return start_service(service_host="0.0.0.0")


def test_the_direct_port_is_loopback_only_by_default(public_service_host: Service) -> None:
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no address besides loopback")
    port = public_service_host.port
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert not _reachable(outward, port), f"the gRPC port answers on {outward}"


def test_grpc_host_opens_it_where_asked(start_service: Callable[..., Service]) -> None:
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no address besides loopback")
    service = start_service(grpc_host=outward)
    assert _reachable(outward, service.port)
    assert not _reachable("127.0.0.1", service.port)


def test_a_port_in_use_is_a_start_up_error(
    database: ScratchDatabase, start_service: Callable[..., Service]
) -> None:
    # Without SO_REUSEPORT off, a second server would bind the same port and share its calls.
    first = start_service()
    with pytest.raises(ConfigError, match="in use"):
        create_server(database.settings(grpc_port=first.port))
