"""docker-compose.yml scales: `--scale server=N` works and Envoy finds every replica by DNS.

Without a Docker engine, this checks what scaling needs of the resolved file (no container_name,
no host port on `server`), that compose accepts N replicas, and that the envoy.yaml the
`envoy-config` service renders is valid for Envoy with a DNS cluster of `server` health-checked
over grpc.health.v1. The replicas' behaviour itself is tested with real processes in
test_replicas.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conftest import compose_config
from devstack import envoy

ROOT = Path(__file__).resolve().parents[2]


def test_the_server_can_be_scaled(compose_services: dict[str, Any]) -> None:
    server = compose_services["server"]
    assert "container_name" not in server  # one name cannot be N containers
    assert "ports" not in server  # nor can one host port
    assert "network_mode" not in compose_services["envoy"]  # Envoy no longer lives in a server


def test_compose_accepts_three_replicas(tmp_path: Path) -> None:
    scaled = tmp_path / "scaled.yml"
    scaled.write_text(yaml.safe_dump({"services": {"server": {"deploy": {"replicas": 3}}}}))
    result = compose_config(scaled)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["services"]["server"]["deploy"]["replicas"] == 3


def test_each_replica_has_a_health_check(compose_services: dict[str, Any]) -> None:
    check = compose_services["server"]["healthcheck"]
    assert check["test"] == ["CMD", "python", "-m", "server.probe"]


def test_envoy_finds_the_replicas_by_dns(compose_services: dict[str, Any], tmp_path: Path) -> None:
    command = compose_services["envoy-config"]["command"]
    host = command[command.index("--backend-host") + 1]
    assert host == "server"
    config = envoy.render(backend_host=host, descriptor_set=ROOT / "build" / "mlanalytics.pb")
    cluster = config["static_resources"]["clusters"][0]
    assert "type" not in cluster
    assert cluster["cluster_type"]["name"] == "envoy.clusters.dns"  # strict DNS: every address
    assert cluster["cluster_type"]["typed_config"]["dns_refresh_rate"] == "2s"
    [endpoint] = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert endpoint["endpoint"]["address"]["socket_address"] == {
        "address": "server",
        "port_value": int(compose_services["server"]["environment"]["GRPC_PORT"]),
    }
    [health] = cluster["health_checks"]
    assert health["grpc_health_check"] == {}
    assert (health["interval"], health["unhealthy_threshold"], health["healthy_threshold"]) == (
        "1s",
        2,
        1,
    )
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = envoy.validate(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_retries_are_on_the_unary_routes_only() -> None:
    config = envoy.render()
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    routes = hcm["typed_config"]["route_config"]["virtual_hosts"][0]["routes"]
    for route in routes:
        streaming = route["route"]["timeout"] == "0s"  # the watch streams
        policy = route["route"].get("retry_policy")
        if streaming:
            assert policy is None, route["match"]
        else:
            assert policy is not None, route["match"]
            assert set(policy["retry_on"].split(",")) >= {
                "unavailable",
                "reset",
                "connect-failure",
                "refused-stream",
            }
            assert policy["num_retries"] == 2
    assert sum(r["route"]["timeout"] == "0s" for r in routes) == 4
