"""What every servicer is given, and what every data servicer shares: its settings, one way to
run a report on a connection, and one way to read the time range a request names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Concatenate, ParamSpec, TypeVar

from google.protobuf.message import Message
from psycopg_pool import ConnectionPool

from server.api.validation import Params, checked
from server.config import Settings
from server.db import Connection, connection
from server.domain import TimeRange
from server.evaluations import Evaluations
from server.reports import windows
from server.streams import Hub

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Dependencies:
    """What the servicers are built from: the connection pool, the settings, whether the database
    answers, the publishers' hub of the watch streams, the shared evaluations and the Prometheus
    exposition (GET /metrics)."""

    pool: ConnectionPool
    settings: Settings
    database_connected: Callable[[], bool]
    hub: Hub
    evaluations: Evaluations
    exposition: Callable[[], tuple[str, bytes]]


class DataServicer:
    """A servicer whose answers are reports read from the database."""

    def __init__(self, deps: Dependencies) -> None:
        self._pool = deps.pool
        self._settings = deps.settings

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

    def _read_model_window(
        self,
        request: Message,
        report: Callable[Concatenate[Connection, str, TimeRange, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """``report(connection, model_id, window, *args, **kwargs)`` for the model and window a
        request names by its model_id, window and end_time (every parameter valid)."""
        params = self._checked(request)
        return self._read(report, params.text("model_id"), params.window(), *args, **kwargs)

    def _model_window(self, request: Message) -> windows.ModelWindow:
        """The window of one model a request names by its model_id, window and end_time."""
        return self._read_model_window(request, windows.model_window, self._settings.hold_band)


def requested_range(params: Params, default_span: timedelta) -> TimeRange:
    """A request's start_time to end_time; start_time defaults to ``default_span`` before
    end_time on the trading-day clock, and is rejected when it is after end_time."""
    end = params.end
    start = params.instant("start_time") or params.calendar.trading_window_start(end, default_span)
    if start > end:
        params.reject("start_time", "must not be after end_time")
    return TimeRange(start, end)
