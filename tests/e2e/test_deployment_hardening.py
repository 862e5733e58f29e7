"""docker-compose.yml as `docker compose config` resolves it: the gRPC port is reached only on
internal networks, the server connects as the reader, and shutdown drains Envoy first
with room for it. (The drain itself is tested through `make run`, which runs Envoy under the
same devstack/envoy-graceful; the reader role's grants through devstack/reader-role.sh.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import COMPOSE_SECRETS, compose_config

ROOT = Path(__file__).resolve().parents[2]


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match, duration
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def test_the_grpc_port_is_reached_only_on_internal_networks(
    compose_services: dict[str, Any],
) -> None:
    # The replicas listen on all their interfaces (Envoy finds them by DNS), publish nothing,
    # and are only on internal networks: with Envoy, with PostgreSQL, with Prometheus.
    server = compose_services["server"]
    assert server["environment"]["GRPC_HOST"] == "0.0.0.0"
    assert "ports" not in server
    assert set(server["networks"]) == {"backend", "data", "metrics"}
    assert [p["target"] for p in compose_services["envoy"]["ports"]] == [8004]  # the one way in
    allowed = {"server", "envoy", "postgres", "prometheus", "seed"}
    for name in ("backend", "data", "metrics"):
        assert set(_on(compose_services, name)) <= allowed


def _on(services: dict[str, Any], network: str) -> list[str]:
    return [name for name, service in services.items() if network in service.get("networks", {})]


def test_the_server_connects_as_the_reader(compose_services: dict[str, Any]) -> None:
    server = compose_services["server"]["environment"]
    assert server["POSTGRES_USER"] == "mlanalytics_reader"
    assert server["POSTGRES_PASSWORD"] == "reader-secret"
    postgres = compose_services["postgres"]
    assert postgres["environment"]["READER_USER"] == "mlanalytics_reader"
    assert postgres["environment"]["READER_PASSWORD"] == "reader-secret"
    init = sorted(v["target"] for v in postgres["volumes"] if "initdb" in v["target"])
    assert init == [
        "/docker-entrypoint-initdb.d/01-schema.sql",  # the tables first, then their grants
        "/docker-entrypoint-initdb.d/02-reader-role.sh",
    ]
    assert (ROOT / "devstack" / "reader-role.sh").stat().st_mode & 0o111  # executed, not sourced


def test_the_demo_seed_keeps_the_owner() -> None:
    result = compose_config(env={**COMPOSE_SECRETS, "COMPOSE_PROFILES": "demo"})
    assert result.returncode == 0, result.stderr
    seed = json.loads(result.stdout)["services"]["seed"]["environment"]
    assert (seed["POSTGRES_USER"], seed["POSTGRES_PASSWORD"]) == ("postgres", "owner-secret")


def test_the_reader_password_is_required() -> None:
    result = compose_config(env={"POSTGRES_PASSWORD": "owner-secret"})
    assert result.returncode != 0
    assert "POSTGRES_READER_PASSWORD" in result.stderr


def test_envoy_drains_before_it_stops(compose_services: dict[str, Any]) -> None:
    envoy = compose_services["envoy"]
    assert envoy["command"][:2] == ["/app/envoy-graceful", "envoy"]
    assert envoy["command"][-2:] == ["--drain-strategy", "immediate"]
    grace = float(envoy["environment"]["SHUTDOWN_GRACE_S"])
    assert _seconds(envoy["stop_grace_period"]) > grace  # docker waits for the drain
    server = compose_services["server"]
    assert float(server["environment"]["SHUTDOWN_GRACE_S"]) == grace
    assert _seconds(server["stop_grace_period"]) > grace
    # Envoy depends on the server, so compose stops Envoy first, then the server, then PostgreSQL.
    assert "server" in envoy["depends_on"]
    assert "postgres" in server["depends_on"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY devstack/envoy-graceful /app/envoy-graceful" in dockerfile
