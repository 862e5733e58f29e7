"""EXPLAIN (ANALYZE, BUFFERS) of every query shape the service runs, on the *scale* data set.

Usage::

    python -m bench.explain [--dsn postgresql://postgres@127.0.0.1:5432/postgres] [--repeat 5]

It calls the repositories' own functions (the SQL the service sends, with its parameters, on a
session set up as the service's: read-only, UTC) against the scale data set (100 models x 365
days of 5-minute predictions, ~10.5M rows; built by ``bench.datasets`` if it is missing, ~2 min).
Each call runs once to warm the cache, ``--repeat`` times for its wall time (fastest and median:
SQL, transfer and decoding into numpy), and once more with ``auto_explain`` (ANALYZE, BUFFERS,
JSON plans sent to the client as notices; ``LOAD`` needs a superuser ``--dsn``) for each
statement's plan: its execution time, the rows it read from the inference log, the 8 kB pages it
touched, and how it reached them. Prints markdown: the table of calls, the table of statements,
and a linear fit of the window fetch's time against the rows it reads, extrapolated to the
latency targets. ``python -m bench.paths`` measures the steps beyond.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import numpy as np
import psycopg

from analytics import ALWAYS, DEFAULT_HOLD_BAND, FEATURES
from bench.datasets import Dataset, ensure
from server.db import Connection
from server.domain import TimeRange
from server.reports.windows import model_windows
from server.repositories import health, models, performance, predictions
from server.repositories.fragments import ALL_MODELS

WINDOWS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
LOG_TABLE = "fact_rl_inference"
#: The latency targets (docs/DEFINITIONS.md#performance-targets), for the extrapolation.
PER_MODEL_BUDGET_MS, ALL_MODELS_BUDGET_MS = 250.0, 1000.0


@dataclass(frozen=True)
class Case:
    """One call of the service's: a query shape for a number of models over a window."""

    shape: str
    models: int
    window: str
    run: Callable[[Connection], object]


@dataclass(frozen=True)
class Statement:
    """One statement's plan, as auto_explain reported it."""

    text: str
    ms: float
    rows_returned: int
    log_rows_read: int  # rows of the inference log its scans produced or filtered out
    other_rows_read: int  # the same, of other tables (the bars, a rollup)
    pages: int  # shared buffers hit + read (8 kB pages), its whole plan
    access: str  # how it reached the inference log

    @property
    def name(self) -> str:
        """A short name for the statement, from the text the repositories send."""
        text = " ".join(self.text.split())
        if text.startswith("/* "):  # the queries of bench/paths.py name themselves
            return text[3 : text.index(" */")]
        for marker, name in _STATEMENT_NAMES:
            if marker in text:
                return name
        return text[:40]


_STATEMENT_NAMES = (
    ("array_position", "window rows"),
    ("FROM symbols s CROSS JOIN LATERAL", "bars"),
    ("WITH ORDINALITY", "latest versions"),
    ("CROSS JOIN LATERAL ( SELECT f.model_version, f.timestamp_utc", "health activity"),
    ("date_trunc('hour'", "hourly buckets"),
    ("stddev_samp", "per-version comparison"),
    ("OFFSET $", "history page"),
    ("SELECT count(*)::int4 FROM dw.fact_rl_inference", "history count"),
    ("WHERE EXISTS (", "seen models"),
    ("SELECT EXISTS (SELECT 1", "model exists"),
    ("WITH RECURSIVE models", "all models"),
)


@dataclass(frozen=True)
class Measured:
    case: Case
    fastest_ms: float  # the CPU cost: on a shared machine the median also measures the neighbours
    median_ms: float
    statements: list[Statement]

    @property
    def log_rows_read(self) -> int:
        return sum(s.log_rows_read for s in self.statements)

    @property
    def pages(self) -> int:
        return sum(s.pages for s in self.statements)

    @property
    def sql_ms(self) -> float:
        return sum(s.ms for s in self.statements)


