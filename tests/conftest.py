"""Shared fixtures: a real PostgreSQL database, the real gRPC server on a free port, real Envoy.

The database comes from ``TEST_DATABASE_URL`` (a superuser DSN; CI uses the machine's PostgreSQL);
without it an embedded PostgreSQL is started in a temporary folder. Either way the tests create a
database of their own, write their own rows, and drop it at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import grpc
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from analytics import MarketCalendar
from databases import ScratchDatabase, start_embedded_postgres
from devstack import envoy
from devstack.demo import DEFAULT_CALENDAR
from devstack.seed import create_schema, seed_demo
from restclient import Rest
from rows import Rows
from server.app import Service, create_server


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabase]:
    admin = os.environ.get("TEST_DATABASE_URL") or start_embedded_postgres(
        tmp_path_factory.mktemp("pg") / "data"
    )
    name = f"mlanalytics_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(admin, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        create_schema(conn)
    yield ScratchDatabase(dsn)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def rows(database: ScratchDatabase) -> Iterator[Rows]:
    """An empty inference log and bar table, and a writer for the test's rows."""
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv RESTART IDENTITY")
        yield Rows(conn)


@pytest.fixture(scope="session")
def service(database: ScratchDatabase) -> Iterator[Service]:
    """The real gRPC server on a free port, against the test database."""
    running = create_server(database.settings())
    running.start()
    yield running
    running.stop(grace=1)


@pytest.fixture(scope="session")
def channel(service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as chan:
        yield chan


@pytest.fixture(scope="session")
def proxy(service: Service) -> Iterator[envoy.EnvoyProcess]:
    """The real Envoy on a free port, rendered from the committed envoy.yaml, in front of it."""
    running = envoy.start(
        envoy.render(
            listen_host="127.0.0.1",
            listen_port=0,
            backend_port=service.port,
            cors_origins=("http://dashboard.test",),
        )
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def rest(proxy: envoy.EnvoyProcess) -> Rest:
    """HTTP against Envoy's public port."""
    return Rest(f"http://127.0.0.1:{proxy.port}")


@pytest.fixture(scope="module")
def demo(database: ScratchDatabase, request: pytest.FixtureRequest) -> datetime:
    """The demo data of `make run`, ending at the returned moment, shared by a module's tests.

    It follows the module's ``DEMO_CALENDAR`` if it has one, else the USD/COP session (so with a
    machine clock outside the session, it ends at the last close). Modules using it must not also
    use ``rows`` (which empties the tables).
    """
    calendar: MarketCalendar = getattr(request.module, "DEMO_CALENDAR", DEFAULT_CALENDAR)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE dw.fact_rl_inference, usdcop_m5_ohlcv RESTART IDENTITY")
        seed_demo(conn, now, calendar)
    return now
