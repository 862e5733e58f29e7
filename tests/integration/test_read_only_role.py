"""Least privilege: the service's role can read its two tables and cannot write, not even inside
``BEGIN READ WRITE``, whichever way it was made (devstack/roles.py for `make run`,
devstack/reader-role.sh for docker compose).

The session default the service sets (``default_transaction_read_only``) is no protection on
its own: as the owner, ``BEGIN READ WRITE; DELETE ...`` goes through, as the first test shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict

from databases import ScratchDatabase
from devstack.roles import create_reader_role
from mlanalytics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from rows import Rows
from server.app import Service
from server.config import Settings
from server.db import conninfo

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "devstack" / "reader-role.sh"

WRITES = [
    "DELETE FROM dw.fact_rl_inference",
    "UPDATE dw.fact_rl_inference SET reward = 0",
    "INSERT INTO usdcop_m5_ohlcv (time, symbol, close) VALUES (now(), 'X', 1)",
    "TRUNCATE usdcop_m5_ohlcv",
    "CREATE TABLE dw.intruder (x int)",
    "CREATE TABLE public.intruder (x int)",
    "ALTER TABLE dw.fact_rl_inference ADD COLUMN intruder int",
    "DROP TABLE usdcop_m5_ohlcv",
]


def _by_script(dsn: str, role: str) -> None:
    """Run the compose init script against ``dsn`` as the postgres image would run it."""
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    parts = conninfo_to_dict(dsn)
    env = {
        "PATH": os.environ["PATH"],
        "PGHOST": str(parts.get("host", "127.0.0.1")),
        "PGPORT": str(parts.get("port", 5432)),
        "PGPASSWORD": str(parts.get("password", "")),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_DB": str(parts["dbname"]),
        "READER_USER": role,
        "READER_PASSWORD": "reader-secret",
    }
    subprocess.run([str(SCRIPT)], env=env, check=True, capture_output=True, timeout=60)


@pytest.fixture(params=["roles.py", "reader-role.sh"])
def reader(request: pytest.FixtureRequest, database: ScratchDatabase) -> Iterator[Settings]:
    """Server settings connecting as a fresh reader role, made one way or the other."""
    role = f"mlanalytics_reader_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per test
    if request.param == "roles.py":
        with psycopg.connect(database.dsn, autocommit=True) as conn:
            create_reader_role(conn, role, password="reader-secret")
    else:
        _by_script(database.dsn, role)
    yield database.settings(postgres_user=role, postgres_password="reader-secret")
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _write_inside_read_write(settings: Settings, statement: str) -> None:
    """Run ``statement`` in an explicit read-write transaction on the service's settings."""
    with psycopg.connect(conninfo(settings), autocommit=True) as conn:
        conn.execute("BEGIN READ WRITE")
        try:
            conn.execute(statement)
        finally:
            conn.execute("ROLLBACK")


def test_the_session_default_alone_does_not_stop_a_write(
    rows: Rows, database: ScratchDatabase
) -> None:
    owner = database.settings()  # the service's settings, but as the owner
    _write_inside_read_write(owner, "DELETE FROM dw.fact_rl_inference")  # goes through


@pytest.mark.parametrize("statement", WRITES)
def test_the_reader_cannot_write_even_read_write(
    rows: Rows, reader: Settings, statement: str
) -> None:
    with pytest.raises(errors.InsufficientPrivilege):
        _write_inside_read_write(reader, statement)


def test_the_reader_is_read_only_by_default_too(rows: Rows, reader: Settings) -> None:
    with psycopg.connect(conninfo(reader), autocommit=True) as conn:
        row = conn.execute("SHOW default_transaction_read_only").fetchone()
    assert row == ("on",)


def test_the_service_answers_as_the_reader(
    rows: Rows, reader: Settings, start_service: Callable[..., Service]
) -> None:
    from datetime import UTC, datetime, timedelta

    end = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    rows.inference("m", end - timedelta(minutes=5), "LONG", reward=0.1)
    service = start_service(reader)
    with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        reply = stub.GetRollingMetrics(
            metrics_service_pb2.GetRollingMetricsRequest(model_id="m", end_time=end.isoformat()),
            timeout=10,
        )
    assert reply.data.data_points == 1
