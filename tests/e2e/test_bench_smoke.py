"""The benchmark's code path on a tiny data set, so it cannot rot. Asserts nothing about speed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from bench.run import main as bench
from databases import ScratchDatabase
from devstack.processes import drop_database


@pytest.fixture
def bench_database(database: ScratchDatabase) -> Iterator[tuple[str, str]]:
    """The tests' DSN and the name of the bench's database next to the tests' one: a name of
    this run's own, so that another run on the same PostgreSQL never drops it under this one's
    server (which then answered nothing: 0 req/s and every request of the mix failed)."""
    name = f"{conninfo_to_dict(database.dsn)['dbname']}_bench"
    yield database.dsn, name
    drop_database(database.dsn, name)


def test_smoke_run_writes_the_report(bench_database: tuple[str, str], tmp_path: Path) -> None:
    admin_dsn, name = bench_database
    out = tmp_path / "PERFORMANCE.md"
    argv = ["--smoke", "--dsn", admin_dsn, "--database", name, "--out", str(out)]
    assert bench(argv) == 0
    report = out.read_text()
    assert "## smoke: 3 models x 9 days, 7,776 rows" in report
    lines = report.splitlines()
    rest = [line.strip("|").split("|") for line in lines if line.startswith("| `/")]
    rows = [row for row in rest if not row[0].strip().startswith("`/mlanalytics.v1.")]
    assert len(rows) == 28  # the 21 documented paths and 7 heavy variants
    for endpoint, first_call, _p50, _p99, rps, *_ in rows:
        assert float(first_call) > 0, endpoint
        assert float(rps) > 0, endpoint  # it answered under load
    assert "Server peak RSS:" in report
    [mix] = [line for line in lines if line.startswith("Uncacheable mix")]
    assert " 0 failures; server peak RSS through it " in mix
