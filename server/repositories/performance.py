"""Aggregates computed in SQL: hourly buckets of one model, per-version comparison of all models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from psycopg import sql
from psycopg.rows import class_row

from server.db import Connection
from server.repositories.columns import PgType, fetch_columns
from server.repositories.models import ALL_MODELS

# Clock hours (date_trunc in the session's UTC), as analytics.hourly_buckets with the window's
# hour as origin.
_HOURLY = sql.SQL("""
    SELECT date_trunc('hour', f.timestamp_utc) AS hour,
           count(*)::int4 AS predictions,
           (count(*) FILTER (WHERE f.reward > 0))::int4 AS wins,
           (count(*) FILTER (WHERE f.reward <> 0))::int4 AS realized,
           count(f.reward)::int4 AS rewarded,
           coalesce(sum(f.reward), 0)::float8 AS total_reward,
           coalesce(avg(f.latency_ms), 'NaN')::float8 AS avg_latency_ms
    FROM dw.fact_rl_inference f
    WHERE f.model_id = %(model_id)s
      AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
    GROUP BY 1
""")

_HOURLY_COLUMNS: dict[str, PgType] = {
    "hour": "timestamptz",
    "predictions": "int4",
    "wins": "int4",
    "realized": "int4",
    "rewarded": "int4",
    "total_reward": "float8",
    "avg_latency_ms": "float8",
}


@dataclass(frozen=True, slots=True)
class HourlyAggregates:
    """One row per clock hour with predictions, in hour order. NaN latency: none in the hour."""

    hour: NDArray[np.datetime64]
    predictions: NDArray[np.int32]
    wins: NDArray[np.int32]
    realized: NDArray[np.int32]
    rewarded: NDArray[np.int32]
    total_reward: NDArray[np.float64]
    avg_latency_ms: NDArray[np.float64]


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
               (count(*) FILTER (WHERE f.reward > 0))::int4 AS wins,
               (count(*) FILTER (WHERE f.reward <> 0))::int4 AS realized,
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
""").format(models=ALL_MODELS)


@dataclass(frozen=True, slots=True)
class VersionAggregates:
    """Reward and latency aggregates of one (model_id, model_version) over a window."""

    model_id: str
    model_version: str
    predictions: int
    wins: int  # rewards > 0
    realized: int  # rewards != 0
    rewarded: int  # non-NULL rewards
    avg_reward: float
    std_reward: float  # ddof 1; 0 with fewer than 2 rewards
    total_reward: float
    avg_latency_ms: float | None
    max_abs_reward: float


def by_version(conn: Connection, start: datetime, end: datetime) -> list[VersionAggregates]:
    """Every (model_id, model_version) with predictions in (start, end]."""
    with conn.cursor(row_factory=class_row(VersionAggregates)) as cur:
        return cur.execute(_COMPARISON, {"start": start, "end": end}).fetchall()
