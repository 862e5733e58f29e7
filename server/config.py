"""Settings read once from the environment into a frozen object.

Every variable is listed, with its default, in ``.env.example``. A bad value raises
:class:`ConfigError` with one line naming the variable and what it accepts; the entry point prints
that line and exits, instead of a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from typing import TypeVar
from zoneinfo import ZoneInfo

from analytics import (
    DEFAULT_CRITICAL_THRESHOLD,
    DEFAULT_HOLD_BAND,
    DEFAULT_WARNING_THRESHOLD,
    MarketCalendar,
    TradingSession,
    holiday_countries,
    parse_weekdays,
)
from server.custom_metrics import CustomMetrics, CustomMetricsError
from server.domain import DriftThresholds, HealthRules

T = TypeVar("T")

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class ConfigError(ValueError):
    """A configuration variable has a value the service cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Service configuration (environment variable names in brackets)."""

    service_host: str = "0.0.0.0"  # [SERVICE_HOST] bind address of Envoy's public port
    service_port: int = 8004  # [SERVICE_PORT] Envoy's public port (REST + gRPC)
    # [GRPC_HOST] bind address of the gRPC server's own port: loopback, so that the only door
    # from outside is Envoy's (which shares the host, or the network namespace in compose).
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051  # [GRPC_PORT] the gRPC server's own port; 0 picks a free one
    # [POSTGRES_HOST] a host, or a comma-separated list of them (a primary and its read replicas:
    # the connections prefer a standby and fail over; docs/DEFINITIONS.md#database-hosts);
    # unset: `make run` embeds PostgreSQL
    postgres_host: str | None = None
    postgres_port: int = 5432  # [POSTGRES_PORT] the port of every host, or the first of a list
    # [POSTGRES_PORT] given as a list: the port of each POSTGRES_HOST, in order (else empty)
    postgres_ports: tuple[int, ...] = ()
    # [SERVER_REPLICAS] `make run` only: this many gRPC server processes, on GRPC_PORT,
    # GRPC_PORT+1, ..., behind Envoy, each restarted if it dies (docker compose: --scale server=N).
    # At most 8: each holds up to DB_POOL_MAX_SIZE + 1 database connections.
    server_replicas: int = 1
    # [METRICS_PORT] 0: off. Else GET /metrics also as plain HTTP on GRPC_HOST:METRICS_PORT, so
    # that Prometheus scrapes each replica itself (docker compose) rather than whichever one
    # Envoy picks.
    metrics_port: int = 0
    # [HEALTH_SERVICE_NAME] also report gRPC health under this service name: `make run` gives
    # each run its own and Envoy's health check asks for it, so a server of another run (or any
    # other gRPC server) on a replica's port is never healthy. Empty: only the standard names.
    health_service_name: str = ""
    postgres_db: str = "usdcop_trading"  # [POSTGRES_DB]
    postgres_user: str = "postgres"  # [POSTGRES_USER]
    postgres_password: str = ""  # [POSTGRES_PASSWORD]
    debug: bool = False  # [DEBUG] debug logging
    db_pool_min_size: int = 2  # [DB_POOL_MIN_SIZE]
    db_pool_max_size: int = 10  # [DB_POOL_MAX_SIZE]
    db_pool_timeout_s: float = 1.0  # [DB_POOL_TIMEOUT_S] wait for a connection before UNAVAILABLE
    db_connect_timeout_s: int = 2  # [DB_CONNECT_TIMEOUT_S]
    db_statement_timeout_ms: int = 10_000  # [DB_STATEMENT_TIMEOUT_MS] beyond it: DEADLINE_EXCEEDED
    drift_warning_threshold: float = DEFAULT_WARNING_THRESHOLD  # [DRIFT_WARNING_THRESHOLD]
    drift_critical_threshold: float = DEFAULT_CRITICAL_THRESHOLD  # [DRIFT_CRITICAL_THRESHOLD]
    hold_band: float = DEFAULT_HOLD_BAND  # [HOLD_BAND] |log return| at or below it is HOLD
    # [GRPC_MAX_WORKERS] threads serving RPCs: database-bound calls get at most DB_POOL_MAX_SIZE of
    # them, and never the last 4 (server/admission.py), so cheap calls never wait behind them.
    grpc_max_workers: int = 16
    shutdown_grace_s: float = 10.0  # [SHUTDOWN_GRACE_S] SIGTERM: time given to in-flight calls
    # [CACHE_TTL_S] how long a response is fresh (it may be served half as long again while it is
    # refreshed); 0 disables the cache. New rows show within 1.5 x this plus one computation.
    cache_ttl_s: float = 2.0
    # [CACHE_MAX_BYTES] the cached answers' total serialized size (the entries are also at most
    # 512); beyond it the least recently used go first.
    cache_max_bytes: int = 32 * 1024 * 1024
    cors_allowed_origins: tuple[str, ...] = ("http://localhost:3000",)  # [CORS_ALLOWED_ORIGINS]
    # When the models' market is open, built once from [MARKET_CALENDAR] (session or always),
    # [MARKET_TIMEZONE], [MARKET_OPEN], [MARKET_CLOSE], [MARKET_DAYS] and [MARKET_HOLIDAYS]; the
    # default is the USD/COP session (America/Bogota Mon-Fri 08:00-13:00, Colombian holidays).
    market_calendar: MarketCalendar = field(default_factory=MarketCalendar)
    health_min_trades: int = 20  # [HEALTH_MIN_TRADES] resolved trades a win-rate rule needs
    # Watch streams (docs/DEFINITIONS.md#watch-streams): one evaluation per watched key per tick.
    stream_refresh_s: float = 2.0  # [STREAM_REFRESH_S] tick of the stream publishers
    stream_heartbeat_s: float = 10.0  # [STREAM_HEARTBEAT_S] heartbeat after this much silence
    # [STREAM_MAX_SUBSCRIBERS] open streams at most; each holds a thread of its own, on top of the
    # GRPC_MAX_WORKERS that serve unary calls, so streams never starve them.
    stream_max_subscribers: int = 256
    stream_queue_size: int = 8  # [STREAM_QUEUE_SIZE] unread snapshots before a reader is dropped
    # [METRICS_DRIFT_MAX_AGE_S] how old the per-model drift behind /metrics may be (a scrape
    # evaluates every model's drift at most this often).
    metrics_drift_max_age_s: float = 60.0
    # [CUSTOM_METRICS_FILE] YAML of the desk's own metrics (deploy/custom-metrics.example.yaml,
    # docs/DEFINITIONS.md#custom-metrics); empty: none. Checked at start, reloaded on SIGHUP.
    custom_metrics_file: str = ""
    #: The definitions of CUSTOM_METRICS_FILE in force (reloaded in place on SIGHUP).
    custom_metrics: CustomMetrics = field(default_factory=CustomMetrics, compare=False)
    # Who may ask, checked by Envoy (devstack/edge_security.py, docs/SECURITY.md); all unset: off.
    auth_jwks_file: str = ""  # [AUTH_JWKS_FILE] JSON Web Key Set that verifies the bearer tokens
    auth_issuer: str = ""  # [AUTH_ISSUER] the tokens' `iss`
    auth_audience: tuple[str, ...] = ()  # [AUTH_AUDIENCE] accepted `aud` values (comma-separated)
    # [AUTH_PUBLIC_PATHS] served without a token: exact paths, or prefixes ending in "/". The
    # desk view's page and assets hold no data (its calls to the API carry the token).
    auth_public_paths: tuple[str, ...] = (
        "/health",
        "/grpc.health.v1.Health/",
        "/dashboard",
        "/dashboard/",
    )
    tls_cert_file: str = ""  # [TLS_CERT_FILE] PEM certificate chain of the public port
    tls_key_file: str = ""  # [TLS_KEY_FILE] PEM private key of that certificate

    @property
    def postgres_addresses(self) -> tuple[tuple[str, int], ...]:
        """(host, port) of each database host, in the order given; empty if none is set."""
        if self.postgres_host is None:
            return ()
        hosts = tuple(self.postgres_host.split(","))
        ports = _host_ports(hosts, self.postgres_ports or (self.postgres_port,))
        return tuple(zip(hosts, ports, strict=True))

    @property
    def drift_thresholds(self) -> DriftThresholds:
        return DriftThresholds(self.drift_warning_threshold, self.drift_critical_threshold)

    @property
    def health_rules(self) -> HealthRules:
        """The health rules of these settings, without the drift check (the API adds it, with
        the drift windows' declared defaults: server/api/rules.py)."""
        return HealthRules(self.market_calendar, self.health_min_trades)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); raise ConfigError."""
        env = _Env(os.environ if environ is None else environ)
        d = cls()
        no_hosts: tuple[str, ...] = ()
        hosts = env.parsed(
            "POSTGRES_HOST",
            no_hosts,
            _hosts,
            "a host name, address or socket directory, or a comma-separated list of them",
        )
        one_port: tuple[int, ...] = (d.postgres_port,)
        ports = env.parsed(
            "POSTGRES_PORT",
            one_port,
            _ports,
            "an integer in 1..65535, or a comma-separated list of them (one per POSTGRES_HOST)",
        )
        if hosts:  # without one, `make run` embeds PostgreSQL and the port does not matter
            _host_ports(hosts, ports)
        settings = cls(
            service_host=env.text("SERVICE_HOST", d.service_host),
            service_port=env.integer("SERVICE_PORT", d.service_port, 1, 65535),
            grpc_host=env.text("GRPC_HOST", d.grpc_host) or d.grpc_host,
            grpc_port=env.integer("GRPC_PORT", d.grpc_port, 0, 65535),
            postgres_host=",".join(hosts) or None,
            postgres_port=ports[0],
            postgres_ports=ports if len(ports) > 1 else (),
            server_replicas=env.integer("SERVER_REPLICAS", d.server_replicas, 1, 8),
            metrics_port=env.integer("METRICS_PORT", d.metrics_port, 0, 65535),
            health_service_name=env.text("HEALTH_SERVICE_NAME", d.health_service_name),
            postgres_db=env.text("POSTGRES_DB", d.postgres_db),
            postgres_user=env.text("POSTGRES_USER", d.postgres_user),
            postgres_password=env.text("POSTGRES_PASSWORD", d.postgres_password),
            debug=env.boolean("DEBUG", d.debug),
            db_pool_min_size=env.integer("DB_POOL_MIN_SIZE", d.db_pool_min_size, 1, 100),
            db_pool_max_size=env.integer("DB_POOL_MAX_SIZE", d.db_pool_max_size, 1, 100),
            db_pool_timeout_s=env.number("DB_POOL_TIMEOUT_S", d.db_pool_timeout_s, 0.05, 60),
            db_connect_timeout_s=env.integer("DB_CONNECT_TIMEOUT_S", d.db_connect_timeout_s, 1, 60),
            db_statement_timeout_ms=env.integer(
                "DB_STATEMENT_TIMEOUT_MS", d.db_statement_timeout_ms, 100, 600_000
            ),
            drift_warning_threshold=env.number(
                "DRIFT_WARNING_THRESHOLD", d.drift_warning_threshold, 0, 1
            ),
            drift_critical_threshold=env.number(
                "DRIFT_CRITICAL_THRESHOLD", d.drift_critical_threshold, 0, 1
            ),
            hold_band=env.number("HOLD_BAND", d.hold_band, 0, 0.1),
            grpc_max_workers=env.integer("GRPC_MAX_WORKERS", d.grpc_max_workers, 5, 256),
            shutdown_grace_s=env.number("SHUTDOWN_GRACE_S", d.shutdown_grace_s, 0, 300),
            cache_ttl_s=env.number("CACHE_TTL_S", d.cache_ttl_s, 0, 2.5),
            cache_max_bytes=env.integer("CACHE_MAX_BYTES", d.cache_max_bytes, 0, 2**31 - 1),
            cors_allowed_origins=env.words("CORS_ALLOWED_ORIGINS", d.cors_allowed_origins),
            market_calendar=_market_calendar(env),
            health_min_trades=env.integer("HEALTH_MIN_TRADES", d.health_min_trades, 0, 100_000),
            stream_refresh_s=env.number("STREAM_REFRESH_S", d.stream_refresh_s, 0.05, 60),
            stream_heartbeat_s=env.number("STREAM_HEARTBEAT_S", d.stream_heartbeat_s, 0.05, 15),
            stream_max_subscribers=env.integer(
                "STREAM_MAX_SUBSCRIBERS", d.stream_max_subscribers, 1, 1024
            ),
            stream_queue_size=env.integer("STREAM_QUEUE_SIZE", d.stream_queue_size, 1, 1000),
            metrics_drift_max_age_s=env.number(
                "METRICS_DRIFT_MAX_AGE_S", d.metrics_drift_max_age_s, 0, 3600
            ),
            custom_metrics_file=env.text("CUSTOM_METRICS_FILE", d.custom_metrics_file),
            custom_metrics=_custom_metrics(env),
            auth_jwks_file=env.text("AUTH_JWKS_FILE", d.auth_jwks_file),
            auth_issuer=env.text("AUTH_ISSUER", d.auth_issuer),
            auth_audience=env.words("AUTH_AUDIENCE", d.auth_audience),
            auth_public_paths=env.parsed(
                "AUTH_PUBLIC_PATHS", d.auth_public_paths, _paths, "paths starting with /"
            ),
            tls_cert_file=env.text("TLS_CERT_FILE", d.tls_cert_file),
            tls_key_file=env.text("TLS_KEY_FILE", d.tls_key_file),
        )
        if settings.db_pool_min_size > settings.db_pool_max_size:
            raise ConfigError(
                f"DB_POOL_MIN_SIZE ({settings.db_pool_min_size}) must not exceed "
                f"DB_POOL_MAX_SIZE ({settings.db_pool_max_size})"
            )
        last_port = settings.grpc_port + settings.server_replicas - 1
        if settings.grpc_port and last_port > 65535:
            raise ConfigError(
                f"SERVER_REPLICAS ({settings.server_replicas}) servers from GRPC_PORT "
                f"({settings.grpc_port}) would need port {last_port}, beyond 65535"
            )
        if settings.drift_warning_threshold > settings.drift_critical_threshold:
            raise ConfigError(
                f"DRIFT_WARNING_THRESHOLD ({settings.drift_warning_threshold}) must not exceed "
                f"DRIFT_CRITICAL_THRESHOLD ({settings.drift_critical_threshold})"
            )
        return settings


def _custom_metrics(env: _Env) -> CustomMetrics:
    """CUSTOM_METRICS_FILE's definitions, hours read in MARKET_TIMEZONE."""
    zone = env.parsed("MARKET_TIMEZONE", TradingSession().timezone, _time_zone, "an IANA time zone")
    try:
        return CustomMetrics.from_file(env.text("CUSTOM_METRICS_FILE", ""), zone)
    except CustomMetricsError as error:
        raise ConfigError(f"CUSTOM_METRICS_FILE {error}") from None


