"""What the README's "try" block says of each command, true at any hour of the week.

The demo of `make run` (the USD/COP session calendar) is seeded at fixed instants, a Sunday, a
Monday at 08:20 in Bogota and a Wednesday at noon, into the test database; a server with that
calendar answers through the real Envoy, and each command of the block runs against it at that
instant (``end_time``: what the README's commands default to, "now").
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from analytics import MarketCalendar
from databases import ScratchDatabase
from devstack import envoy, processes
from devstack.seed import seed_demo
from mlanalytics.cli import main as cli
from restclient import Rest
from server.app import create_server

ROOT = Path(__file__).resolve().parents[2]
TRY = [
    "curl -s localhost:8004/api/health/models | jq",
    ".venv/bin/mlanalytics drift features --model sac_transformer_v2.1",
    ".venv/bin/mlanalytics performance ab --a ppo_lstm_v3.2 --b a2c_conservative_v1.4",
]
INSTANTS = {
    "sunday": datetime(2026, 11, 29, 15, 0, tzinfo=UTC),  # 10:00 in Bogota
    "monday_0820": datetime(2026, 11, 30, 13, 20, tzinfo=UTC),
    "wednesday_noon": datetime(2026, 12, 2, 17, 0, tzinfo=UTC),
}


@pytest.fixture(scope="module")
def port(database: ScratchDatabase) -> Iterator[int]:
    """Envoy's port, in front of a server with the session calendar (as `make run` starts it)."""
    server = create_server(database.settings(market_calendar=MarketCalendar()))
    server.start()
    proxy = processes.start_envoy(
        envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=server.port)
    )
    yield proxy.port
    proxy.stop()
    server.stop(grace=1)


def test_the_block_is_the_one_tested() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Once `make run` says it is up, try.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == TRY
    assert "five demo models, two critical" in block.group(1)
    assert "# drift critical" in block.group(1)
    assert "(`no_significant_difference`, or `model_a`)" in readme


@pytest.mark.parametrize("instant", INSTANTS.values(), ids=INSTANTS.keys())
def test_each_command_says_what_the_readme_says(
    database: ScratchDatabase, port: int, instant: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv RESTART IDENTITY")
        seed_demo(conn, instant, MarketCalendar())
    when = instant.isoformat().replace("+00:00", "Z")

    # Five demo models, two critical.
    reply = Rest(f"http://127.0.0.1:{port}").get(f"/api/health/models?end_time={when}")
    assert reply.status == 200
    models = {m["model_id"]: m for m in json.loads(reply.body)["data"]["models"]}
    assert len(models) == 5
    critical = {k for k, m in models.items() if m["status"] == "critical"}
    assert critical == {"dqn_legacy_v0.9", "td3_ensemble_v1.0"}
    # The broken pipeline is not "healthy": its health names the drifted features.
    drifted = models["sac_transformer_v2.1"]
    assert drifted["status"] == "warning", drifted
    assert any(i.startswith("drift critical: features ") for i in drifted["issues"]), drifted

    target = ["--target", f"127.0.0.1:{port}", "--end-time", when]
    # Drift critical.
    assert cli(["drift", "features", "--model", "sac_transformer_v2.1", *target]) == 0
    out = capsys.readouterr().out
    assert ["overall_status", "critical"] in [line.split() for line in out.splitlines()], out

    # The verdict first: over a week the good model never loses to the coin flip.
    assert (
        cli(["performance", "ab", "--a", "ppo_lstm_v3.2", "--b", "a2c_conservative_v1.4", *target])
        == 0
    )
    first = capsys.readouterr().out.splitlines()[0]
    assert first.split()[:2] in (["verdict:", "no_significant_difference"], ["verdict:", "model_a"])


def test_grpcurl_lists_the_services(port: int) -> None:
    grpcurl = Path(sys.executable).parent / "grpcurl"
    listed = subprocess.run(
        [str(grpcurl), "-plaintext", f"127.0.0.1:{port}", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert "mlanalytics.v1.HealthService" in listed
