"""Local stack commands.

``python -m devstack run``                 what `make run` does
``python -m devstack seed --dsn DSN``      create the schema and load/top up the demo data
                                           (``--calendar always``: around the clock)
``python -m devstack envoy-config --out F``  envoy.yaml for this environment (ports, CORS)
``python -m devstack screenshots``         the README's pictures of /dashboard, from a running
                                           service (``--url``, default http://localhost:8004)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole service locally (see `make run`)")
    seed = commands.add_parser("seed", help="create the schema and load or top up the demo data")
    seed.add_argument("--dsn", required=True, help="libpq DSN of a writable database")
    seed.add_argument(
        "--calendar",
        choices=("session", "always"),
        help="rows only inside the market session of the MARKET_* settings (default: USD/COP), "
        "or around the clock; default: MARKET_CALENDAR",
    )
    config = commands.add_parser("envoy-config", help="render envoy.yaml for this environment")
    config.add_argument("--out", type=Path, required=True)
    config.add_argument("--descriptor-set", type=Path, required=True)
    config.add_argument("--backend-host", default="127.0.0.1")
    config.add_argument("--admin-port", type=int, default=9901)
    shots = commands.add_parser("screenshots", help="the README's pictures of the desk view")
    shots.add_argument("--url", default="http://localhost:8004", help="a running service")
    shots.add_argument("--out", type=Path, default=Path("docs"))
    shots.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    if args.command == "run":
        from devstack.run import run

        return run()
    if args.command == "envoy-config":
        return _envoy_config(args)
    if args.command == "screenshots":
        from devstack.screenshots import take_screenshots

        for path in take_screenshots(args.url, args.out, args.chromium):
            print(path)
        return 0
    return seed_command(args.dsn, args.calendar)


def seed_command(dsn: str, calendar: str | None = None) -> int:
    """Create the schema and load or top up the demo data in the database at ``dsn``.

    ``calendar``: ``"session"`` (the session of the MARKET_* settings), ``"always"``, or None for
    what MARKET_CALENDAR says.
    """
    import psycopg

    from analytics import MarketCalendar
    from devstack.demo import check_calendar
    from devstack.seed import seed_demo
    from server.config import ConfigError, Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        settings = Settings.from_env(
            os.environ if calendar is None else {**os.environ, "MARKET_CALENDAR": calendar}
        )
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    market: MarketCalendar = settings.market_calendar
    try:
        check_calendar(market)
    except ValueError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            seed_demo(conn, calendar=market)
    except psycopg.Error as error:
        print(f"seed failed: {error}".strip(), file=sys.stderr)
        return 1
    return 0


def _envoy_config(args: argparse.Namespace) -> int:
    import yaml

    from devstack.edge_security import check
    from devstack.envoy import render
    from server.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
        security = check(settings)  # the files as this container sees them (docker-compose.yml)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    config = render(
        listen_host=settings.service_host,
        listen_port=settings.service_port,
        backend_host=args.backend_host,
        backend_port=settings.grpc_port,
        admin_port=args.admin_port,
        cors_origins=settings.cors_allowed_origins,
        descriptor_set=args.descriptor_set,
        security=security,
    )
    args.out.write_text(yaml.safe_dump(config, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
