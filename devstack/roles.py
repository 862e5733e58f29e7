"""The database role the service connects as: it can read the two tables and nothing else.

The service already sets ``default_transaction_read_only``, but that is a session default any
``BEGIN READ WRITE`` overrides; a role without the privileges cannot write at all. `make run`
creates it in its embedded database (and the service connects as it; the demo top-up keeps the
owner), docker-compose.yml through ``devstack/reader-role.sh``, which grants the same.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

READER = "mlanalytics_reader"

#: What the service reads (docs/DEFINITIONS.md#data-read).
TABLES = ("dw.fact_rl_inference", "usdcop_m5_ohlcv")


def create_reader_role(
    conn: psycopg.Connection[Any], role: str = READER, password: str | None = None
) -> None:
    """Create ``role`` (or bring it up to date): it may log in to this database and SELECT the
    service's tables; it owns nothing and may not create, write or change anything."""
    name = sql.Identifier(role)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(name))
        conn.execute(
            sql.SQL(
                "ALTER ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
            ).format(name)
        )
        if password is not None:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password)))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(name))
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database[0]), name)
        )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA dw, public TO {}").format(name))
        conn.execute(
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.SQL(", ").join(sql.Identifier(*table.split(".")) for table in TABLES), name
            )
        )


def reader_dsn(dsn: str, role: str = READER) -> str:
    """``dsn`` as ``role`` (without the owner's password)."""
    parts = conninfo_to_dict(dsn)
    parts.pop("password", None)
    return make_conninfo("", **{**parts, "user": role})
