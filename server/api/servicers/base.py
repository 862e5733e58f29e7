"""What every data servicer shares: its settings and one way to run a report on a connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from google.protobuf.message import Message
from psycopg_pool import ConnectionPool

from server.api.validation import Params, checked
from server.config import Settings
from server.db import Connection, connection
from server.reports import windows

P = ParamSpec("P")
R = TypeVar("R")


class DataServicer:
    """A servicer whose answers are reports read from the database."""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings

    def _read(
        self, report: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``report(connection, *args, **kwargs)`` on a pooled connection."""
        with connection(self._pool) as conn:
            return report(conn, *args, **kwargs)

    def _params(self, request: Message) -> Params:
        """The parameters of ``request`` (check them), windows on the market's trading-day clock."""
        return Params(request, calendar=self._settings.market_calendar)

    def _checked(self, request: Message) -> Params:
        """The parameters of ``request``, every one valid, windows on the trading-day clock."""
        return checked(request, calendar=self._settings.market_calendar)

    def _model_window(self, request: Message) -> windows.ModelWindow:
        """The window of one model a request names by its model_id, window and end_time."""
        params = self._checked(request)
        return self._read(
            windows.model_window, params.text("model_id"), params.window(), self._settings.hold_band
        )
