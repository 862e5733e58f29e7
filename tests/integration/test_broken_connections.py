"""Connections that all break at once (their host stopped or failed over) cost a call no wait.

psycopg_pool checks a connection before handing it out; after a second broken one in a row it
backs off about 1 s. The pool's check (server/db.py) replaces the other idle ones as soon as it
finds one broken, so the next try gets a working connection.
"""

from __future__ import annotations

import time

import psycopg

from databases import ScratchDatabase
from server.db import connection, create_pool


def test_a_call_after_every_idle_connection_broke_gets_a_new_one_at_once(
    database: ScratchDatabase,
) -> None:
    pool = create_pool(database.settings(db_pool_min_size=4, db_pool_timeout_s=1.0))
    try:
        borrowed = [pool.getconn() for _ in range(4)]
        pids = []
        for conn in borrowed:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            pids.append(row[0])
        for conn in borrowed:
            pool.putconn(conn)
        with psycopg.connect(database.dsn, autocommit=True) as admin:
            terminated = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))"
                " FROM unnest(%s::int[]) AS pid",
                (pids,),
            ).fetchone()
        assert terminated == (4,)

        started = time.monotonic()
        with connection(pool) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        elapsed = time.monotonic() - started
        assert row is not None
        assert row[0] not in pids
        # Without the purge: PoolTimeout after the full 1 s (a broken connection, then another,
        # then the back-off, itself about 1 s). With it: one new connection's worth of time
        # (tens of ms); the bound leaves room for a loaded machine and still fails the back-off.
        assert elapsed < 0.8, f"{elapsed:.3f} s"
    finally:
        pool.close()
