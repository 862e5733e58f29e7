"""The steps beyond one table and its index, measured on the *scale* data (docs/SCALING.md).

    python -m bench.paths covering [--dsn ADMIN_DSN] [--repeat 7]  # the window's columns indexed
    python -m bench.paths monthly     # the log as monthly range partitions
    python -m bench.paths rollup      # hourly aggregates kept beside the log

*covering* builds a wider index inside a transaction that is rolled back (nothing stays; the
table is locked against writes meanwhile, ~2 min). *monthly* copies the scale data, row for
row, into a database of its own (``mlanalytics_bench_scale_monthly``, ~2-5 min the first time,
then reused) whose inference log is partitioned by month, and runs the very same repository
calls on it. *rollup* builds, in a temporary table, the hourly aggregates a TimescaleDB continuous
aggregate would keep, and times the queries rewritten to read them against the originals,
checking that both give the same answers.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from bench.datasets import Dataset, ensure
from bench.explain import (
    WINDOWS,
    Case,
    Measured,
    calls_table,
    cases,
    connect,
    describe,
    fit_lines,
    run_cases,
    statements_table,
)
from devstack.seed import create_schema
from server.db import Connection
from server.domain import TimeRange
from server.repositories import health, performance, predictions
from server.repositories.fragments import ALL_MODELS
from server.repositories.models import SEEN_WINDOW

# --- covering: the window's columns in the index ------------------------------------------------

#: The service's index plus every column the window fetch and the history count read, so that
#: both become index-only scans (the drift features stay in the table).
COVERING_INDEX = """
    CREATE INDEX fact_rl_inference_model_time_covering_idx
        ON dw.fact_rl_inference (model_id, timestamp_utc, inference_id)
        INCLUDE (model_version, reward, latency_ms, symbol, action_discretized, action_raw,
                 confidence)
