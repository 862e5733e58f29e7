"""Settings from the environment: defaults, parsing, and one-line errors."""

from __future__ import annotations

from datetime import time

import pytest

from analytics import MarketCalendar, TradingSession
from conftest import refused_start
from devstack.processes import SERVER_COMMAND
from server.config import ConfigError, Settings


class TestSettingsFromEnv:
    def test_defaults_match_the_spec(self) -> None:
        settings = Settings.from_env({})
        assert settings.service_host == "0.0.0.0"
        assert settings.service_port == 8004
        assert settings.postgres_host is None
        assert settings.postgres_port == 5432
        assert settings.postgres_db == "usdcop_trading"
        assert settings.debug is False
        assert (settings.db_pool_min_size, settings.db_pool_max_size) == (2, 10)
        assert (settings.drift_warning_threshold, settings.drift_critical_threshold) == (0.15, 0.30)

    def test_reads_every_variable(self) -> None:
        settings = Settings.from_env(
            {
                "SERVICE_HOST": "127.0.0.1",
                "SERVICE_PORT": "9000",
                "GRPC_PORT": "0",
                "POSTGRES_HOST": "db.internal",
                "POSTGRES_PORT": "6543",
                "POSTGRES_DB": "x",
                "POSTGRES_USER": "reader",
                "POSTGRES_PASSWORD": "secret",
                "DEBUG": "yes",
                "DB_POOL_MIN_SIZE": "1",
                "DB_POOL_MAX_SIZE": "4",
                "DRIFT_WARNING_THRESHOLD": "0.1",
                "DRIFT_CRITICAL_THRESHOLD": "0.2",
                "HOLD_BAND": "0.0005",
                "CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            }
        )
        assert settings.service_host == "127.0.0.1"
        assert (settings.service_port, settings.grpc_port) == (9000, 0)
        assert (settings.postgres_host, settings.postgres_port) == ("db.internal", 6543)
        assert (settings.postgres_user, settings.postgres_password) == ("reader", "secret")
        assert settings.debug is True
        assert (settings.db_pool_min_size, settings.db_pool_max_size) == (1, 4)
        assert settings.hold_band == 0.0005
        assert settings.cors_allowed_origins == ("https://a.example", "https://b.example")

    def test_empty_postgres_host_means_embedded(self) -> None:
        assert Settings.from_env({"POSTGRES_HOST": ""}).postgres_host is None

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            ("SERVICE_PORT", "http", "SERVICE_PORT must be an integer in 1..65535, got 'http'"),
            ("GRPC_PORT", "70000", "GRPC_PORT must be an integer in 0..65535, got '70000'"),
            ("DEBUG", "maybe", "DEBUG must be one of true, false, 1, 0, yes, no, got 'maybe'"),
            ("DRIFT_WARNING_THRESHOLD", "nan", "DRIFT_WARNING_THRESHOLD must be a number in 0..1"),
            ("DB_POOL_MAX_SIZE", "0", "DB_POOL_MAX_SIZE must be an integer in 1..100, got '0'"),
        ],
    )
    def test_bad_value_names_the_variable(self, name: str, value: str, expected: str) -> None:
        with pytest.raises(ConfigError, match="^" + expected.replace(".", r"\.")):
            Settings.from_env({name: value})

    def test_inconsistent_pool_sizes(self) -> None:
        with pytest.raises(ConfigError, match=r"DB_POOL_MIN_SIZE \(5\) must not exceed"):
            Settings.from_env({"DB_POOL_MIN_SIZE": "5", "DB_POOL_MAX_SIZE": "3"})

    def test_inconsistent_drift_thresholds(self) -> None:
        with pytest.raises(ConfigError, match="DRIFT_WARNING_THRESHOLD"):
            Settings.from_env({"DRIFT_WARNING_THRESHOLD": "0.4"})


