"""Model health: the latest row and the health-window aggregates of every recently seen model."""

from __future__ import annotations

from datetime import datetime

from psycopg import sql
from psycopg.rows import class_row

from server.db import Connection
from server.domain import ModelActivity, TimeRange
from server.repositories.fragments import ALL_MODELS, WINS_AND_REALIZED

_ONE_MODEL = sql.SQL("SELECT %(model_id)s::varchar AS model_id")

#: Per candidate model ``c`` of ``{models}``: its latest row by ``end`` (one backward index probe)
#: and the health window's aggregates, which ``{day}`` computes (predictions, wins, realized,
#: avg_latency). bench/paths.py times the same query with the aggregates read from a rollup.
ACTIVITY = sql.SQL("""
    WITH candidates AS ({models})
    SELECT c.model_id,
           coalesce(last.model_version, '') AS model_version,
           last.timestamp_utc AS last_prediction,
           day.predictions,
           day.wins,
           day.realized,
           day.avg_latency AS avg_latency_ms
    FROM candidates c
    CROSS JOIN LATERAL (
        SELECT f.model_version, f.timestamp_utc
        FROM dw.fact_rl_inference f
        WHERE f.model_id = c.model_id AND f.timestamp_utc <= %(end)s
        ORDER BY f.timestamp_utc DESC, f.inference_id DESC
        LIMIT 1
    ) last
    CROSS JOIN LATERAL ({day}) day
    WHERE %(seen_since)s::timestamptz IS NULL OR last.timestamp_utc > %(seen_since)s
    ORDER BY c.model_id
""")

#: The aggregates of candidate ``c`` over (day_start, end], from the log.
_DAY = sql.SQL("""
        SELECT count(*)::int4 AS predictions,
               {wins_and_realized},
               avg(f.latency_ms)::float8 AS avg_latency
        FROM dw.fact_rl_inference f
        WHERE f.model_id = c.model_id
          AND f.timestamp_utc > %(day_start)s AND f.timestamp_utc <= %(end)s
    """).format(wins_and_realized=WINS_AND_REALIZED)


def recent_models(conn: Connection, window: TimeRange, seen_since: datetime) -> list[ModelActivity]:
    """Every model with a prediction in ``(seen_since, window.end]``, by model_id; its counts
    over ``window``."""
    return _query(conn, ALL_MODELS, window, None, seen_since)


def model_activity(conn: Connection, model_id: str, window: TimeRange) -> ModelActivity | None:
    """One model's activity over ``window``; None if it has no prediction by ``window.end``."""
    rows = _query(conn, _ONE_MODEL, window, model_id, None)
    return rows[0] if rows else None


def _query(
    conn: Connection,
    models: sql.Composable,
    window: TimeRange,
    model_id: str | None,
    seen_since: datetime | None,
) -> list[ModelActivity]:
    query = ACTIVITY.format(models=models, day=_DAY)
    params = {
        "model_id": model_id,
        "day_start": window.start,
        "end": window.end,
        "seen_since": seen_since,
    }
    with conn.cursor(row_factory=class_row(ModelActivity)) as cur:
        return cur.execute(query, params).fetchall()
