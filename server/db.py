"""The PostgreSQL connection pool and the background probe that tracks whether it is reachable.

Sessions are read-only (``default_transaction_read_only``) with a statement timeout, so the service
can neither write nor hold the database hostage. Repositories borrow connections with
:func:`connection`, which turns connection trouble into the domain errors the interceptor maps.
With several database hosts (a primary and its streaming replicas), every new connection prefers
a standby and fails over to whichever host answers (docs/DEFINITIONS.md#database-hosts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from server.config import ConfigError, Settings
from server.errors import DatabaseUnavailable, QueryTimeout

log = logging.getLogger(__name__)

Connection: TypeAlias = psycopg.Connection[tuple[Any, ...]]

#: How long the pool keeps retrying one lost connection (attempts 1 s apart) before it gives up.
RECONNECT_TIMEOUT_S = 2.0


#: libpq versions (``psycopg.pq.version()``) that know a connection option.
PREFER_STANDBY_LIBPQ = 140000  # target_session_attrs=prefer-standby
LOAD_BALANCE_LIBPQ = 160000  # load_balance_hosts=random


def multi_host_options(hosts: int, libpq_version: int) -> dict[str, str]:
    """The libpq options for ``hosts`` database hosts: none for one.

    For several: try a standby first (reads go to the replicas; the primary when none answers) and
    the hosts in random order (connections spread over the replicas), as far as this libpq knows
    those options; without them it tries the hosts in order and keeps the first that answers.
    """
    if hosts < 2:
        return {}
    options: dict[str, str] = {}
    if libpq_version >= PREFER_STANDBY_LIBPQ:
        options["target_session_attrs"] = "prefer-standby"
    if libpq_version >= LOAD_BALANCE_LIBPQ:
        options["load_balance_hosts"] = "random"
    return options


def describe_hosts(settings: Settings) -> str:
    """``host:port`` of each database host, comma-separated, for messages."""
    return ", ".join(f"{host}:{port}" for host, port in settings.postgres_addresses)


def conninfo(settings: Settings) -> str:
    """The libpq connection string for ``settings`` (read-only session, statement timeout)."""
    addresses = settings.postgres_addresses
    if not addresses:
        raise ConfigError(
            "POSTGRES_HOST is not set: point it at PostgreSQL, or use `make run`, which starts an "
            "embedded one with demo data"
        )
    return make_conninfo(
        host=",".join(host for host, _ in addresses),
        port=",".join(str(port) for _, port in addresses),
        **multi_host_options(len(addresses), psycopg.pq.version()),
        dbname=settings.postgres_db,
        user=settings.postgres_user,
        password=settings.postgres_password or None,
        application_name="mlanalytics",
        connect_timeout=settings.db_connect_timeout_s,
        options=(
            "-c default_transaction_read_only=on"
            f" -c statement_timeout={settings.db_statement_timeout_ms}"
            " -c TimeZone=UTC"
        ),
    )


def create_pool(settings: Settings) -> ConnectionPool:
    """Open the pool and wait for its first connections, so a bad DSN fails at start-up."""

    def check(conn: Connection) -> None:
        """Check a connection before it is handed out; one found broken is rarely alone.

        When a host stops or fails over, every connection to it breaks at once. psycopg_pool
        tries a second connection at once but waits about 1 s before a third: check the other
        idle ones too (replacing the broken), so that the next try gets a working one.
        """
        try:
            ConnectionPool.check_connection(conn)
        except psycopg.Error:
            pool.check()
            raise

    pool = ConnectionPool(
        conninfo(settings),
        min_size=settings.db_pool_min_size,
        max_size=settings.db_pool_max_size,
        timeout=settings.db_pool_timeout_s,
        # The pool retries a failed connection after 1 s, then 2 s, 4 s... until it gives up on
        # it after reconnect_timeout. A short one bounds the wait between attempts: retries come
        # 1 s apart and then stop; a call that finds the pool empty starts a new attempt at once,
        # and so does the monitor when it sees the database return (DatabaseMonitor).
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        kwargs={"autocommit": True},
        check=check,
        open=False,
        name="mlanalytics",
    )
    options = multi_host_options(len(settings.postgres_addresses), psycopg.pq.version())
    if len(settings.postgres_addresses) > 1:
        log.info(
            "database hosts %s (%s)",
            describe_hosts(settings),
            ", ".join(f"{k}={v}" for k, v in options.items())
            or f"libpq {psycopg.pq.version()}: tried in order",
        )
    try:
        pool.open(wait=True, timeout=max(5.0, settings.db_connect_timeout_s * 2.0))
    except PoolTimeout:
        pool.close()
        raise ConfigError(
            f"cannot connect to PostgreSQL at {describe_hosts(settings)} "
            f"database {settings.postgres_db!r} as {settings.postgres_user!r}"
        ) from None
    return pool


@contextmanager
def connection(pool: ConnectionPool) -> Iterator[Connection]:
    """Borrow a connection; map pool timeouts and connection failures to domain errors."""
    try:
        with pool.connection() as conn:
            yield conn
    except PoolTimeout:
        raise DatabaseUnavailable() from None  # down, or every connection busy for the timeout
    except pg_errors.QueryCanceled:
        raise QueryTimeout() from None
    except psycopg.OperationalError:
        raise DatabaseUnavailable() from None


def warn_if_index_missing(pool: ConnectionPool) -> None:
    """Log a warning when the index the queries need (README, "Database") is not there."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_indexes WHERE schemaname = 'dw'"
                " AND tablename = 'fact_rl_inference'"
                " AND indexdef LIKE '%%(model_id, timestamp_utc%%'"
            ).fetchone()
    except (PoolTimeout, psycopg.Error) as error:
        log.warning("could not check the indexes: %s", error)
        return
    if row is None:
        log.warning(
            "dw.fact_rl_inference has no index on (model_id, timestamp_utc, ...): every query"
            " will scan the table; create the index shown in the README"
        )


