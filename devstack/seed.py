"""Create the schema and load (or top up) the demo data in a writable PostgreSQL.

Used by `make run` on its embedded database at every start (and every minute while it runs), and by
``python -m devstack seed --dsn ...`` for any other database. Only demo rows are ever touched:
inference rows of the demo models and bars whose ``source`` is ``demo``. The data follows a market
calendar (the USD/COP session unless told otherwise): rows only inside sessions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import psycopg
from numpy.typing import NDArray
from psycopg import sql

from analytics import MarketCalendar
from devstack import demo

log = logging.getLogger(__name__)

DEMO_DAYS = 35
#: Older demo data (by the trading-day clock: a weekend or a holiday is no gap) is replaced rather
#: than topped up, so the stories stay as documented.
MAX_GAP = timedelta(days=2)

INFERENCE_TABLE = "dw.fact_rl_inference"
BARS_TABLE = "usdcop_m5_ohlcv"


def schema_sql() -> str:
    """The DDL of the tables the service reads and of the index its queries need."""
    return resources.files("devstack").joinpath("schema.sql").read_text()


def create_schema(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(schema_sql())


def copy_columns(
    conn: psycopg.Connection[tuple[object, ...]],
    table: str,
    columns: dict[str, NDArray[np.generic]],
) -> int:
    """COPY rows given as equal-length columns into ``table``; NaN and None become NULL."""
    names = list(columns)
    texts = [_as_text(values) for values in columns.values()]
    rows = len(texts[0]) if texts else 0
    if not rows:
        return 0
    payload = "".join("\t".join(fields) + "\n" for fields in zip(*texts, strict=True))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(*table.split(".")), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(payload)
    return rows


def _as_text(values: NDArray[np.generic]) -> list[str]:
    """COPY text format of one column."""
    if values.dtype.kind == "M":
        return list(
            np.datetime_as_string(values.astype("datetime64[us]"), unit="us", timezone="UTC")
        )
    if values.dtype.kind == "f":
        text = values.astype(str)
        text[np.isnan(values)] = r"\N"
        return list(text)
    if values.dtype.kind in "iub":
        return list(values.astype(str))
    return [
        r"\N"
        if v is None
        else str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        for v in values
    ]


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What one seeding run did."""

    fresh: bool  # all demo data (re)written, rather than topped up
    bars: int
    inferences: int


def seed_demo(
    conn: psycopg.Connection[tuple[object, ...]],
    now: datetime | None = None,
    calendar: MarketCalendar = demo.DEFAULT_CALENDAR,
) -> SeedReport:
    """Bring the demo data up to ``now`` (default: the current time) in one transaction.

    Rows exist only inside the sessions of ``calendar`` (`MarketCalendar.always()`: around the
    clock); when the market is closed at ``now``, the data ends at the last close. Each model
    continues after its last resolved row: its pending rows are generated again and updated in
    place where they changed (a reward now known), new rows are inserted, and a row that did not
    change is never written, so its ``inference_id`` stays. Data that is missing, incomplete, older
    than MAX_GAP (on the trading-day clock: a weekend is no gap), or written by another version of
    the generator or for another calendar is replaced (merged the same way: rows outside the new
    35 days are deleted, the others updated where they differ).
    """
    demo.check_calendar(calendar)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now_slot = demo.slot_of(now)
    with conn.transaction():
        conn.execute("SET LOCAL TIME ZONE 'UTC'")
        create_schema(conn)
        row = conn.execute(f"SELECT max(time) FROM {BARS_TABLE} WHERE source = 'demo'").fetchone()
        last_bar = row[0] if row is not None and isinstance(row[0], datetime) else None
        resume = {m.model_id: _last_resolved(conn, m.model_id) for m in demo.DEMO_MODELS}
        fresh = (
            last_bar is None
            or calendar.trading_minutes(last_bar, now) > MAX_GAP / timedelta(minutes=1)
            or any(r is None for r in resume.values())
            or _metadata(conn) != demo.demo_metadata(calendar)
        )
        # model_id -> (first slot to generate, cumulative reward before it, rows kept up to)
        starts: dict[str, tuple[int, float, datetime | None]] = {}
        if fresh:
            first_slot = demo.slot_of(now - timedelta(days=DEMO_DAYS))
            new_bars = demo.bars(first_slot, now_slot, calendar)
            starts = {m.model_id: (first_slot, 0.0, None) for m in demo.DEMO_MODELS}
        else:
            assert last_bar is not None
            new_bars = demo.bars(demo.slot_of(last_bar) + 1, now_slot, calendar)
            for model_id, resolved in resume.items():
                assert resolved is not None
                moment, cumulative = resolved
                starts[model_id] = (demo.slot_of(moment) + 1, cumulative, moment)
        bars_written = _write_bars(conn, new_bars, replace=fresh)

        rows = 0
        _create_staging(conn)
        for model in demo.DEMO_MODELS:
            first, cumulative, kept = starts[model.model_id]
            last = demo.slot_of(demo.active_until(model, now, calendar) - timedelta(seconds=2))
            if last < first:
                rows += _merge_inferences(conn, model.model_id, kept, demo.InferenceBatch())
                continue
            batch = demo.inferences(
                model,
                first,
                last,
                now_slot,
                now,
                previous_cumulative=cumulative,
                topping_up=not fresh,
                calendar=calendar,
            )
            rows += _merge_inferences(conn, model.model_id, kept, batch)
    log.info(
        "demo data %s: %d bars, %d inference rows",
        "written" if fresh else "topped up",
        bars_written,
        rows,
    )
    return SeedReport(fresh=fresh, bars=bars_written, inferences=rows)


