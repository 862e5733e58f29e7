"""Model health: the latest row and the 24 h aggregates of every recently seen model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from psycopg import sql
from psycopg.rows import class_row

from analytics import safe_ratio
from server.db import Connection
from server.repositories.models import ALL_MODELS, SEEN_WINDOW

HEALTH_WINDOW = timedelta(hours=24)

_ONE_MODEL = sql.SQL("SELECT %(model_id)s::varchar AS model_id")

_HEALTH = sql.SQL("""
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
    CROSS JOIN LATERAL (
        SELECT count(*)::int4 AS predictions,
               count(*) FILTER (WHERE f.reward > 0)::int4 AS wins,
               count(*) FILTER (WHERE f.reward <> 0)::int4 AS realized,
               avg(f.latency_ms)::float8 AS avg_latency
        FROM dw.fact_rl_inference f
        WHERE f.model_id = c.model_id
          AND f.timestamp_utc > %(day_start)s AND f.timestamp_utc <= %(end)s
    ) day
    WHERE %(seen_since)s::timestamptz IS NULL OR last.timestamp_utc > %(seen_since)s
    ORDER BY c.model_id
""")


@dataclass(frozen=True, slots=True)
class ModelActivity:
    """What the health rules need to know about one model."""

    model_id: str
    model_version: str
    last_prediction: datetime
    predictions: int  # in the 24 h before end
    wins: int  # rewards > 0 in the 24 h
    realized: int  # rewards != 0 in the 24 h
    avg_latency_ms: float | None

    @property
    def win_rate(self) -> float:
        return float(safe_ratio(self.wins, self.realized))


def recent_models(conn: Connection, end: datetime) -> list[ModelActivity]:
    """Every model with a prediction in the 7 days before ``end``, by model_id."""
    return _query(conn, ALL_MODELS, {"end": end, "seen_since": end - SEEN_WINDOW})


def model_activity(conn: Connection, model_id: str, end: datetime) -> ModelActivity | None:
    """One model's activity; None if it has no prediction at or before ``end``."""
    rows = _query(conn, _ONE_MODEL, {"model_id": model_id, "end": end, "seen_since": None})
    return rows[0] if rows else None


def _query(
    conn: Connection, models: sql.Composable, params: dict[str, object]
) -> list[ModelActivity]:
    end = params["end"]
    assert isinstance(end, datetime)
    query = _HEALTH.format(models=models)
    with conn.cursor(row_factory=class_row(ModelActivity)) as cur:
        return cur.execute(query, {**params, "day_start": end - HEALTH_WINDOW}).fetchall()
