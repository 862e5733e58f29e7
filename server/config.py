"""Settings read once from the environment into a frozen object.

Every variable is listed, with its default, in ``.env.example``. A bad value raises
:class:`ConfigError` with one line naming the variable and what it accepts; the entry point prints
that line and exits, instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from analytics import DEFAULT_CRITICAL_THRESHOLD, DEFAULT_HOLD_BAND, DEFAULT_WARNING_THRESHOLD
from server.domain import DriftThresholds

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
    postgres_host: str | None = None  # [POSTGRES_HOST] unset: `make run` embeds PostgreSQL
    postgres_port: int = 5432  # [POSTGRES_PORT]
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

    @property
    def drift_thresholds(self) -> DriftThresholds:
        return DriftThresholds(self.drift_warning_threshold, self.drift_critical_threshold)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); raise ConfigError."""
        env = _Env(os.environ if environ is None else environ)
        d = cls()
        settings = cls(
            service_host=env.text("SERVICE_HOST", d.service_host),
            service_port=env.integer("SERVICE_PORT", d.service_port, 1, 65535),
            grpc_host=env.text("GRPC_HOST", d.grpc_host) or d.grpc_host,
            grpc_port=env.integer("GRPC_PORT", d.grpc_port, 0, 65535),
            postgres_host=env.text("POSTGRES_HOST", "") or None,
            postgres_port=env.integer("POSTGRES_PORT", d.postgres_port, 1, 65535),
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
        )
        if settings.db_pool_min_size > settings.db_pool_max_size:
            raise ConfigError(
                f"DB_POOL_MIN_SIZE ({settings.db_pool_min_size}) must not exceed "
                f"DB_POOL_MAX_SIZE ({settings.db_pool_max_size})"
            )
        if settings.drift_warning_threshold > settings.drift_critical_threshold:
            raise ConfigError(
                f"DRIFT_WARNING_THRESHOLD ({settings.drift_warning_threshold}) must not exceed "
                f"DRIFT_CRITICAL_THRESHOLD ({settings.drift_critical_threshold})"
            )
        return settings


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
