"""Which models exist, and which were seen recently."""

from __future__ import annotations

from datetime import datetime, timedelta

from psycopg import sql

from analytics import MarketCalendar
from server.db import Connection
from server.errors import ModelNotFound
from server.repositories.fragments import ALL_MODELS

SEEN_WINDOW = timedelta(days=7)  # on the trading-day clock

_SEEN = sql.SQL("""
    WITH candidates AS ({models})
    SELECT c.model_id FROM candidates c
    WHERE EXISTS (
        SELECT 1 FROM dw.fact_rl_inference f
        WHERE f.model_id = c.model_id
          AND f.timestamp_utc > %(since)s AND f.timestamp_utc <= %(end)s
    )
    ORDER BY c.model_id
""").format(models=ALL_MODELS)


def seen_since(end: datetime, calendar: MarketCalendar) -> datetime:
    """The start of the 7 trading days before ``end``: a model seen since is listed."""
    return calendar.trading_window_start(end, SEEN_WINDOW)


def seen_models(conn: Connection, end: datetime, calendar: MarketCalendar) -> list[str]:
    """Every model with a prediction in the 7 trading days before ``end``, by model_id."""
    rows = conn.execute(_SEEN, {"since": seen_since(end, calendar), "end": end}).fetchall()
    return [str(row[0]) for row in rows]


def require_model(conn: Connection, model_id: str) -> None:
    """Raise ModelNotFound unless the model has at least one row in the inference log."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM dw.fact_rl_inference WHERE model_id = %s)", (model_id,)
    ).fetchone()
    if not (row and row[0]):
        raise ModelNotFound(model_id)
