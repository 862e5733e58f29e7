"""What every data servicer shares: its settings and one way to run a report on a connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from psycopg_pool import ConnectionPool

from server.api.validation import Params
from server.config import Settings
from server.db import Connection, connection

P = ParamSpec("P")
R = TypeVar("R")


class DataServicer:
    """A servicer whose answers are reports read from the database."""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings

    def _params(self) -> Params:
        """The parameters of one request, its windows on the market's trading-day clock."""
        return Params(calendar=self._settings.market_calendar)

    def _read(
        self, report: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``report(connection, *args, **kwargs)`` on a pooled connection."""
        with connection(self._pool) as conn:
            return report(conn, *args, **kwargs)
