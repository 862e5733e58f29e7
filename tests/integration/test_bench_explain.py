"""The plan report and the steps beyond (docs/SCALING.md) on a tiny data set, so they cannot rot.

Nothing here is about speed. What is checked: every call's rows read from the log are exactly its
window's; the hourly rollup's rewritten queries give the originals' answers; the very same
repository calls run on the log partitioned by month, and read the same rows there; the covering
index is rolled back. auto_explain must be loadable (the machine's PostgreSQL has it; the
embedded one does not): without it the test is skipped, except under CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench import explain, paths
from bench.datasets import Dataset, ensure
from bench.paths import monthly_database
from databases import ScratchDatabase


@pytest.fixture
def smoke(database: ScratchDatabase) -> Iterator[tuple[str, Dataset]]:
    """The smoke data set in a database of this run's own (next to the tests' one), and its
    partitioned copy, both dropped at the end: another run on the same PostgreSQL never drops
    them under this one."""
    admin = database.dsn
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("LOAD 'auto_explain'")
    except psycopg.Error as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"auto_explain is not available: {error}")
    name = f"{conninfo_to_dict(admin)['dbname']}_smoke"
    data = ensure(admin, "smoke", name)
    yield admin, data
    with psycopg.connect(admin, autocommit=True) as conn:
        for dbname in (name, monthly_database(data)):
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )


def _calls(report: str) -> dict[tuple[str, str, str], int]:
    """(call, models, window) -> log rows read, from the calls table."""
    found = {}
    for line in report.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 8 and cells[3].replace(",", "").isdigit():
            found[(cells[0], cells[1], cells[2])] = int(cells[3].replace(",", ""))
    return found


def test_plans_read_the_window_and_the_partitioned_log_reads_the_same(
    smoke: tuple[str, Dataset], capsys: pytest.CaptureFixture[str]
) -> None:
    admin, data = smoke
    dbname = conninfo_to_dict(data.dsn)["dbname"]
    argv = ["--dsn", admin, "--dataset", "smoke", "--database", str(dbname), "--repeat", "1"]
    assert explain.main(argv) == 0
    plain = _calls(capsys.readouterr().out)
    assert len(plain) == len(explain.cases(data))
    # 288 predictions a day per model (5-minute bars), and one probe for its latest version.
    assert plain[("window fetch", "1", "24h")] == 288 + 1
    assert plain[("window fetch", "3", "24h")] == 3 * (288 + 1)
    assert plain[("hourly buckets", "1", "7d")] == 7 * 288
    assert plain[("all models (loose index scan)", "3", "-")] == 3 + 1

    partitioned = _calls(paths.monthly(admin, data, 1))
    assert partitioned.keys() == plain.keys()
    for call in ("window fetch", "window + analytics", "hourly buckets", "history count + page 1"):
        for window in ("1h", "24h", "7d"):
            assert partitioned[(call, "1", window)] == plain[(call, "1", window)], (call, window)


def test_the_rollup_answers_as_the_originals(smoke: tuple[str, Dataset]) -> None:
    admin, data = smoke
    report = paths.rollup(admin, data, 1)  # asserts each rewritten answer against the original
    assert "Every rewritten query gave the original's answer (checked)." in report
    assert len(_calls(report)) == 18


def test_the_covering_index_is_measured_and_rolled_back(smoke: tuple[str, Dataset]) -> None:
    admin, data = smoke
    report = paths.covering(admin, data, 1)
    assert "fact_rl_inference_model_time_covering_idx" in report
    with psycopg.connect(data.dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE indexname = %s",
            ("fact_rl_inference_model_time_covering_idx",),
        ).fetchone()
    assert left == (0,)