"""


def covering(admin_dsn: str, data: Dataset, repeat: int) -> str:
    del admin_dsn
    every = [data.model_id(i) for i in range(1, data.models + 1)]
    one = every[2:3]
    found = []
    for name in ("24h", "30d"):
        span = TimeRange(data.end - WINDOWS[name], data.end, name)
        found += [
            Case("window fetch", 1, name, _fetch(one, span)),
            Case("window fetch", data.models, name, _fetch(every, span)),
            Case("history count", 1, name, _count(one[0], span)),
        ]
    with psycopg.connect(data.dsn, options="-c TimeZone=UTC") as conn:  # one transaction
        started = time.perf_counter()
        conn.execute(COVERING_INDEX)
        built_s = time.perf_counter() - started
        row = conn.execute(
            "SELECT pg_size_pretty(pg_relation_size('dw.fact_rl_inference_model_time_"
            "covering_idx')), pg_size_pretty(pg_relation_size('dw.fact_rl_inference_model_time_"
            "idx'))"
        ).fetchone()
        assert row is not None
        results = run_cases(conn, found, repeat)
        conn.rollback()  # the index goes again
    lines = [
        f"Covering index built in {built_s:.0f} s: {row[0]} (the service's index: {row[1]}).",
        " ".join(COVERING_INDEX.split()),
        "",
        *calls_table(results),
        "",
        *statements_table(results),
    ]
    return "\n".join(lines)


def _fetch(ids: list[str], span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: predictions.fetch_window(conn, ids, span)


def _count(model_id: str, span: TimeRange) -> Callable[[Connection], object]:
    return lambda conn: predictions.count(conn, model_id, span.start, span.end)


# --- monthly: range partitions on timestamp_utc ---------------------------------------------------


def monthly(admin_dsn: str, data: Dataset, repeat: int) -> str:
    part = ensure_monthly(admin_dsn, data)
    with connect(part.dsn) as conn:
        results = run_cases(conn, cases(part), repeat)
        header = describe(conn, part, repeat)
        row = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'dw.fact_rl_inference'::regclass"
        ).fetchone()
    assert row is not None
    lines = [
        f"{header} Partitioned by month: {row[0]} partitions.",
        "",
        *calls_table(results),
        "",
        *statements_table(results),
        "",
        *fit_lines(results),
    ]
    return "\n".join(lines)


def ensure_monthly(admin_dsn: str, data: Dataset) -> Dataset:
    """``data``, the same rows, in a log partitioned by month, in a database of its own
    (``mlanalytics_bench_<name>_monthly``: built once, then reused)."""
    dbname = monthly_database(data)
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    dsn = psycopg.conninfo.make_conninfo(admin_dsn, dbname=dbname)
    part = replace(data, name=f"{data.name}, monthly partitions", dsn=dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_source (end_time timestamptz, rows bigint)")
        if conn.execute(
            "SELECT 1 FROM bench_source WHERE end_time = %s AND rows = %s", (data.end, data.rows)
        ).fetchone():
            return part
        _build_monthly(conn, data)
        conn.execute("DELETE FROM bench_source")
        conn.execute("INSERT INTO bench_source VALUES (%s, %s)", (data.end, data.rows))
    return part


def monthly_database(data: Dataset) -> str:
    """The partitioned copy's database: the data set's own name with ``_monthly``."""
    return f"{conninfo_to_dict(data.dsn)['dbname']}_monthly"


def _build_monthly(conn: Connection, data: Dataset) -> None:
    started = time.perf_counter()
    conn.execute("DROP TABLE IF EXISTS dw.fact_rl_inference, usdcop_m5_ohlcv CASCADE")
    create_schema(conn)  # the service's schema: then the log becomes a partitioned table alike
    conn.execute("DROP INDEX dw.fact_rl_inference_model_time_idx")
    conn.execute("ALTER TABLE dw.fact_rl_inference RENAME TO fact_rl_inference_plain")
    conn.execute(
        "CREATE TABLE dw.fact_rl_inference (LIKE dw.fact_rl_inference_plain INCLUDING DEFAULTS"
        " INCLUDING CONSTRAINTS) PARTITION BY RANGE (timestamp_utc)"
    )
    conn.execute("DROP TABLE dw.fact_rl_inference_plain CASCADE")  # and its id sequence
    month = (data.end - timedelta(days=data.days)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    while month <= data.end:
        following = (month + timedelta(days=32)).replace(day=1)
        conn.execute(
            sql.SQL(
                "CREATE TABLE dw.{} PARTITION OF dw.fact_rl_inference FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(f"fact_rl_inference_{month:%Y_%m}"),
                sql.Literal(month),
                sql.Literal(following),
            )
        )
        month = following
    with psycopg.connect(data.dsn) as source:
        for table in ("dw.fact_rl_inference", "usdcop_m5_ohlcv"):
            copy_out = f"COPY {table} TO STDOUT (FORMAT BINARY)"
            copy_in = f"COPY {table} FROM STDIN (FORMAT BINARY)"
            with (
                source.cursor().copy(copy_out.encode()) as out,
                conn.cursor().copy(copy_in.encode()) as into,
            ):
                for block in out:
                    into.write(block)
            print(f"copied {table}", file=sys.stderr)
    conn.execute("ALTER TABLE dw.fact_rl_inference ADD PRIMARY KEY (inference_id, timestamp_utc)")
    create_schema(conn)  # the service's index, now on every partition
    conn.execute("VACUUM ANALYZE dw.fact_rl_inference")
    conn.execute("VACUUM ANALYZE usdcop_m5_ohlcv")
    print(f"monthly copy built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


# --- rollup: hourly aggregates beside the log -----------------------------------------------------

#: What a TimescaleDB continuous aggregate (or a rollup table kept by the writer) holds: every
#: sum the hourly, health and comparison answers are made of, per model, version and clock hour.
ROLLUP = """
    CREATE TEMP TABLE inference_hourly AS
    SELECT f.model_id,
           coalesce(f.model_version, '') AS model_version,
           date_trunc('hour', f.timestamp_utc) AS hour,
           count(*) AS predictions,
           count(*) FILTER (WHERE f.reward > 0) AS wins,
           count(*) FILTER (WHERE f.reward <> 0) AS realized,
           count(f.reward) AS rewarded,
           coalesce(sum(f.reward), 0) AS total_reward,
           coalesce(sum(f.reward * f.reward), 0) AS total_reward_sq,
           max(abs(f.reward)) AS max_abs_reward,
           count(f.latency_ms) AS latencies,
           coalesce(sum(f.latency_ms), 0) AS total_latency_ms
    FROM dw.fact_rl_inference f
    GROUP BY 1, 2, 3