def _metadata(conn: psycopg.Connection[tuple[object, ...]]) -> object:
    """The metadata of the latest demo row: the generator version and calendar that wrote it."""
    row = conn.execute(
        f"SELECT metadata FROM {INFERENCE_TABLE}"
        " WHERE model_id = %s ORDER BY timestamp_utc DESC LIMIT 1",
        (demo.DEMO_MODELS[0].model_id,),
    ).fetchone()
    return None if row is None else row[0]


def _last_resolved(
    conn: psycopg.Connection[tuple[object, ...]], model_id: str
) -> tuple[datetime, float] | None:
    """The time and cumulative reward of the model's last row with a reward."""
    row = conn.execute(
        f"SELECT timestamp_utc, coalesce(cumulative_reward, 0) FROM {INFERENCE_TABLE}"
        " WHERE model_id = %s AND reward IS NOT NULL ORDER BY timestamp_utc DESC LIMIT 1",
        (model_id,),
    ).fetchone()
    if row is None:
        return None
    moment, cumulative = row
    assert isinstance(moment, datetime)
    return moment, float(cumulative)  # type: ignore[arg-type]


def _write_bars(
    conn: psycopg.Connection[tuple[object, ...]], bars: demo.Bars, *, replace: bool
) -> int:
    """Insert the bars that are missing, leaving any existing bar of the same time and symbol
    alone (a demo one is the same bar). ``replace``: ``bars`` are all the demo bars there should
    be; other demo bars are deleted and demo bars that differ are updated."""
    conn.execute(
        f"CREATE TEMP TABLE demo_bars (LIKE {BARS_TABLE} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    if bars.slots.size:
        copy_columns(conn, "demo_bars", bars.columns())
    if replace:
        conn.execute(
            f"DELETE FROM {BARS_TABLE} b WHERE b.source = 'demo' AND NOT EXISTS"
            " (SELECT 1 FROM demo_bars d WHERE (d.time, d.symbol) = (b.time, b.symbol))"
        )
        conn.execute(
            f"UPDATE {BARS_TABLE} b SET {_BAR_SET}, updated_at = now() FROM demo_bars d"
            " WHERE b.source = 'demo' AND (d.time, d.symbol) = (b.time, b.symbol)"
            f" AND ({_BAR_VALUES.format('b')}) IS DISTINCT FROM ({_BAR_VALUES.format('d')})"
        )
    cur = conn.execute(
        f"INSERT INTO {BARS_TABLE} SELECT * FROM demo_bars ORDER BY time"
        " ON CONFLICT (time, symbol) DO NOTHING"
    )
    return cur.rowcount


_BAR_COLUMNS = ("open", "high", "low", "close", "volume")
_BAR_VALUES = ", ".join(f"{{0}}.{c}" for c in _BAR_COLUMNS)
_BAR_SET = ", ".join(f"{c} = d.{c}" for c in _BAR_COLUMNS)


def _create_staging(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """A temporary table with the columns the generator writes (no id, no defaults)."""
    names = ", ".join(demo.INFERENCE_COLUMNS)
    conn.execute(
        f"CREATE TEMP TABLE demo_rows ON COMMIT DROP AS SELECT {names} FROM {INFERENCE_TABLE}"
        " WITH NO DATA"
    )


def _merge_inferences(
    conn: psycopg.Connection[tuple[object, ...]],
    model_id: str,
    kept: datetime | None,
    batch: demo.InferenceBatch,
) -> int:
    """Make the model's rows after ``kept`` (all of them if None) those of ``batch``: delete
    the rows it does not have, update in place the rows that differ (same model and time),
    insert the new ones. Rows that are the same are not written. The rows written."""
    conn.execute("TRUNCATE demo_rows")
    if batch.size:
        copy_columns(conn, "demo_rows", batch.columns)
    after = sql.SQL("") if kept is None else sql.SQL(" AND t.timestamp_utc > %(kept)s")
    params = {"model_id": model_id, "kept": kept}
    columns = [c for c in demo.INFERENCE_COLUMNS if c not in ("model_id", "timestamp_utc")]
    table = sql.Identifier(*INFERENCE_TABLE.split("."))
    same_row = sql.SQL("s.model_id = t.model_id AND s.timestamp_utc = t.timestamp_utc")
    conn.execute(
        sql.SQL(
            "DELETE FROM {table} t WHERE t.model_id = %(model_id)s{after}"
            " AND NOT EXISTS (SELECT 1 FROM demo_rows s WHERE {same_row})"
        ).format(table=table, after=after, same_row=same_row),
        params,
    )
    updated = conn.execute(
        sql.SQL(
            "UPDATE {table} t SET ({columns}) = ROW({values}) FROM demo_rows s"
            " WHERE t.model_id = %(model_id)s{after} AND {same_row}"
            " AND ROW({current}) IS DISTINCT FROM ROW({values})"
        ).format(
            table=table,
            after=after,
            same_row=same_row,
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(sql.Identifier("s", c) for c in columns),
            current=sql.SQL(", ").join(sql.Identifier("t", c) for c in columns),
        ),
        params,
    ).rowcount
    names = sql.SQL(", ").join(map(sql.Identifier, demo.INFERENCE_COLUMNS))
    inserted = conn.execute(
        sql.SQL(
            "INSERT INTO {table} ({names}) SELECT {names} FROM demo_rows s"
            " WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {same_row})"
            " ORDER BY s.timestamp_utc"
        ).format(table=table, names=names, same_row=same_row)
    ).rowcount
    return updated + inserted
