"""Write the tests' own rows into the inference log and the bar table."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg

from devstack.seed import copy_columns

IDEAL = {"LONG": 1.0, "SHORT": -1.0, "HOLD": 0.0}


class Rows:
    """Inserts rows the test describes; every column not given has a plain default."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def inference(
        self,
        model_id: str,
        at: datetime,
        action: str = "HOLD",
        *,
        action_raw: float | None = None,
        confidence: float = 0.5,
        reward: float | None = None,
        latency_ms: int | None = 20,
        model_version: str = "1.0",
        symbol: str = "USD/COP",
        features: dict[str, float | None] | None = None,
    ) -> int:
        """One inference row; returns its inference_id."""
        values: dict[str, Any] = {
            "timestamp_utc": at,
            "timestamp_cot": at,
            "model_id": model_id,
            "model_version": model_version,
            "symbol": symbol,
            "action_raw": IDEAL[action] * 0.8 if action_raw is None else action_raw,
            "action_discretized": action,
            "confidence": confidence,
            "reward": reward,
            "latency_ms": latency_ms,
            **(features or {}),
        }
        sql_columns = ", ".join(values)
        placeholders = ", ".join(["%s"] * len(values))
        row = self.conn.execute(
            f"INSERT INTO dw.fact_rl_inference ({sql_columns}) VALUES ({placeholders})"
            " RETURNING inference_id",
            list(values.values()),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def inferences(self, columns: dict[str, Any]) -> int:
        """Many rows at once, given as equal-length columns (numpy arrays or lists)."""
        arrays = {name: np.asarray(values) for name, values in columns.items()}
        return copy_columns(self.conn, "dw.fact_rl_inference", arrays)

    def bars(self, start: datetime, closes: list[float], symbol: str = "USD/COP") -> None:
        """5-minute bars from ``start``, one per close."""
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO usdcop_m5_ohlcv (time, symbol, open, high, low, close, volume, source)"
                " VALUES (%s, %s, %s, %s, %s, %s, 0, 'test')",
                [
                    (start + timedelta(minutes=5 * i), symbol, c, c, c, c)
                    for i, c in enumerate(closes)
                ],
            )
