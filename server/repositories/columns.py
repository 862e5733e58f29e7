"""Fetch query results as numpy columns in one row, without a Python object per value.

The query's rows are aggregated server-side into one binary array per column
(``array_send(array_agg(col))``): one result row of a few ``bytea`` values, whose fixed-width
big-endian elements numpy decodes in place. All aggregates of one query see the rows in the same
order, so the arrays stay aligned; the caller's ``order_by`` is then applied in numpy.

Queries map NULLs to NaN with ``coalesce(x, 'NaN')`` (floats) so that every element has the same
width; a NULL that slips through raises instead of being misread.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import sql

PgType = Literal["bool", "int2", "int4", "int8", "float8", "timestamptz"]

_WIRE: dict[PgType, str] = {
    "bool": "?",
    "int2": ">i2",
    "int4": ">i4",
    "int8": ">i8",
    "float8": ">f8",
    "timestamptz": ">i8",  # microseconds since 2000-01-01 UTC
}
_NATIVE: dict[PgType, str] = {
    "bool": "bool",
    "int2": "int16",
    "int4": "int32",
    "int8": "int64",
    "float8": "float64",
    "timestamptz": "int64",
}
_PG_EPOCH_US = np.int64(946_684_800_000_000)  # 2000-01-01 in Unix microseconds
_ONE_DIMENSION_HEADER = 20  # ndim, has-nulls flag, element type, length, lower bound
_NO_EXTRA = sql.SQL("NULL")


def fetch_columns(
    conn: psycopg.Connection[Any],
    query: sql.Composable,
    params: dict[str, Any],
    columns: dict[str, PgType],
    order_by: tuple[str, ...] = (),
) -> dict[str, NDArray[Any]]:
    """Run ``query`` and return its columns, named and typed by ``columns``, sorted by ``order_by``.

    ``query`` must select (at least) the columns named in ``columns``; its own ORDER BY would not
    survive aggregation, hence ``order_by`` (column names, most significant first).
    ``timestamptz`` columns come back as ``datetime64[us]`` (UTC).
    """
    return fetch_columns_and(conn, query, params, columns, order_by)[0]


def fetch_columns_and(
    conn: psycopg.Connection[Any],
    query: sql.Composable,
    params: dict[str, Any],
    columns: dict[str, PgType],
    order_by: tuple[str, ...] = (),
    *,
    also: sql.Composable = _NO_EXTRA,
) -> tuple[dict[str, NDArray[Any]], Any]:
    """As `fetch_columns`, plus the value of one more aggregate ``also`` over the same rows
    (e.g. ``array_agg(DISTINCT fetched.symbol)``), from the same scan."""
    statement = sql.SQL("SELECT {}, {} FROM ({}) AS fetched").format(
        sql.SQL(", ").join(
            sql.SQL("array_send(array_agg(fetched.{}))").format(sql.Identifier(name))
            for name in columns
        ),
        also,
        query,
    )
    with conn.cursor(binary=True) as cur:
        row = cur.execute(statement, params).fetchone()
    assert row is not None  # an aggregate always returns one row
    *blobs, extra = row
    result = {
        name: decode_array(blob, pg_type)
        for (name, pg_type), blob in zip(columns.items(), blobs, strict=True)
    }
    if order_by and len(next(iter(result.values()))) > 1:
        order = np.lexsort([result[key] for key in reversed(order_by)])
        result = {name: values[order] for name, values in result.items()}
    return result, extra


def decode_array(blob: bytes | None, pg_type: PgType) -> NDArray[Any]:
    """Decode ``array_send`` output of a one-dimensional array of fixed-width, non-NULL values."""
    native = np.dtype(_NATIVE[pg_type])
    if blob is None or int.from_bytes(blob[:4], "big") == 0:  # no rows, or an empty array
        values: NDArray[Any] = np.empty(0, dtype=native)
    else:
        if int.from_bytes(blob[:4], "big") != 1:
            raise ValueError("expected a one-dimensional array")
        if int.from_bytes(blob[4:8], "big"):
            raise ValueError(f"a {pg_type} column has NULLs: the query must coalesce them")
        wire = np.dtype(_WIRE[pg_type])
        elements = np.frombuffer(
            blob, dtype=np.dtype([("length", ">i4"), ("value", wire)]), offset=_ONE_DIMENSION_HEADER
        )
        if (elements["length"] != wire.itemsize).any():
            raise ValueError(f"NULL or unexpected element width in a {pg_type} array")
        values = elements["value"].astype(native)
    if pg_type == "timestamptz":
        return (values + _PG_EPOCH_US).view("datetime64[us]")
    return values
