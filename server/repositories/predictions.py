"""Inference rows and the bars that resolve them, as numpy columns.

Prediction windows are range scans of the (model_id, timestamp_utc, inference_id) index. Symbols
travel as ``hashtext(symbol)`` integers, so that rows and bars can be matched in numpy without
moving strings (a hash collision between two symbols of one window is a 1 in 4 billion event).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import numpy as np
from psycopg import sql
from psycopg.rows import class_row

from server.db import Connection
from server.domain import Bars, PredictionRow, Predictions, PredictionWindow, TimeRange
from server.repositories.columns import PgType, fetch_columns, fetch_columns_and
from server.repositories.fragments import ACTION_CODE, IS_PREDICTION

_PREDICTION_COLUMNS: dict[str, PgType] = {
    "model": "int4",
    "time": "timestamptz",
    "inference_id": "int8",
    "symbol": "int4",
    "action": "int2",
    "action_raw": "float8",
    "confidence": "float8",
    "reward": "float8",
    "latency_ms": "float8",
}

_WINDOW = sql.SQL("""
    SELECT {features}
           array_position(%(models)s::varchar[], f.model_id)::int4 - 1 AS model,
           f.timestamp_utc AS time,
           f.inference_id,
           hashtext(f.symbol) AS symbol,
           f.symbol AS symbol_name,
           {action_code} AS action,
           coalesce(f.action_raw, 'NaN') AS action_raw,
           coalesce(f.confidence, 'NaN') AS confidence,
           coalesce(f.reward, 'NaN') AS reward,
           coalesce(f.latency_ms::float8, 'NaN') AS latency_ms
    FROM dw.fact_rl_inference f
    WHERE f.model_id = ANY(%(models)s)
      AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
      AND {predictions}
""")

_GIVEN_SYMBOLS = sql.SQL("SELECT unnest(%(symbols)s::text[]) AS symbol")

# For predictions made in (lo, hi]: the last bar at or before lo, every bar in (lo, hi], and the
# first bar after hi (up to end): exactly the bars that can be a p0 or a p1.
_BARS = sql.SQL("""
    WITH symbols AS ({symbols})
    SELECT hashtext(s.symbol) AS symbol, b.time, b.close
    FROM symbols s
    CROSS JOIN LATERAL (
        (SELECT o.time, o.close::float8 AS close FROM usdcop_m5_ohlcv o
         WHERE o.symbol = s.symbol AND o.time <= %(lo)s ORDER BY o.time DESC LIMIT 1)
        UNION ALL
        (SELECT o.time, o.close::float8 FROM usdcop_m5_ohlcv o
         WHERE o.symbol = s.symbol AND o.time > %(lo)s AND o.time <= %(hi)s)
        UNION ALL
        (SELECT o.time, o.close::float8 FROM usdcop_m5_ohlcv o
         WHERE o.symbol = s.symbol AND o.time > %(hi)s AND o.time <= %(end)s
         ORDER BY o.time LIMIT 1)
    ) b
""")

_BAR_COLUMNS: dict[str, PgType] = {"symbol": "int4", "time": "timestamptz", "close": "float8"}


_VERSIONS = sql.SQL("""
    SELECT (SELECT coalesce(f.model_version, '') FROM dw.fact_rl_inference f
            WHERE f.model_id = m.model_id
              AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
            ORDER BY f.timestamp_utc DESC, f.inference_id DESC LIMIT 1)
    FROM unnest(%(models)s::varchar[]) WITH ORDINALITY AS m(model_id, position)
    ORDER BY m.position
""")


def fetch_window(
    conn: Connection, model_ids: list[str], span: TimeRange, features: tuple[str, ...] = ()
) -> PredictionWindow:
    """The models' predictions in ``span``, their latest versions there, and the bars.

    ``features`` names feature columns to fetch too (NULL as NaN), e.g. for drift.
    """
    start, end = span.start, span.end
    params = {"models": model_ids, "start": start, "end": end}
    query = _WINDOW.format(
        predictions=IS_PREDICTION,
        action_code=ACTION_CODE,
        features=sql.SQL("").join(
            sql.SQL("coalesce(f.{0}, 'NaN') AS {0},").format(sql.Identifier(name))
            for name in features
        ),
    )
    spec: dict[str, PgType] = {**_PREDICTION_COLUMNS, **dict.fromkeys(features, "float8")}
    columns, symbols = fetch_columns_and(
        conn,
        query,
        params,
        spec,
        ("model", "time", "inference_id"),
        also=sql.SQL("array_agg(DISTINCT fetched.symbol_name)"),
    )
    feature_columns = {name: columns.pop(name) for name in features}
    bars = bars_for(conn, symbols or [], start, end, end)
    versions = [row[0] or "" for row in conn.execute(_VERSIONS, params).fetchall()]
    columns["action"] = columns["action"].astype(np.int8)
    return PredictionWindow(Predictions(**columns, features=feature_columns), bars, versions)


def bars_for(
    conn: Connection, symbols: list[str], lo: datetime, hi: datetime, end: datetime
) -> Bars:
    """Bars resolving predictions of ``symbols`` made in (lo, hi], known by ``end``."""
    params = {"symbols": symbols, "lo": lo, "hi": hi, "end": end}
    bars = fetch_columns(
        conn, _BARS.format(symbols=_GIVEN_SYMBOLS), params, _BAR_COLUMNS, ("symbol", "time")
    )
    return Bars(**bars)


# --- single rows: history and comparison --------------------------------------------------------


_ROWS = sql.SQL("""
    SELECT f.inference_id, f.timestamp_utc, coalesce(f.model_version, '') AS model_version,
           f.fold_id, f.symbol, hashtext(f.symbol) AS symbol_hash,
           f.action_discretized AS action, f.action_raw, f.confidence,
           f.close_price::float8 AS close_price, f.position_before, f.position_after,
           f.reward, f.latency_ms
    FROM dw.fact_rl_inference f
    WHERE f.model_id = %(model_id)s
      AND (%(start)s::timestamptz IS NULL OR f.timestamp_utc > %(start)s)
      AND f.timestamp_utc <= %(end)s
      AND {predictions}
    ORDER BY f.timestamp_utc DESC, f.inference_id DESC
    LIMIT %(limit)s OFFSET %(offset)s
""").format(predictions=IS_PREDICTION)

_COUNT = sql.SQL("""
    SELECT count(*)::int4 FROM dw.fact_rl_inference f
    WHERE f.model_id = %(model_id)s AND f.timestamp_utc > %(start)s AND f.timestamp_utc <= %(end)s
      AND {predictions}
""").format(predictions=IS_PREDICTION)


def newest_first(
    conn: Connection,
    model_id: str,
    start: datetime | None,
    end: datetime,
    *,
    limit: int,
    offset: int = 0,
) -> list[PredictionRow]:
    """Up to ``limit`` rows in (start, end] (start None: no lower bound), newest first.

    Ties on the timestamp are broken by inference_id, so pages never overlap or skip.
    """
    params = {"model_id": model_id, "start": start, "end": end, "limit": limit, "offset": offset}
    with conn.cursor(row_factory=class_row(PredictionRow)) as cur:
        return cur.execute(_ROWS, params).fetchall()


def count(conn: Connection, model_id: str, start: datetime, end: datetime) -> int:
    """Rows of the model in (start, end]."""
    row = conn.execute(_COUNT, {"model_id": model_id, "start": start, "end": end}).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def snapshot(conn: Connection) -> Iterator[None]:
    """One read-only transaction whose statements all see the same data (a count and its page)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