def _market_calendar(env: _Env) -> MarketCalendar:
    """The MARKET_* variables; every one is checked, also when MARKET_CALENDAR is always."""
    d = TradingSession()
    kind = env.parsed("MARKET_CALENDAR", "session", _calendar_kind, "one of session, always")
    timezone = env.parsed(
        "MARKET_TIMEZONE", d.timezone, _time_zone, "an IANA time zone such as America/Bogota"
    )
    opens = env.parsed("MARKET_OPEN", d.open_time, _clock, "a time of day HH:MM (00:00..23:59)")
    closes = env.parsed("MARKET_CLOSE", d.close_time, _clock, "a time of day HH:MM (00:00..23:59)")
    days = env.parsed(
        "MARKET_DAYS",
        d.weekdays,
        parse_weekdays,
        "weekdays (Mon..Sun) or ranges, comma-separated, such as Mon-Fri or Mon,Wed,Fri",
    )
    country = env.parsed(
        "MARKET_HOLIDAYS",
        d.holidays,
        _holiday_country,
        "a country code of the holidays package such as CO, or none",
    )
    if opens >= closes:
        raise ConfigError(
            f"MARKET_OPEN ({opens:%H:%M}) must be before MARKET_CLOSE ({closes:%H:%M})"
        )
    if kind == "always":
        return MarketCalendar.always()
    return MarketCalendar(TradingSession(timezone, opens, closes, days, country))


