"""Write the tests' own rows into the inference log and the bar table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import sql

from analytics import FEATURES
from devstack.seed import copy_columns

IDEAL = {"LONG": 1.0, "SHORT": -1.0, "HOLD": 0.0}


def as_datetime64(moments: Iterable[datetime]) -> NDArray[np.datetime64]:
    """Aware UTC datetimes as the naive ``datetime64[us]`` the analytics core takes."""
    return np.array([moment.replace(tzinfo=None) for moment in moments], "datetime64[us]")


def every_five_minutes(end: datetime, days: int) -> NDArray[np.datetime64]:
    """The ``days * 288`` moments five minutes apart whose last is ``end``."""
    last = np.datetime64(end.replace(tzinfo=None), "us")
    return last - np.arange(days * 288 - 1, -1, -1) * np.timedelta64(5, "m")


def normal_features(rng: np.random.Generator, n: int) -> dict[str, NDArray[np.float64]]:
    """``n`` standard normal values of every model feature (nothing drifts)."""
    return {name: rng.normal(0, 1, n) for name in FEATURES}


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

    def series(
        self,
        model_id: str,
        times: NDArray[np.datetime64],
        action: str,
        columns: dict[str, Any] | None = None,
        *,
        action_raw: float | None = None,
        confidence: float = 0.5,
    ) -> int:
        """One row per time, every one with ``action``, plus ``columns`` (a column given as one
        value is repeated)."""
        n = times.size
        constant = {
            "model_id": model_id,
            "action_raw": IDEAL[action] * 0.8 if action_raw is None else action_raw,
            "action_discretized": action,
            "confidence": confidence,
        }
        values = {name: np.full(n, v) for name, v in constant.items()}
        values |= {
            name: np.full(n, v) if np.ndim(v) == 0 else v for name, v in (columns or {}).items()
        }
        return self.inferences({"timestamp_utc": times, **values})

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

    @contextmanager
    def loosened(self, *columns: str) -> Iterator[Rows]:
        """The inference log with ``columns`` free of their NOT NULL and CHECK constraints, as a
        feed may write them; emptied and restored afterwards."""
        checks = self.conn.execute(
            "SELECT DISTINCT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)"
            " WHERE c.conrelid = 'dw.fact_rl_inference'::regclass AND c.contype = 'c'"
            " AND a.attname = ANY (%s)",
            (list(columns),),
        ).fetchall()
        self._alter(
            [sql.SQL("ALTER COLUMN {} DROP NOT NULL").format(sql.Identifier(c)) for c in columns]
            + [sql.SQL("DROP CONSTRAINT {}").format(sql.Identifier(name)) for name, _ in checks]
        )
        try:
            yield self
        finally:
            self.conn.execute("TRUNCATE dw.fact_rl_inference")
            self._alter(
                [sql.SQL("ALTER COLUMN {} SET NOT NULL").format(sql.Identifier(c)) for c in columns]
                + [
                    sql.SQL("ADD CONSTRAINT {} {}").format(sql.Identifier(name), sql.SQL(check))
                    for name, check in checks
                ]
            )

    def _alter(self, actions: list[sql.Composed]) -> None:
        self.conn.execute(
            sql.SQL("ALTER TABLE dw.fact_rl_inference {}").format(sql.SQL(", ").join(actions))
        )
