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
#: Older demo data is replaced rather than topped up, so the stories stay as documented (with a
#: session calendar that includes every weekend: a rewrite, which changes nothing a user sees).
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
    continues after its last resolved row (its pending rows are written again, now with their
    rewards). Data that is missing, incomplete, older than MAX_GAP, or written by another version
    of the generator or for another calendar is replaced.
    """
    demo.check_calendar(calendar)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now_slot = demo.slot_of(now)
    with conn.transaction():
        conn.execute("SET LOCAL TIME ZONE 'UTC'")
        create_schema(conn)
        last_bar = conn.execute(
            f"SELECT max(time) FROM {BARS_TABLE} WHERE source = 'demo'"
        ).fetchone()
        resume = {m.model_id: _last_resolved(conn, m.model_id) for m in demo.DEMO_MODELS}
        fresh = (
            last_bar is None
            or last_bar[0] is None
            or now - last_bar[0] > MAX_GAP  # type: ignore[operator]
            or any(r is None for r in resume.values())
            or _metadata(conn) != demo.demo_metadata(calendar)
        )
        if fresh:
            conn.execute(f"DELETE FROM {INFERENCE_TABLE} WHERE model_id = ANY(%s)", (_ids(),))
            conn.execute(f"DELETE FROM {BARS_TABLE} WHERE source = 'demo'")
            first_slot = demo.slot_of(now - timedelta(days=DEMO_DAYS))
            new_bars = demo.bars(first_slot, now_slot, calendar)
            starts = {m.model_id: (first_slot, 0.0) for m in demo.DEMO_MODELS}
        else:
            assert last_bar is not None
            new_bars = demo.bars(demo.slot_of(last_bar[0]) + 1, now_slot, calendar)  # type: ignore[arg-type]
            starts = {}
            for model_id, resolved in resume.items():
                assert resolved is not None
                moment, cumulative = resolved
                conn.execute(
                    f"DELETE FROM {INFERENCE_TABLE} WHERE model_id = %s AND timestamp_utc > %s",
                    (model_id, moment),
                )
                starts[model_id] = (demo.slot_of(moment) + 1, cumulative)
        bars_written = _insert_bars(conn, new_bars)

        rows = 0
        for model in demo.DEMO_MODELS:
            first, cumulative = starts[model.model_id]
            last = demo.slot_of(demo.active_until(model, now, calendar) - timedelta(seconds=2))
            if last < first:
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
            rows += copy_columns(conn, INFERENCE_TABLE, batch.columns)
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


def _ids() -> list[str]:
    return [m.model_id for m in demo.DEMO_MODELS]


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


def _insert_bars(conn: psycopg.Connection[tuple[object, ...]], bars: demo.Bars) -> int:
    """Insert bars, leaving any existing (non-demo) bar of the same time and symbol alone."""
    if not bars.slots.size:
        return 0
    conn.execute(
        f"CREATE TEMP TABLE demo_bars (LIKE {BARS_TABLE} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    copy_columns(conn, "demo_bars", bars.columns())
    cur = conn.execute(
        f"INSERT INTO {BARS_TABLE} SELECT * FROM demo_bars ON CONFLICT (time, symbol) DO NOTHING"
    )
    return cur.rowcount