def _hosts(raw: str) -> tuple[str, ...]:
    """``a,b``: the hosts in order; empty for an empty value (the embedded database)."""
    if not raw:
        return ()
    hosts = tuple(host.strip() for host in raw.split(","))
    if any(not host or any(c.isspace() for c in host) for host in hosts):
        raise ValueError(raw)
    return hosts


def _ports(raw: str) -> tuple[int, ...]:
    ports = tuple(int(port) for port in raw.split(","))
    if not all(1 <= port <= 65535 for port in ports):
        raise ValueError(raw)
    return ports


def _host_ports(hosts: tuple[str, ...], ports: tuple[int, ...]) -> tuple[int, ...]:
    """The port of each host: one port serves every host, else there is one per host."""
    if len(ports) == 1:
        return ports * len(hosts)
    if len(ports) != len(hosts):
        raise ConfigError(
            f"POSTGRES_PORT lists {len(ports)} ports for {len(hosts)} "
            f"host{'s' if len(hosts) != 1 else ''} in POSTGRES_HOST: give one port for every "
            "host, or one per host in the same order"
        )
    return ports


def _paths(raw: str) -> tuple[str, ...]:
    """Comma- or space-separated URL paths, each starting with / (none: every path needs one)."""
    paths = tuple(raw.replace(",", " ").split())
    if not all(path.startswith("/") for path in paths):
        raise ValueError(raw)
    return paths


