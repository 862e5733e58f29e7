"""Markdown tables for the benchmarks' reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: The rule under a column's heading: text to the left, numbers to the right.
LEFT, RIGHT = "---", "---:"


def markdown_table(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a table of ``columns`` (heading, ``LEFT`` or ``RIGHT``) and ``rows`` of cells.

    >>> markdown_table([("call", LEFT), ("ms", RIGHT)], [["fetch", "1.5"]])
    ['| call | ms |', '|---|---:|', '| fetch | 1.5 |']
    """
    return [
        "| " + " | ".join(heading for heading, _ in columns) + " |",
        "|" + "|".join(rule for _, rule in columns) + "|",
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]
