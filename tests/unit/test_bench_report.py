"""bench.run rewrites its own sections of docs/PERFORMANCE.md and keeps everyone else's."""

from __future__ import annotations

from bench.run import with_other_sections

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
