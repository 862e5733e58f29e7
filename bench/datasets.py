"""The benchmark data sets, generated inside PostgreSQL (INSERT ... SELECT), not row by row.

*desk*: 6 models x 40 days of 5-minute predictions (~70k rows), as a trading desk has.
*scale*: 100 models x 365 days (~10.5M rows), to show the queries stay index-bound.

Rows are written in time order, every model interleaved, as a live inference log grows; so a
model's window is scattered over the table, the realistic (and slower) layout. Each data set
lives in a database of its own and is reused when it is already there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from devstack.processes import create_database
from devstack.seed import create_schema

log = logging.getLogger(__name__)

FEATURES = (
    "log_ret_5m, log_ret_1h, log_ret_4h, rsi_9, atr_pct, adx_14, dxy_z, dxy_change_1d, vix_z,"
    " embi_z, brent_change_1d, rate_spread, usdmxn_ret_1h"
)


@dataclass(frozen=True, slots=True)
class Dataset:
    """A generated data set: where it is and what it holds."""

    name: str
    models: int
    days: int
    dsn: str
    end: datetime
    rows: int

    def model_id(self, index: int) -> str:
        return f"bench_{index:03d}"


SIZES = {"desk": (6, 40), "scale": (100, 365), "smoke": (3, 9)}

_BARS = """
    INSERT INTO usdcop_m5_ohlcv (time, symbol, open, high, low, close, volume, source)
    SELECT t, 'USD/COP', c, c, c, c, 1000, 'bench'
    FROM (
        SELECT t,
               round((4000 * exp(0.0006 * sum(random() - 0.5) OVER (ORDER BY t)))::numeric, 6) AS c
        FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz, interval '5 minutes') t
    ) walk
"""

# One row per (bar, model). random() is volatile, so it is drawn anew for every row; the
# LATERAL refers to m so that it is evaluated per row, not once.
_INFERENCES = f"""
    INSERT INTO dw.fact_rl_inference (
        timestamp_utc, timestamp_cot, model_id, model_version, fold_id, symbol, action_raw,
        action_discretized, confidence, {FEATURES}, close_price, position_before,
        position_after, position_change, reward, latency_ms)
    SELECT b.time + interval '2 seconds', b.time + interval '2 seconds',
           'bench_' || lpad(m::text, 3, '0'),
           CASE WHEN b.time < %(end)s::timestamptz - interval '10 days' THEN '1.0' ELSE '1.1' END,
           1, 'USD/COP', a.raw,
           CASE WHEN a.raw > 0.3 THEN 'LONG' WHEN a.raw < -0.3 THEN 'SHORT' ELSE 'HOLD' END,
           0.5 + 0.5 * abs(a.raw),
           (random() - 0.5) * 0.002, (random() - 0.5) * 0.004, (random() - 0.5) * 0.008,
           100 * random(), 0.05 + 0.02 * random(), 20 + 10 * random(),
           random() * 2 - 1 + CASE WHEN m = 1 AND b.time > %(end)s::timestamptz - interval '1 day'
                                   THEN 1.5 ELSE 0 END,
           (random() - 0.5) * 0.01, random() * 2 - 1, random() * 2 - 1,
           (random() - 0.5) * 0.05, 6 + random(), (random() - 0.5) * 0.004,
           b.close,
           0, a.position, a.position,
           CASE WHEN b.time < %(end)s::timestamptz
                THEN a.position * (random() - 0.49) * 0.002 END,
           (15 + 40 * random() + CASE WHEN m = 2 THEN 200 ELSE 0 END)::int
    FROM usdcop_m5_ohlcv b
    CROSS JOIN generate_series(1, %(models)s) m
    CROSS JOIN LATERAL (
        SELECT r.raw, CASE WHEN r.raw > 0.3 THEN 1 WHEN r.raw < -0.3 THEN -1 ELSE 0 END AS position
        FROM (SELECT random() * 2 - 1 + 0 * m AS raw) r
    ) a
    WHERE b.source = 'bench' AND b.time < %(end)s::timestamptz
    ORDER BY b.time, m
"""


def database_name(name: str) -> str:
    """The database that holds data set ``name``."""
    return f"mlanalytics_bench_{name}"


def _bar_start(moment: datetime) -> datetime:
    """The start of the 5-minute bar holding ``moment``."""
    moment = moment.replace(second=0, microsecond=0)
    return moment - timedelta(minutes=moment.minute % 5)


def smoke_end(now: datetime) -> datetime:
    """Where the smoke data set ends: the 16th of this month at 12:00 UTC, or of the month
    before while that is still ahead. Its 9 days then lie inside one calendar month, so every
    window of up to 7 days falls in one partition of the log partitioned by month, whatever the
    date (on a window spanning two small partitions the planner may rightly scan one whole; the
    plan tests compare like with like).
    """
    end = now.replace(day=16, hour=12, minute=0, second=0, microsecond=0)
    if end > now:
        end = (end.replace(day=1) - timedelta(days=1)).replace(day=16)
    return end


def ensure(admin_dsn: str, name: str, database: str | None = None) -> Dataset:
    """The data set ``name`` (desk, scale, smoke) in database ``database`` (by default
    :func:`database_name` of it; a run that drops its database when done names one of its own,
    so that it never drops the one another run on the same PostgreSQL is reading)."""
    models, days = SIZES[name]
    dsn = create_database(admin_dsn, database or database_name(name))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset"
            " (name text PRIMARY KEY, models int, days int, end_time timestamptz, rows bigint)"
        )
        row = conn.execute(
            "SELECT end_time, rows FROM bench_dataset"
            " WHERE name = %s AND models = %s AND days = %s",
            (name, models, days),
        ).fetchone()
        if row is not None and (name != "smoke" or row[0] == smoke_end(datetime.now(UTC))):
            log.info("reusing the %s data set (%d rows)", name, row[1])
            return Dataset(name, models, days, dsn, row[0], int(row[1]))
        return _generate(conn, name, models, days, dsn)


def _generate(
    conn: psycopg.Connection[tuple[object, ...]], name: str, models: int, days: int, dsn: str
) -> Dataset:
    started = time.monotonic()
    end = smoke_end(datetime.now(UTC)) if name == "smoke" else _bar_start(datetime.now(UTC))
    params = {"start": end - timedelta(days=days), "end": end, "models": models}
    conn.execute("DROP TABLE IF EXISTS dw.fact_rl_inference, usdcop_m5_ohlcv")
    create_schema(conn)
    conn.execute("DROP INDEX dw.fact_rl_inference_model_time_idx")  # built once, after loading
    conn.execute(_BARS, params)
    log.info("generating %s: %d models x %d days ...", name, models, days)
    cur = conn.execute(_INFERENCES, params)
    rows = cur.rowcount
    create_schema(conn)  # the index
    conn.execute("VACUUM ANALYZE dw.fact_rl_inference")
    conn.execute("VACUUM ANALYZE usdcop_m5_ohlcv")
    conn.execute("DELETE FROM bench_dataset WHERE name = %s", (name,))
    conn.execute(
        "INSERT INTO bench_dataset VALUES (%s, %s, %s, %s, %s)", (name, models, days, end, rows)
    )
    log.info("%s: %d rows in %.0f s", name, rows, time.monotonic() - started)
    return Dataset(name, models, days, dsn, end, rows)