"""
ROLLUP_INDEXES = (
    "CREATE INDEX ON inference_hourly (model_id, hour)",
    "CREATE INDEX ON inference_hourly (hour)",
    "ANALYZE inference_hourly",
)

#: The rows of (start, end] that no whole hour of the rollup holds: the partial first and last
#: hour, two index ranges of at most an hour each. Whole hours h are those with
#: start < h <= end - 1 hour.
_EDGES = """(
        (f.timestamp_utc > %(start)s
         AND f.timestamp_utc < date_trunc('hour', %(start)s) + interval '1 hour')
        OR (f.timestamp_utc >= date_trunc('hour', %(end)s - interval '1 hour') + interval '1 hour'
            AND f.timestamp_utc <= %(end)s))"""
_WHOLE_HOURS = "r.hour > %(start)s AND r.hour <= %(end)s - interval '1 hour'"

#: Replaces performance._HOURLY (one model's clock hours).
HOURLY_FROM_ROLLUP = f"""/* rollup: hourly buckets */
    SELECT p.hour,
           sum(p.predictions)::int4 AS predictions,
           sum(p.wins)::int4 AS wins,
           sum(p.realized)::int4 AS realized,
           sum(p.rewarded)::int4 AS rewarded,
           sum(p.total_reward)::float8 AS total_reward,
           coalesce(sum(p.total_latency_ms)::float8 / nullif(sum(p.latencies), 0), 'NaN')
               AS avg_latency_ms
    FROM (
        SELECT r.hour, r.predictions, r.wins, r.realized, r.rewarded, r.total_reward,
               r.latencies, r.total_latency_ms
        FROM inference_hourly r
        WHERE r.model_id = %(model_id)s AND {_WHOLE_HOURS}
        UNION ALL
        SELECT date_trunc('hour', f.timestamp_utc), 1, (f.reward > 0)::int,
               (f.reward <> 0)::int, (f.reward IS NOT NULL)::int, coalesce(f.reward, 0),
               (f.latency_ms IS NOT NULL)::int, coalesce(f.latency_ms, 0)
        FROM dw.fact_rl_inference f
        WHERE f.model_id = %(model_id)s AND {_EDGES}
    ) p
    GROUP BY p.hour
    ORDER BY p.hour
"""

#: Replaces performance._COMPARISON (every model and version over a window).
COMPARISON_FROM_ROLLUP = f"""/* rollup: per-version comparison */
    WITH models AS ({ALL_MODELS.as_string()}),
    parts AS (
        SELECT r.model_id, r.model_version, r.predictions, r.wins, r.realized, r.rewarded,
               r.total_reward, r.total_reward_sq, r.max_abs_reward, r.latencies,
               r.total_latency_ms
        FROM inference_hourly r
        WHERE {_WHOLE_HOURS}
        UNION ALL
        SELECT f.model_id, coalesce(f.model_version, ''), 1, (f.reward > 0)::int,
               (f.reward <> 0)::int, (f.reward IS NOT NULL)::int, coalesce(f.reward, 0),
               coalesce(f.reward * f.reward, 0), abs(f.reward),
               (f.latency_ms IS NOT NULL)::int, coalesce(f.latency_ms, 0)
        FROM dw.fact_rl_inference f
        WHERE f.model_id = ANY(ARRAY(SELECT model_id FROM models)) AND {_EDGES}
    )
    SELECT p.model_id,
           p.model_version,
           sum(p.predictions)::int4 AS predictions,
           sum(p.wins)::int4 AS wins,
           sum(p.realized)::int4 AS realized,
           sum(p.rewarded)::int4 AS rewarded,
           coalesce(sum(p.total_reward) / nullif(sum(p.rewarded), 0), 0)::float8 AS avg_reward,
           CASE WHEN sum(p.rewarded) > 1
                THEN sqrt(greatest((sum(p.total_reward_sq)
                                    - sum(p.total_reward) ^ 2 / sum(p.rewarded))
                                   / (sum(p.rewarded) - 1), 0))
                ELSE 0 END::float8 AS std_reward,
           sum(p.total_reward)::float8 AS total_reward,
           (sum(p.total_latency_ms)::float8 / nullif(sum(p.latencies), 0)) AS avg_latency_ms,
           coalesce(max(p.max_abs_reward), 0)::float8 AS max_abs_reward
    FROM parts p
    GROUP BY 1, 2
    ORDER BY 1, 2
