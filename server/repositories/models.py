"""Which models exist."""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from server.db import connection
from server.errors import ModelNotFound


def require_model(pool: ConnectionPool, model_id: str) -> None:
    """Raise ModelNotFound unless the model has at least one row in the inference log."""
    with connection(pool) as conn:
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM dw.fact_rl_inference WHERE model_id = %s)", (model_id,)
        ).fetchone()
    if not (row and row[0]):
        raise ModelNotFound(model_id)
