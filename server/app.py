"""Assemble the gRPC server: servicers, error interceptor, reflection, gRPC health, DB monitor."""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from psycopg_pool import ConnectionPool

from mlanalytics.v1 import (
    docs_service_pb2_grpc,
    drift_service_pb2_grpc,
    health_service_pb2_grpc,
    metrics_service_pb2_grpc,
    prediction_service_pb2_grpc,
)
from server.api.directory import CACHED_METHODS, SERVICE_NAMES
from server.api.interceptors import CacheInterceptor, ErrorInterceptor
from server.api.servicers.docs import DocsServicer
from server.api.servicers.drift import DriftServicer
from server.api.servicers.health import HealthServicer
from server.api.servicers.metrics import MetricsServicer
from server.api.servicers.predictions import PredictionServicer
from server.cache import ResponseCache
from server.config import ConfigError, Settings
from server.db import DatabaseMonitor, conninfo, create_pool, warn_if_index_missing
from server.warmup import warm_up

log = logging.getLogger(__name__)


@dataclass
class Service:
    """A built server, not yet started: the gRPC server, its bound port and what it owns."""

    server: grpc.Server
    port: int
    pool: ConnectionPool
    monitor: DatabaseMonitor
    health: health.HealthServicer
    cache: ResponseCache[Any] | None
    _stopped: bool = field(default=False, init=False)

    def start(self) -> None:
        warm_up()
        self.server.start()
        self.monitor.start()
        log.info("gRPC server listening on port %d", self.port)

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, let in-flight ones finish within ``grace`` s, then release the pool."""
        if self._stopped:
            return
        self._stopped = True
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()
        self.monitor.stop()
        self.pool.close()


def create_server(settings: Settings, pool: ConnectionPool | None = None) -> Service:
    """Build the server on ``settings.grpc_port`` (0 binds a free port; see ``Service.port``)."""
    pool = pool or create_pool(settings)
    interceptors: list[grpc.ServerInterceptor] = [ErrorInterceptor()]  # type: ignore[type-arg]
    cache: ResponseCache[Any] | None = None
    if settings.cache_ttl_s > 0:
        cache = ResponseCache(settings.cache_ttl_s)
        interceptors.append(CacheInterceptor(cache, CACHED_METHODS))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.grpc_max_workers),
        interceptors=interceptors,
    )
    grpc_health = health.HealthServicer(experimental_non_blocking=True)

    def database_changed(up: bool) -> None:
        _set_serving(grpc_health, up)
        if cache is not None and not up:
            cache.clear()  # from now on callers learn of the outage (503), not stale answers

    monitor = DatabaseMonitor(conninfo(settings), on_change=database_changed)

    health_servicer = HealthServicer(pool, lambda: monitor.connected)
    metrics = MetricsServicer(pool, settings)
    predictions = PredictionServicer(pool, settings)
    drift = DriftServicer(pool, settings)
    health_service_pb2_grpc.add_HealthServiceServicer_to_server(health_servicer, server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics, server)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(predictions, server)
    drift_service_pb2_grpc.add_DriftServiceServicer_to_server(drift, server)
    docs_service_pb2_grpc.add_DocsServiceServicer_to_server(DocsServicer(), server)
    health_pb2_grpc.add_HealthServicer_to_server(grpc_health, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.service_host}:{settings.grpc_port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        pool.close()
        raise ConfigError(f"cannot listen on {address} (GRPC_PORT in use?)") from None
    warn_if_index_missing(pool)
    return Service(
        server=server, port=port, pool=pool, monitor=monitor, health=grpc_health, cache=cache
    )


def _set_serving(grpc_health: health.HealthServicer, database_up: bool) -> None:
    """Every service is SERVING exactly while the database answers."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if database_up
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *SERVICE_NAMES):
        grpc_health.set(name, status)