def cases(data: Dataset) -> list[Case]:
    """Every query shape of the repositories, for 1 model and for all of them, per window."""
    end = data.end
    one = [data.model_id(3)]
    every = [data.model_id(i) for i in range(1, data.models + 1)]
    found: list[Case] = [
        Case("all models (loose index scan)", data.models, "-", lambda c: _rows(c, ALL_MODELS)),
        Case(
            "seen models (7 days)", data.models, "7d", lambda c: models.seen_models(c, end, ALWAYS)
        ),
        Case("model exists", 1, "-", lambda c: models.require_model(c, one[0])),
    ]
    for name, length in WINDOWS.items():
        span = TimeRange(end - length, end, name)
        found += [
            Case("window fetch", 1, name, _fetch(one, span)),
            Case("window fetch", data.models, name, _fetch(every, span)),
            Case("window + analytics", 1, name, _report(one, span)),
            Case("window + analytics", data.models, name, _report(every, span)),
            Case("health activity", 1, name, _activity(one[0], span)),
            Case("health activity", data.models, name, _recent(span)),
            Case("hourly buckets", 1, name, _hourly(one[0], span)),
            Case("per-version comparison", data.models, name, _versions(span)),
            Case("history count + page 1", 1, name, _history(one[0], span, deep=False)),
        ]
    found.append(
        Case("history count + last page", 1, "30d", _history(one[0], _span(end, "30d"), True))
    )
    for hours, days in ((24, 7), (168, 30)):
        span = TimeRange(end - timedelta(hours=hours) - timedelta(days=days), end)
        window = f"{hours}h + {days}d"
        found.append(Case("drift window (13 features)", 1, window, _fetch(one, span, FEATURES)))
    return found


def _span(end: datetime, name: str) -> TimeRange:
    return TimeRange(end - WINDOWS[name], end, name)


def _rows(conn: Connection, query: Any) -> object:
    return conn.execute(query).fetchall()


def _fetch(
    ids: list[str], span: TimeRange, features: tuple[str, ...] = ()
) -> Callable[[Connection], object]:
    return lambda conn: predictions.fetch_window(conn, ids, span, features)


