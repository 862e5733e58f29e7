"""The tests' database: a database of their own, and server settings pointing at it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from analytics.calendar import ALWAYS
from devstack.processes import database_environment
from server.config import Settings


@dataclass(frozen=True)
class ScratchDatabase:
    """A database of the tests' own: ``dsn`` is a writable superuser connection string."""

    dsn: str

    def settings(self, **overrides: object) -> Settings:
        """Server settings pointing at this database, binding a free port on loopback.

        Read from the same variables `python -m server` is started with (see
        :func:`devstack.processes.start_server`).
        """
        settings = Settings.from_env(
            {**database_environment(self.dsn), "SERVICE_HOST": "127.0.0.1", "GRPC_PORT": "0"}
        )
        values: dict[str, object] = {
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
            **overrides,
        }
        return dataclasses.replace(settings, **values)  # type: ignore[arg-type]