"""

#: Replaces the day aggregates of health.ACTIVITY (the latest row stays one index probe).
_DAY_FROM_ROLLUP = f"""
        SELECT coalesce(sum(p.predictions), 0)::int4 AS predictions,
               coalesce(sum(p.wins), 0)::int4 AS wins,
               coalesce(sum(p.realized), 0)::int4 AS realized,
               sum(p.total_latency_ms)::float8 / nullif(sum(p.latencies), 0) AS avg_latency
        FROM (
            SELECT r.predictions, r.wins, r.realized, r.latencies, r.total_latency_ms
            FROM inference_hourly r
            WHERE r.model_id = c.model_id AND {_WHOLE_HOURS}
            UNION ALL
            SELECT 1, (f.reward > 0)::int, (f.reward <> 0)::int,
                   (f.latency_ms IS NOT NULL)::int, coalesce(f.latency_ms, 0)
            FROM dw.fact_rl_inference f
            WHERE f.model_id = c.model_id AND {_EDGES}
        ) p
    """
HEALTH_FROM_ROLLUP = "/* rollup: health activity */" + (
    health.ACTIVITY.format(models=ALL_MODELS, day=sql.SQL(_DAY_FROM_ROLLUP)).as_string()
)


@dataclass(frozen=True)
class Pair:
    """A call as the service makes it, and the same answer from the rollup."""

    shape: str
    models: int
    window: str
    original: Callable[[Connection], list[tuple[Any, ...]]]
    rollup: Callable[[Connection], list[tuple[Any, ...]]]


def rollup(admin_dsn: str, data: Dataset, repeat: int) -> str:
    del admin_dsn
    model_id = data.model_id(3)
    pairs = []
    for name in ("24h", "7d", "30d"):
        span = TimeRange(data.end - WINDOWS[name], data.end, name)
        params = {"start": span.start, "end": span.end, "model_id": model_id}
        health_params = {**params, "seen_since": span.end - SEEN_WINDOW}
        pairs += [
            Pair(
                "hourly buckets",
                1,
                name,
                _hourly_rows(model_id, span),
                _query(HOURLY_FROM_ROLLUP, params),
            ),
            Pair(
                "per-version comparison",
                data.models,
                name,
                _comparison_rows(span),
                _query(COMPARISON_FROM_ROLLUP, params),
            ),
            Pair(
                "health activity",
                data.models,
                name,
                _health_rows(span),
                _query(HEALTH_FROM_ROLLUP, health_params),
            ),
        ]
    with psycopg.connect(data.dsn, autocommit=True, options="-c TimeZone=UTC") as conn:
        started = time.perf_counter()
        conn.execute(ROLLUP)
        for statement in ROLLUP_INDEXES:
            conn.execute(statement.encode())
        built_s = time.perf_counter() - started
        row = conn.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('inference_hourly'))"
            " FROM inference_hourly"
        ).fetchone()
        assert row is not None
        for pair in pairs:
            _same(pair, pair.original(conn), pair.rollup(conn))
        found = []
        for pair in pairs:
            found += [
                Case(pair.shape, pair.models, pair.window, pair.original),
                Case(f"{pair.shape}, from the rollup", pair.models, pair.window, pair.rollup),
            ]
        results: list[Measured] = run_cases(conn, found, repeat)
    lines = [
        f"Rollup built in {built_s:.0f} s (one pass over the log): {row[0]:,} rows, {row[1]}"
        " with its indexes. Every rewritten query gave the original's answer (checked).",
        "",
        *calls_table(results),
        "",
        *statements_table(results),
    ]
    return "\n".join(lines)


def _query(text: str, params: dict[str, Any]) -> Callable[[Connection], list[tuple[Any, ...]]]:
    return lambda conn: conn.execute(text.encode(), params).fetchall()


def _hourly_rows(model_id: str, span: TimeRange) -> Callable[[Connection], list[tuple[Any, ...]]]:
    """The service's answer as rows. Here and below: columns in the order of the domain class's
    fields, which the rollup queries select in the same order."""

    def run(conn: Connection) -> list[tuple[Any, ...]]:
        h = performance.hourly(conn, model_id, span.start, span.end)
        return list(zip(*(getattr(h, column.name).tolist() for column in fields(h)), strict=True))

    return run


def _comparison_rows(span: TimeRange) -> Callable[[Connection], list[tuple[Any, ...]]]:
    return lambda conn: sorted(map(astuple, performance.by_version(conn, span.start, span.end)))


def _health_rows(span: TimeRange) -> Callable[[Connection], list[tuple[Any, ...]]]:
    return lambda conn: list(map(astuple, health.recent_models(conn, span, span.end - SEEN_WINDOW)))


def _same(pair: Pair, original: list[tuple[Any, ...]], rewritten: list[tuple[Any, ...]]) -> None:
    """The rewritten query's answer is the original's: counts and instants exactly, sums to 1e-9
    relative (they are added in another order; the standard deviation comes from sums of
    squares)."""
    assert len(original) == len(rewritten), (pair.shape, pair.window, len(original))
    for a, b in zip(original, rewritten, strict=True):
        for x, y in zip(map(_plain, a), map(_plain, b), strict=True):
            if isinstance(x, float) and isinstance(y, float):
                both_nan = math.isnan(x) and math.isnan(y)
                assert both_nan or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (pair, a, b)
            else:
                assert x == y, (pair.shape, pair.window, a, b)


def _plain(value: Any) -> Any:
    """An aware datetime as naive UTC, the way numpy columns hold instants."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


PATHS: dict[str, Callable[[str, Dataset, int], str]] = {
    "covering": covering,
    "monthly": monthly,
    "rollup": rollup,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", choices=PATHS)
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--dataset", default="scale", choices=("scale", "smoke"))
    args = parser.parse_args(argv)
    print(PATHS[args.path](args.dsn, ensure(args.dsn, args.dataset), args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