class TestMarketSettings:
    def test_defaults_are_the_usdcop_session(self) -> None:
        settings = Settings.from_env({})
        assert settings.market_calendar == MarketCalendar()
        assert settings.market_calendar.describe() == (
            "America/Bogota Mon-Fri 08:00-13:00 +CO holidays"
        )
        assert settings.health_min_trades == 20
        assert Settings().market_calendar == settings.market_calendar

    def test_reads_every_variable(self) -> None:
        settings = Settings.from_env(
            {
                "MARKET_CALENDAR": "Session",
                "MARKET_TIMEZONE": "America/New_York",
                "MARKET_OPEN": "9:30",
                "MARKET_CLOSE": "16:00",
                "MARKET_DAYS": "Mon-Wed, Fri",
                "MARKET_HOLIDAYS": "us",
                "HEALTH_MIN_TRADES": "5",
            }
        )
        assert settings.market_calendar == MarketCalendar(
            TradingSession("America/New_York", time(9, 30), time(16), frozenset({0, 1, 2, 4}), "US")
        )
        assert settings.health_min_trades == 5

    def test_no_holidays(self) -> None:
        settings = Settings.from_env({"MARKET_HOLIDAYS": "none", "MARKET_DAYS": "Sun-Thu"})
        assert settings.market_calendar.describe() == "America/Bogota Mon-Thu,Sun 08:00-13:00"

    def test_always(self) -> None:
        settings = Settings.from_env({"MARKET_CALENDAR": "always"})
        assert settings.market_calendar == MarketCalendar.always()
        assert settings.market_calendar.describe() == "always"

    @pytest.mark.parametrize(
        ("name", "value", "expected"),
        [
            (
                "MARKET_CALENDAR",
                "weekdays",
                "MARKET_CALENDAR must be one of session, always, got 'weekdays'",
            ),
            (
                "MARKET_TIMEZONE",
                "Mars/Olympus",
                "MARKET_TIMEZONE must be an IANA time zone such as America/Bogota,"
                " got 'Mars/Olympus'",
            ),
            (
                "MARKET_TIMEZONE",
                "America",
                "MARKET_TIMEZONE must be an IANA time zone such as America/Bogota, got 'America'",
            ),
            (
                "MARKET_OPEN",
                "8am",
                "MARKET_OPEN must be a time of day HH:MM (00:00..23:59), got '8am'",
            ),
            (
                "MARKET_CLOSE",
                "24:00",
                "MARKET_CLOSE must be a time of day HH:MM (00:00..23:59), got '24:00'",
            ),
            (
                "MARKET_DAYS",
                "Weekdays",
                "MARKET_DAYS must be weekdays (Mon..Sun) or ranges, comma-separated, such as"
                " Mon-Fri or Mon,Wed,Fri, got 'Weekdays'",
            ),
            (
                "MARKET_HOLIDAYS",
                "XX",
                "MARKET_HOLIDAYS must be a country code of the holidays package such as CO,"
                " or none, got 'XX'",
            ),
            (
                "HEALTH_MIN_TRADES",
                "-1",
                "HEALTH_MIN_TRADES must be an integer in 0..100000, got '-1'",
            ),
        ],
    )
    def test_bad_value_is_one_line_naming_the_variable(
        self, name: str, value: str, expected: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({name: value})
        assert str(caught.value) == expected

    def test_a_bad_value_is_refused_also_when_always(self) -> None:
        with pytest.raises(ConfigError, match=r"^MARKET_DAYS must be"):
            Settings.from_env({"MARKET_CALENDAR": "always", "MARKET_DAYS": "Someday"})

    def test_open_after_close(self) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"MARKET_OPEN": "13:00", "MARKET_CLOSE": "08:00"})
        assert str(caught.value) == "MARKET_OPEN (13:00) must be before MARKET_CLOSE (08:00)"


class TestStartUpErrors:
    def test_bad_setting_fails_with_one_line(self) -> None:
        result = refused_start(SERVER_COMMAND, GRPC_PORT="abc", POSTGRES_HOST="127.0.0.1")
        assert result.stderr.strip().splitlines() == [
            "configuration error: GRPC_PORT must be an integer in 0..65535, got 'abc'"
        ]

    def test_bad_market_setting_fails_with_one_line(self) -> None:
        result = refused_start(SERVER_COMMAND, MARKET_TIMEZONE="Bogota", POSTGRES_HOST="127.0.0.1")
        assert result.stderr.strip().splitlines() == [
            "configuration error: MARKET_TIMEZONE must be an IANA time zone such as"
            " America/Bogota, got 'Bogota'"
        ]

    def test_unreachable_database_fails_with_one_line(self) -> None:
        result = refused_start(
            SERVER_COMMAND,
            POSTGRES_HOST="127.0.0.1",
            POSTGRES_PORT="1",
            GRPC_PORT="0",
            DB_CONNECT_TIMEOUT_S="1",
        )
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith("start-up error: cannot connect to PostgreSQL at 127.0.0.1:1")
        assert "Traceback" not in result.stderr
