"""docker-compose.yml runs Envoy with TLS and bearer tokens on, from the example material in
deploy/edge: the compose file as `docker compose config` resolves it, and a real Envoy rendered
from those settings (the host's deploy/edge standing for the container's folder) in front of the
session's server, trusting the example certificate and a token signed with the example key.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from conftest import refused_start
from devstack import envoy, processes
from devstack.edge_security import check
from server.app import Service
from server.config import Settings

pytestmark = pytest.mark.e2e

EDGE = processes.ROOT / "deploy" / "edge"
CONTAINER_EDGE = "/etc/mlanalytics/edge"


def _edge_environment(compose_services: dict[str, Any], folder: Path) -> dict[str, str]:
    """envoy-config's AUTH_* and TLS_* settings, its container folder mapped to ``folder``."""
    environment: dict[str, str] = compose_services["envoy-config"]["environment"]
    return {
        name: value.replace(CONTAINER_EDGE, str(folder))
        for name, value in environment.items()
        if name.startswith(("AUTH_", "TLS_"))
    }


def test_both_are_on_with_the_same_files_in_both_containers(
    compose_services: dict[str, Any],
) -> None:
    environment = compose_services["envoy-config"]["environment"]
    assert environment["AUTH_JWKS_FILE"] == f"{CONTAINER_EDGE}/jwks.json"
    assert environment["TLS_CERT_FILE"] == f"{CONTAINER_EDGE}/tls.crt"
    assert environment["TLS_KEY_FILE"] == f"{CONTAINER_EDGE}/tls.key"
    assert environment["AUTH_ISSUER"]
    assert environment["AUTH_AUDIENCE"]
    mounts = {
        service: [v for v in compose_services[service]["volumes"] if v["target"] == CONTAINER_EDGE]
        for service in ("envoy-config", "envoy")
    }
    for service, [mount] in mounts.items():
        assert mount["source"] == str(EDGE), service
        assert mount["read_only"] is True, service


def test_the_example_material_works_through_envoy(
    compose_services: dict[str, Any], service: Service
) -> None:
    settings = Settings.from_env(_edge_environment(compose_services, EDGE))
    proxy = processes.start_envoy(
        envoy.render(
            listen_host="127.0.0.1",
            listen_port=0,
            backend_port=service.port,
            security=check(settings),
        )
    )
    try:
        now = int(time.time())
        signed = jwt.encode(
            {"iss": settings.auth_issuer, "aud": settings.auth_audience[0], "exp": now + 60},
            (EDGE / "EXAMPLE-signing-key.pem").read_text(),
            algorithm="RS256",
            headers={"kid": json.loads((EDGE / "jwks.json").read_text())["keys"][0]["kid"]},
        )
        context = ssl.create_default_context(cafile=str(EDGE / "tls.crt"))
        replies = {}
        for name, headers in {
            "token": {"authorization": f"Bearer {signed}"},
            "none": {},
        }.items():
            connection = http.client.HTTPSConnection(
                "localhost", proxy.port, context=context, timeout=30
            )
            try:
                connection.request("GET", "/api/health/models", headers=headers)
                reply = connection.getresponse()
                replies[name] = (reply.status, json.loads(reply.read()))
                connection.request("GET", "/health")
                health = connection.getresponse()
                replies[f"{name} /health"] = (health.status, json.loads(health.read()))
            finally:
                connection.close()
    finally:
        proxy.stop()
    assert replies["token"][0] == 200
    assert replies["token"][1]["success"] is True
    assert replies["none"] == (
        401,
        {"code": 16, "message": "the bearer token is missing or invalid", "details": []},
    )
    assert replies["token /health"][0] == replies["none /health"][0] == 200


def test_envoy_config_refuses_a_missing_file_with_one_line(
    compose_services: dict[str, Any], tmp_path: Path
) -> None:
    result = refused_start(
        [
            sys.executable,
            "-m",
            "devstack",
            "envoy-config",
            "--out",
            str(tmp_path / "envoy.yaml"),
            "--descriptor-set",
            str(tmp_path / "mlanalytics.pb"),
        ],
        **_edge_environment(compose_services, tmp_path),  # an empty folder
    )
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot be read: No such file" in lines[0]
    assert not (tmp_path / "envoy.yaml").exists()
