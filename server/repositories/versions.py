"""Model versions: each version's aggregates, and the rewards of versions over spans."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any

from psycopg import sql

from server.db import Connection
from server.domain import VersionRewards, VersionSummary
from server.repositories.columns import PgType, fetch_columns

# Per model: one range scan of the (model_id, timestamp_utc) index (its INCLUDE columns hold
# model_version, reward and latency_ms: an index-only scan) and one backward probe for the
# latest row.
_TIMELINE = sql.SQL("""
    WITH models AS (SELECT unnest(%(models)s::varchar[]) AS model_id)
    SELECT m.model_id,
           (SELECT coalesce(l.model_version, '') FROM dw.fact_rl_inference l
            WHERE l.model_id = m.model_id AND l.timestamp_utc <= %(end)s
            ORDER BY l.timestamp_utc DESC, l.inference_id DESC LIMIT 1) AS current_version,
           v.version, v.first_seen, v.last_seen, v.predictions, v.trades, v.wins, v.rewarded,
           v.total_reward, v.avg_reward, v.std_reward, v.avg_latency_ms
    FROM models m
    CROSS JOIN LATERAL (
        SELECT coalesce(f.model_version, '') AS version,
               min(f.timestamp_utc) AS first_seen,
               max(f.timestamp_utc) AS last_seen,
               count(*)::int4 AS predictions,
               (count(*) FILTER (WHERE f.reward <> 0))::int4 AS trades,
               (count(*) FILTER (WHERE f.reward > 0))::int4 AS wins,
               count(f.reward)::int4 AS rewarded,
               coalesce(sum(f.reward), 0)::float8 AS total_reward,
               coalesce(avg(f.reward), 0)::float8 AS avg_reward,
               coalesce(stddev_samp(f.reward), 0)::float8 AS std_reward,
               avg(f.latency_ms)::float8 AS avg_latency_ms
        FROM dw.fact_rl_inference f
        WHERE f.model_id = m.model_id AND f.timestamp_utc <= %(end)s
          AND (%(since)s::timestamptz IS NULL OR f.timestamp_utc > %(since)s)
        GROUP BY 1
    ) v
    ORDER BY m.model_id, v.first_seen, v.version
""")


def version_summaries(
    conn: Connection, model_ids: Sequence[str], end: datetime, since: datetime | None = None
) -> list[VersionSummary]:
    """Every (model, version) with a row in (since, end] (since None: at or before end), by
    model_id, first seen first."""
    rows = conn.execute(
        _TIMELINE, {"models": list(model_ids), "end": end, "since": since}
    ).fetchall()
    return [VersionSummary(*row) for row in rows]


# One lateral range scan per requested span, index-only; the rows come back as columns.
_REWARDS = sql.SQL("""
    SELECT s.span, r.timestamp_utc AS time, r.reward
    FROM unnest(%(models)s::varchar[], %(versions)s::varchar[],
                %(lows)s::timestamptz[], %(highs)s::timestamptz[])
         WITH ORDINALITY AS s(model_id, version, low, high, span)
    CROSS JOIN LATERAL (
        SELECT f.timestamp_utc, f.reward::float8 AS reward
        FROM dw.fact_rl_inference f
        WHERE f.model_id = s.model_id
          AND f.timestamp_utc > s.low AND f.timestamp_utc <= s.high
          AND coalesce(f.model_version, '') = s.version
          AND f.reward IS NOT NULL
    ) r
""")

_REWARD_COLUMNS: dict[str, PgType] = {"span": "int8", "time": "timestamptz", "reward": "float8"}


def version_rewards(
    conn: Connection, spans: Sequence[tuple[str, str, datetime, datetime]]
) -> list[VersionRewards]:
    """The non-NULL rewards of each (model_id, version, low, high) in (low, high], one query."""
    if not spans:
        return []
    models, versions, lows, highs = (list(column) for column in zip(*spans, strict=True))
    columns: dict[str, Any] = fetch_columns(
        conn,
        _REWARDS,
        {"models": models, "versions": versions, "lows": lows, "highs": highs},
        _REWARD_COLUMNS,
        ("span", "time"),
    )
    span, time, reward = columns["span"], columns["time"], columns["reward"]
    bounds = span.searchsorted(range(1, len(spans) + 2))
    return [VersionRewards(time[a:b], reward[a:b]) for a, b in pairwise(bounds)]
