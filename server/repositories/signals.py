"""The signals of the change-point and anomaly detectors: a few columns of the models' rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from psycopg import sql

from server.db import Connection
from server.repositories.columns import PgType, fetch_columns
from server.repositories.fragments import ACTION_CODE, IS_PREDICTION

_COLUMNS: dict[str, PgType] = {
    "model": "int4",
    "time": "timestamptz",
    "inference_id": "int8",
    "action": "int2",
    "confidence": "float8",
    "latency_ms": "float8",
    "reward": "float8",
    "action_raw": "float8",
}

_SIGNALS = sql.SQL("""
    SELECT array_position(%(models)s::varchar[], f.model_id)::int4 - 1 AS model,
           f.timestamp_utc AS time,
           f.inference_id,
           {action_code} AS action,
           coalesce(f.confidence, 'NaN') AS confidence,
           coalesce(f.latency_ms::float8, 'NaN') AS latency_ms,
           coalesce(f.reward, 'NaN') AS reward,
           coalesce(f.action_raw, 'NaN') AS action_raw
    FROM dw.fact_rl_inference f
    WHERE f.model_id = ANY(%(models)s)
      AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
      AND {predictions}
""").format(action_code=ACTION_CODE, predictions=IS_PREDICTION)


def fetch_signals(
    conn: Connection, model_ids: list[str], start: Any, end: Any
) -> dict[str, NDArray[Any]]:
    """The models' rows in (start, end] (one query), ordered by (model, time, inference_id):
    model (index into ``model_ids``), time, action code and the signal columns (NULL as NaN)."""
    params = {"models": model_ids, "start": start, "end": end}
    columns = fetch_columns(conn, _SIGNALS, params, _COLUMNS, ("model", "time", "inference_id"))
    columns["action"] = columns["action"].astype(np.int8)
    return columns