class DatabaseMonitor:
    """Whether data calls can be answered: the readiness behind ``/health`` and gRPC health.

    A daemon thread probes the database on a connection of its own (not one from the pool, so a
    pool busy with requests is not mistaken for a database that is down), once per ``interval``
    seconds, every ``recovery_interval`` seconds while it is down. ``connected`` turns False as
    soon as the probe fails or a data call reports a lost connection (:meth:`report_failure`),
    and True again only once a connection *from the pool* answers: when the probe sees the
    database return, it checks the pool at once (dropping the broken connections, starting new
    ones) and borrows one. ``on_change(connected)`` is called on every change, to flip the gRPC
    health status and drop cached answers.
    """

    def __init__(
        self,
        dsn: str,
        on_change: Callable[[bool], None],
        pool: ConnectionPool | None = None,
        interval: float = 1.0,
        recovery_interval: float = 0.25,
    ) -> None:
        self._dsn = dsn
        self._on_change = on_change
        self._pool = pool
        self._interval = interval
        self._recovery_interval = recovery_interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._failures = 0  # data calls that reported a lost connection so far
        self._thread = threading.Thread(target=self._run, name="db-monitor", daemon=True)
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        self.connected = True

    def start(self) -> None:
        self._on_change(self.connected)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._conn is not None:
            self._conn.close()

    def report_failure(self) -> None:
        """A data call could not get a working connection: not ready until the pool works."""
        with self._lock:
            self._failures += 1
            self._set(connected=False)
        self._wake.set()

    def probe(self) -> bool:
        """One round trip to the database (reconnecting if needed); True if it answered.

        A connection found broken is replaced at once before the answer is no: with several
        hosts, the new one goes to a host that is up, so losing one host is not an outage.
        """
        had_connection = self._conn is not None and not self._conn.closed
        return self._round_trip() or (had_connection and self._round_trip())

    def _round_trip(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self._dsn, autocommit=True)
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            return False
        return True

    def pool_works(self) -> bool:
        """Check the pool's idle connections (replacing broken ones) and borrow one."""
        if self._pool is None:
            return True
        try:
            self._pool.check()
            with self._pool.connection(timeout=self._pool.timeout) as conn:
                conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.Error):
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval if self.connected else self._recovery_interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            if not self.probe():
                with self._lock:
                    self._set(connected=False)
            elif not self.connected:
                failures = self._failures
                if self.pool_works():
                    with self._lock:
                        if self._failures == failures:  # no data call failed meanwhile
                            self._set(connected=True)

    def _set(self, *, connected: bool) -> None:
        """Record the new state (lock held) and report a change."""
        if connected == self.connected:
            return
        self.connected = connected
        log.warning("database %s", "reachable again" if connected else "unreachable")
        self._on_change(connected)
