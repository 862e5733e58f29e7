"""`make run` with TLS and bearer tokens on, against the tests' database: its banner gives https://
addresses, and the grpcurl and curl commands it prints work as printed (with ``$TOKEN`` set)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import eventually, make_run_process
from databases import ScratchDatabase
from devstack.certificates import self_signed
from devstack.processes import database_environment, free_port
from edgekeys import AUDIENCE, ISSUER, rsa_key, token, write_jwks

pytestmark = pytest.mark.e2e


def _run(command: str, workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``command`` as a user would paste it into bash in ``workdir``."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_tls_and_tokens_the_banner_says_https_and_its_commands_work(
    database: ScratchDatabase, tmp_path: Path
) -> None:
    edge = tmp_path / "edge"
    edge.mkdir()
    key = rsa_key()
    write_jwks(edge / "jwks.json", {"k1": key})
    cert, private = self_signed(edge)
    port = free_port()
    env = {
        "SERVICE_HOST": "127.0.0.1",
        "SERVICE_PORT": str(port),
        "GRPC_PORT": str(free_port()),
        "SHUTDOWN_GRACE_S": "2",
        "AUTH_JWKS_FILE": "edge/jwks.json",
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "TLS_CERT_FILE": "edge/cert.pem",
        "TLS_KEY_FILE": "edge/key.pem",
        **database_environment(database.dsn),
    }
    assert (cert, private) == (edge / "cert.pem", edge / "key.pem")
    with make_run_process(tmp_path, **env) as running:

        def up() -> bool:
            running.assert_running()
            return "Ctrl-C stops everything." in running.log.read_text()

        eventually(up, 120, "make run's banner")
        text = running.log.read_text()
        lines = {
            line.split()[0]: line
            for line in text[text.index("ML Analytics Service is up") :].splitlines()
            if line.startswith("  ")
        }
        assert f"https://localhost:{port}/docs" in lines["docs"]
        assert f"https://localhost:{port}/dashboard" in lines["desk"]
        assert "http://" not in lines["desk"] + lines["docs"] + lines["REST"]
        assert "-plaintext" not in lines["gRPC"]
        assert "edge/cert.pem" in lines["TLS"]
        assert ISSUER in lines["auth"]

        grpc_command = re.search(r"\((\S*grpcurl .* list)\)$", lines["gRPC"])
        assert grpc_command is not None, lines["gRPC"]
        assert (
            f'-cacert edge/cert.pem -H "authorization: Bearer $TOKEN" localhost:{port}'
            in (grpc_command[1])
        )
        listed = _run(grpc_command[1], tmp_path, TOKEN=token(key, "k1"))
        assert listed.returncode == 0, listed.stderr
        assert "mlanalytics.v1.HealthService" in listed.stdout
        refused = _run(grpc_command[1], tmp_path, TOKEN="not-a-token")
        assert refused.returncode != 0
        assert "Unauthenticated" in refused.stderr

        curl_command = re.search(r"\((curl .*)\)$", lines["REST"])
        assert curl_command is not None, lines["REST"]
        answered = _run(
            curl_command[1] + " --fail --silent --show-error", tmp_path, TOKEN=token(key, "k1")
        )
        assert answered.returncode == 0, answered.stderr
        assert '"total_models"' in answered.stdout
