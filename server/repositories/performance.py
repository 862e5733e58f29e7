"""Aggregates computed in SQL: hourly buckets of one model, per-version comparison of all models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import class_row

from server.db import Connection
from server.domain import HourlyAggregates, VersionAggregates
from server.repositories.columns import PgType, fetch_columns
from server.repositories.fragments import ALL_MODELS, WINS_AND_REALIZED

# Clock hours (date_trunc in the session's UTC), as analytics.hourly_buckets with the window's
# hour as origin.
_HOURLY = sql.SQL("""
    SELECT date_trunc('hour', f.timestamp_utc) AS hour,
           count(*)::int4 AS predictions,
           {wins_and_realized},
           count(f.reward)::int4 AS rewarded,
           coalesce(sum(f.reward), 0)::float8 AS total_reward,
           coalesce(avg(f.latency_ms), 'NaN')::float8 AS avg_latency_ms
    FROM dw.fact_rl_inference f
    WHERE f.model_id = %(model_id)s
      AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
    GROUP BY 1
""").format(wins_and_realized=WINS_AND_REALIZED)

_HOURLY_COLUMNS: dict[str, PgType] = {
    "hour": "timestamptz",
    "predictions": "int4",
    "wins": "int4",
    "realized": "int4",
    "rewarded": "int4",
    "total_reward": "float8",
    "avg_latency_ms": "float8",
}


def hourly(conn: Connection, model_id: str, start: datetime, end: datetime) -> HourlyAggregates:
    """The model's predictions in (start, end] aggregated by clock hour (UTC)."""
    columns: dict[str, Any] = fetch_columns(
        conn,
        _HOURLY,
        {"model_id": model_id, "start": start, "end": end},
        _HOURLY_COLUMNS,
        ("hour",),
    )
    return HourlyAggregates(**columns)


# Per model, a range scan of the (model_id, timestamp_utc) index; no scan of other models' rows.
_COMPARISON = sql.SQL("""
    WITH models AS ({models})
    SELECT m.model_id,
           v.model_version,
           v.predictions,
           v.wins,
           v.realized,
           v.rewarded,
           v.avg_reward,
           v.std_reward,
           v.total_reward,
           v.avg_latency_ms,
           v.max_abs_reward
    FROM models m
    CROSS JOIN LATERAL (
        SELECT coalesce(f.model_version, '') AS model_version,
               count(*)::int4 AS predictions,
               {wins_and_realized},
               count(f.reward)::int4 AS rewarded,
               coalesce(avg(f.reward), 0)::float8 AS avg_reward,
               coalesce(stddev_samp(f.reward), 0)::float8 AS std_reward,
               coalesce(sum(f.reward), 0)::float8 AS total_reward,
               avg(f.latency_ms)::float8 AS avg_latency_ms,
               coalesce(max(abs(f.reward)), 0)::float8 AS max_abs_reward
        FROM dw.fact_rl_inference f
        WHERE f.model_id = m.model_id
          AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
        GROUP BY 1
    ) v
""").format(models=ALL_MODELS, wins_and_realized=WINS_AND_REALIZED)


def by_version(conn: Connection, start: datetime, end: datetime) -> list[VersionAggregates]:
    """Every (model_id, model_version) with predictions in (start, end]."""
    with conn.cursor(row_factory=class_row(VersionAggregates)) as cur:
        return cur.execute(_COMPARISON, {"start": start, "end": end}).fetchall()