def _calendar_kind(raw: str) -> str:
    if raw.lower() not in {"session", "always"}:
        raise ValueError(raw)
    return raw.lower()


def _time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (KeyError, ValueError, OSError):  # not found (a KeyError), malformed, a directory
        raise ValueError(raw) from None
    return raw


def _clock(raw: str) -> time:
    if not re.fullmatch(r"\d{1,2}:\d{2}", raw):
        raise ValueError(raw)
    hour, minute = map(int, raw.split(":"))
    return time(hour, minute)  # ValueError past 23:59


def _holiday_country(raw: str) -> str | None:
    if raw.lower() == "none":
        return None
    if raw.upper() not in holiday_countries():
        raise ValueError(raw)
    return raw.upper()


class _Env:
    """Typed reads of environment variables with one-line errors."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _read(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        raw = self._environ.get(name)
        if raw is None:
            return default
        try:
            return parse(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be {expected}, got {raw!r}") from None

    def parsed(self, name: str, default: T, parse: Callable[[str], T], expected: str) -> T:
        return self._read(name, default, parse, expected)

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip()

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        def parse(raw: str) -> int:
            value = int(raw)
            if not low <= value <= high:
                raise ValueError(raw)
            return value

        return self._read(name, default, parse, f"an integer in {low}..{high}")

    def number(self, name: str, default: float, low: float, high: float) -> float:
        def parse(raw: str) -> float:
            value = float(raw)
            if not low <= value <= high:  # also rejects nan
                raise ValueError(raw)
            return value

        return self._read(name, default, parse, f"a number in {low:g}..{high:g}")

    def boolean(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError(raw)

        return self._read(name, default, parse, "one of true, false, 1, 0, yes, no")

    def words(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        raw = self._environ.get(name)
        if raw is None:
            return default
        return tuple(word for word in raw.replace(",", " ").split() if word)
