"""The TypeScript client and its walkthrough against the real Envoy, on the demo data.

``tsc`` compiles clients/typescript (client, generated types, node:test suite) and
examples/typescript into clients/typescript/dist; Node then runs them with ``MLANALYTICS_URL``
pointing at Envoy. ``make gen`` installs the npm packages and writes the generated types; without
them these tests fail rather than skip, so that ``make test`` cannot pass with the client untested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from analytics.calendar import ALWAYS
from devstack import processes

ROOT = Path(__file__).resolve().parents[2]
#: The live suite asks without an end time, so at the machine's clock, and expects an hour of
#: predictions and hourly trend buckets through the last two days: the demo data must run around
#: the clock up to now.
DEMO_CALENDAR = ALWAYS
TYPESCRIPT = ROOT / "clients" / "typescript"
DIST = TYPESCRIPT / "dist"


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with the client compiled; fails with the command that fixes a missing piece."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not installed: the TypeScript client needs Node 20 or later")
    if not (TYPESCRIPT / "node_modules" / ".bin" / "tsc").exists():
        pytest.fail("clients/typescript/node_modules is missing: run `make gen` (it runs npm ci)")
    if not (TYPESCRIPT / "src" / "gen" / "mlanalytics" / "v1").is_dir():
        pytest.fail("clients/typescript/src/gen is missing: run `make gen`")
    shutil.rmtree(DIST, ignore_errors=True)
    _run([str(TYPESCRIPT / "node_modules" / ".bin" / "tsc")], cwd=TYPESCRIPT)
    return found


@pytest.fixture
def url(demo: datetime, proxy: processes.EnvoyProcess) -> str:
    """Envoy's URL, in front of the demo data (which ends now)."""
    return f"http://127.0.0.1:{proxy.port}"


def test_node_suite(node: str, url: str) -> None:
    tests = sorted(str(p) for p in (DIST / "clients" / "typescript" / "test").glob("*.test.js"))
    assert tests, "tsc wrote no test files"
    output = _run([node, "--test", "--test-reporter=tap", *tests], cwd=TYPESCRIPT, url=url)
    # The live suite skips itself without MLANALYTICS_URL; make sure it ran.
    assert "# SKIP" not in output, output
    assert re.search(r"^\s*ok \d+ - GET /api/metrics/summary$", output, re.MULTILINE), output


def test_walkthrough(node: str, url: str) -> None:
    script = DIST / "examples" / "typescript" / "walkthrough.js"
    output = _run([node, str(script)], cwd=ROOT, url=url)
    assert "healthy, database connected" in output, output
    assert "5 models, " in output, output
    assert "sac_transformer_v2.1 over 7d:" in output, output
    assert "drifted features:" in output, output
    assert "n/a" not in output, output


def _run(command: list[str], *, cwd: Path, url: str | None = None) -> str:
    """Run ``command``; return its output, or fail the test showing it."""
    env = {**os.environ, **({"MLANALYTICS_URL": url} if url else {})}
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{output}")
    return output
