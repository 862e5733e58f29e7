"""The benchmark's code path on a tiny data set, so it cannot rot. Asserts nothing about speed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.datasets import database_name
from bench.run import main as bench
from databases import ScratchDatabase
from devstack.processes import drop_database


@pytest.fixture
def admin_dsn(database: ScratchDatabase) -> Iterator[str]:
    yield database.dsn  # the bench creates its own database next to the tests' one
    drop_database(database.dsn, database_name("smoke"))


def test_smoke_run_writes_the_report(admin_dsn: str, tmp_path: Path) -> None:
    out = tmp_path / "PERFORMANCE.md"
    assert bench(["--smoke", "--dsn", admin_dsn, "--out", str(out)]) == 0
    report = out.read_text()
    assert "## smoke: 3 models x 9 days, 7,776 rows" in report
    lines = report.splitlines()
    rest = [line.strip("|").split("|") for line in lines if line.startswith("| `/")]
    rows = [row for row in rest if not row[0].strip().startswith("`/mlanalytics.v1.")]
    assert len(rows) == 21  # the 15 documented paths and 6 heavy variants
    for endpoint, first_call, _p50, _p99, rps, *_ in rows:
        assert float(first_call) > 0, endpoint
        assert float(rps) > 0, endpoint  # it answered under load
    assert "Server peak RSS:" in report
    [mix] = [line for line in lines if line.startswith("Uncacheable mix")]
    assert " 0 failures; server peak RSS through it " in mix
