"""bench.run rewrites its own sections of docs/PERFORMANCE.md and keeps everyone else's."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.datasets import SIZES, Dataset
from bench.run import Report, markdown, with_other_sections

OLD = """# Performance

old intro

## desk: 6 models x 40 days

old desk table

## scale: 100 models x 365 days

old scale table

## Change points and anomalies (bench/anomalies.py)

the anomalies table
"""


def test_a_run_replaces_what_it_measured_and_keeps_the_rest() -> None:
    new = "# Performance\n\nnew intro\n\n## desk: 6 models x 40 days\n\nnew desk table\n"
    out = with_other_sections(new, OLD, ["desk"])
    assert out.startswith(new)
    assert "old desk table" not in out
    assert "old intro" not in out
    assert out.index("old scale table") < out.index("the anomalies table")


def test_a_run_of_every_data_set_keeps_only_the_other_benchmarks() -> None:
    new = "# Performance\n\n## desk: d\n\nd\n\n## scale: s\n\ns\n"
    out = with_other_sections(new, OLD, ["desk", "scale"])
    assert "old scale table" not in out
    assert out.endswith(
        "## Change points and anomalies (bench/anomalies.py)\n\nthe anomalies table\n"
    )


def test_a_first_run_writes_its_text() -> None:
    assert with_other_sections("# Performance\n", "", ["desk"]) == "# Performance\n"


def _report(name: str, first_call_ms: float) -> Report:
    data = Dataset(name, *SIZES[name], "", datetime(2026, 3, 2, 12, tzinfo=UTC), 1000)
    return Report(data, {"/api/health/models": first_call_ms}, rss_mb=100.0)


def test_runs_of_one_data_set_each_leave_one_document_in_order() -> None:
    both = markdown([_report("desk", 1.0), _report("scale", 2.0)], "both", "PostgreSQL 16")
    anomalies = "## Change points and anomalies (bench/anomalies.py)\n\nthe table\n"
    document = with_other_sections(both, both + "\n" + anomalies, ["desk", "scale"])
    scale_only = markdown([_report("scale", 3.0)], "scale only", "PostgreSQL 16")
    document = with_other_sections(scale_only, document, ["scale"])
    assert document.count("Targets:") == 1
    assert document.index("## desk") < document.index("## scale") < document.index(anomalies)
    desk = document[document.index("## desk") : document.index("## scale")]
    assert "`both`" in desk  # each data set says which run measured it
    assert "`scale only`" in document[document.index("## scale") :]
    assert "| 3.0 |" in document
    assert "| 2.0 |" not in document