def _report(ids: list[str], span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: model_windows(conn, ids, span, DEFAULT_HOLD_BAND)


def _activity(model_id: str, span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: health.model_activity(conn, model_id, span)


def _recent(span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: health.recent_models(conn, span, span.end - models.SEEN_WINDOW)


def _hourly(model_id: str, span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: performance.hourly(conn, model_id, span.start, span.end)


def _versions(span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: performance.by_version(conn, span.start, span.end)


def _history(model_id: str, span: TimeRange, deep: bool) -> Callable[[Connection], object]:
    def run(conn: Connection) -> object:
        with predictions.snapshot(conn):
            total = predictions.count(conn, model_id, span.start, span.end)
            offset = max(total - 50, 0) if deep else 0
            return predictions.newest_first(
                conn, model_id, span.start, span.end, limit=50, offset=offset
            )

    return run


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def statement(duration_ms: float, plan: dict[str, Any]) -> Statement:
    """The figures of one auto_explain JSON plan."""
    top = plan["Plan"]
    read = other = 0
    access: Counter[str] = Counter()
    partitions = set()
    for node in _walk(top):
        relation = node.get("Relation Name", "")
        if not relation:
            continue
        loops = int(node.get("Actual Loops", 1))
        # Per-loop averages in the plan, hence the loops.
        rows = round((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * loops)
        if not (relation == LOG_TABLE or relation.startswith(f"{LOG_TABLE}_")):
            other += rows
            continue
        read += rows
        kind = node["Node Type"].replace(" Scan", "").lower()
        if relation != LOG_TABLE:  # a partition: its index has a generated name
            if loops:  # a partition pruned at run time is in the plan, "never executed"
                partitions.add(relation)
            access[f"{kind} (partition index)" if "Index Name" in node else kind] += loops
        else:
            access[f"{kind} {node.get('Index Name', '')}".strip()] += loops
    how = ", ".join(f"{a} x{n}" if n > 1 else a for a, n in sorted(access.items())) or "-"
    if partitions:
        how += f"; {len(partitions)} partition{'s' if len(partitions) > 1 else ''}"
    return Statement(
        text=plan.get("Query Text", ""),
        ms=duration_ms,
        rows_returned=int(top["Actual Rows"]),
        log_rows_read=read,
        other_rows_read=other,
        pages=int(top.get("Shared Hit Blocks", 0)) + int(top.get("Shared Read Blocks", 0)),
        access=how,
    )


class Explainer:
    """auto_explain on one connection: the plans of the statements a call sends."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._plans: list[Statement] | None = None
        conn.add_notice_handler(self._notice)
        conn.execute("LOAD 'auto_explain'")
        for setting in (
            "auto_explain.log_analyze = on",
            "auto_explain.log_buffers = on",
            "auto_explain.log_format = json",
            "auto_explain.log_level = notice",
            "auto_explain.log_min_duration = -1",
            "client_min_messages = notice",
        ):
            conn.execute(f"SET {setting}".encode())

    def _notice(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if self._plans is None or not message.startswith("duration:"):
            return
        head, _, body = message.partition("plan:")
        duration_ms = float(head.split()[1])
        self._plans.append(statement(duration_ms, json.loads(body)))

    def plans(self, run: Callable[[Connection], object]) -> list[Statement]:
        self._plans = []
        self._conn.execute("SET auto_explain.log_min_duration = 0")
        try:
            run(self._conn)
        finally:
            self._conn.execute("SET auto_explain.log_min_duration = -1")
            found, self._plans = self._plans, None
        return [s for s in found if "auto_explain" not in s.text]


def measure(conn: Connection, explainer: Explainer, case: Case, repeat: int) -> Measured:
    case.run(conn)  # warm the cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        case.run(conn)
        times.append((time.perf_counter() - started) * 1000)
    return Measured(case, min(times), median(times), explainer.plans(case.run))


@dataclass(frozen=True)
class Fit:
    """call ms = fixed + per_model x models + per_row x rows read.

    Least squares of the relative error (each point weighted by 1 / its time): the points span
    four orders of magnitude, and plain least squares would fit the largest alone.
    """

    fixed: float
    per_model: float
    per_row: float
    points: int

    @classmethod
    def of(cls, results: list[Measured]) -> Fit:
        design = np.array([[1.0, m.case.models, m.log_rows_read] for m in results])
        times = np.array([m.fastest_ms for m in results])
        weights = 1.0 / times
        (fixed, per_model, per_row), *_ = np.linalg.lstsq(
            design * weights[:, None], times * weights, rcond=None
        )
        return cls(float(fixed), float(per_model), float(per_row), len(results))

    def rows_per_model(self, models: int, budget_ms: float) -> float:
        """Rows per model per window at which ``models`` models take ``budget_ms``."""
        return (budget_ms - self.fixed - self.per_model * models) / (self.per_row * models)

    def models_at(self, rows_per_model: float, budget_ms: float) -> float:
        """Models of ``rows_per_model`` rows each that take ``budget_ms``."""
        return (budget_ms - self.fixed) / (self.per_model + self.per_row * rows_per_model)


def run_cases(conn: Connection, found: list[Case], repeat: int) -> list[Measured]:
    explainer = Explainer(conn)
    results = []
    for case in found:
        results.append(measure(conn, explainer, case, repeat))
        print(f"{case.shape}, {case.models} models, {case.window}", file=sys.stderr)
    return results


def describe(conn: Connection, data: Dataset, repeat: int) -> str:
    """The data set, the server and the relation sizes, as a paragraph."""
    row = conn.execute(  # the table and its partitions, if any
        "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))),"
        " pg_size_pretty(sum(pg_indexes_size(relid))), split_part(version(), ' on ', 1)"
        " FROM (SELECT relid FROM pg_partition_tree('dw.fact_rl_inference')"
        "       UNION SELECT 'dw.fact_rl_inference'::regclass) tree"
    ).fetchone()
    assert row is not None
    return (
        f"{row[2]}; *{data.name}* data, {data.models} models x {data.days} days, {data.rows:,} rows"
        f" ending {data.end:%Y-%m-%d %H:%M} UTC; inference log {row[0]} with indexes, {row[1]} of"
        f" them indexes. Call time: the fastest and the median of {repeat} warm runs (SQL,"
        " transfer, decoding)."
    )


def calls_table(results: list[Measured]) -> list[str]:
    lines = [
        "| call | models | window | log rows read | pages | SQL ms | call ms fastest | median |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        c = m.case
        lines.append(
            f"| {c.shape} | {c.models} | {c.window} | {m.log_rows_read:,} | {m.pages:,}"
            f" | {m.sql_ms:.1f} | {m.fastest_ms:.1f} | {m.median_ms:.1f} |"
        )
    return lines


def statements_table(results: list[Measured]) -> list[str]:
    lines = [
        "| call | models | window | statement | rows out | log rows read | other rows read"
        " | pages | ms | access to the log |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in results:
        c = m.case
        for s in m.statements:
            lines.append(
                f"| {c.shape} | {c.models} | {c.window} | {s.name} | {s.rows_returned:,}"
                f" | {s.log_rows_read:,} | {s.other_rows_read:,} | {s.pages:,} | {s.ms:.1f}"
                f" | {s.access} |"
            )
    return lines


def fit_lines(results: list[Measured]) -> list[str]:
    lines = [
        "Fit of the fastest call time (least relative squares): fixed + per model + per row"
        " read; and where it meets the targets (rows per model per window at 5-minute cadence:"
        " 1h 12, 24h 288, 7d 2,016, 30d 8,640):",
        "",
    ]
    for shape in ("window fetch", "window + analytics"):
        f = Fit.of([m for m in results if m.case.shape == shape])
        lines.append(
            f"- {shape} ({f.points} points): {f.fixed:.1f} ms + {f.per_model:.2f} ms per model"
            f" + {f.per_row * 1000:.2f} us per row; one model reaches {PER_MODEL_BUDGET_MS:.0f} ms"
            f" at {f.rows_per_model(1, PER_MODEL_BUDGET_MS):,.0f} rows; 100 models reach"
            f" {ALL_MODELS_BUDGET_MS:.0f} ms at {f.rows_per_model(100, ALL_MODELS_BUDGET_MS):,.0f}"
            f" rows each; at 288 rows each (24 h of 5-minute predictions),"
            f" {f.models_at(288, ALL_MODELS_BUDGET_MS):,.0f} models reach"
            f" {ALL_MODELS_BUDGET_MS:.0f} ms"
        )
    return lines


def connect(dsn: str) -> Connection:
    """A session as the service's: read-only, UTC."""
    return psycopg.connect(
        dsn, autocommit=True, options="-c default_transaction_read_only=on -c TimeZone=UTC"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--dataset",
        default="scale",
        choices=("scale", "desk", "smoke"),
        help="desk: the same calls on 6 models x 40 days, to see that a window's cost does not"
        " depend on the table's size; smoke: 3 models x 9 days, for the tests",
    )
    parser.add_argument("--database", help="the data set's database (default: its own name)")
    args = parser.parse_args(argv)
    data = ensure(args.dsn, args.dataset, args.database)
    with connect(data.dsn) as conn:
        results = run_cases(conn, cases(data), args.repeat)
        lines = [describe(conn, data, args.repeat), ""]
    lines += [*calls_table(results), "", *statements_table(results), "", *fit_lines(results)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
