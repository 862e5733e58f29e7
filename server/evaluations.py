"""The reports that the watch streams and the Prometheus gauges read, evaluated once and shared.

The same report functions as the unary RPCs (``server.reports``), with "now" as ``end_time`` and
the default parameters where a stream has none, behind a single-flight cache: concurrent askers of
one key (a stream's publisher, a scrape) wait for one evaluation. An evaluation is reused for
``refresh_s`` seconds (a stream's tick), so a publisher evaluating once per tick always gets a
new one, and a scrape in between shares the publisher's. The drift of every model, which only the
gauges ask for in bulk, is reused for ``drift_max_age_s`` (METRICS_DRIFT_MAX_AGE_S) instead.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from psycopg_pool import ConnectionPool

from server.cache import ResponseCache
from server.config import Settings
from server.db import connection
from server.domain import HealthRules, TimeRange
from server.reports import health as health_reports
from server.reports import windows
from server.reports.drift import DriftReport, drift_report
from server.reports.health import HealthList
from server.reports.windows import Summary

SUMMARY_WINDOW = timedelta(hours=24)  # one trading day


class DriftKey(NamedTuple):
    """The parameters of one drift evaluation."""

    model_id: str
    window_hours: int
    baseline_days: int


class Evaluations:
    """Health list, 24 h summary and drift reports, ending now, shared by streams and gauges."""

    def __init__(self, pool: ConnectionPool, settings: Settings, rules: HealthRules) -> None:
        self._pool = pool
        self._hold_band = settings.hold_band
        self._thresholds = settings.drift_thresholds
        self._rules = rules
        self._calendar = settings.market_calendar
        self._recent: ResponseCache[Any] = ResponseCache(settings.stream_refresh_s, stale=0.0)
        self._settled: ResponseCache[Any] = ResponseCache(
            settings.metrics_drift_max_age_s, stale=0.0
        )

    def health(self) -> HealthList:
        """The model-health list (GET /api/health/models) ending now."""

        def compute() -> HealthList:
            with connection(self._pool) as conn:
                return health_reports.model_health_list(conn, datetime.now(UTC), self._rules)

        result: HealthList = self._recent.get(("health",), compute)
        return result

    def summary(self) -> Summary:
        """The 24 h metrics summary (GET /api/metrics/summary) ending now."""

        def compute() -> Summary:
            end = datetime.now(UTC)
            start = self._calendar.trading_window_start(end, SUMMARY_WINDOW)
            with connection(self._pool) as conn:
                return windows.summary(
                    conn, TimeRange(start, end, "24h"), self._hold_band, self._calendar
                )

        result: Summary = self._recent.get(("summary",), compute)
        return result

    def drift(self, key: DriftKey, *, settled: bool = False) -> DriftReport:
        """The drift report (GET /api/drift/status) of ``key`` ending now; ``settled``: one up to
        METRICS_DRIFT_MAX_AGE_S old will do."""

        def compute() -> DriftReport:
            with connection(self._pool) as conn:
                return drift_report(
                    conn,
                    key.model_id,
                    datetime.now(UTC),
                    window_hours=key.window_hours,
                    baseline_days=key.baseline_days,
                    thresholds=self._thresholds,
                    hold_band=self._hold_band,
                    calendar=self._calendar,
                )

        cache = self._settled if settled else self._recent
        result: DriftReport = cache.get(("drift", key), compute)
        return result
