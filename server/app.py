"""Assemble the gRPC server: servicers, interceptors, reflection, gRPC health, DB monitor,
the watch streams' publishers and the Prometheus metrics."""

from __future__ import annotations

import logging
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from prometheus_client import start_http_server
from psycopg_pool import ConnectionPool

from server.admission import Admission, database_call_limit
from server.api.directory import CACHED_METHODS, METRICS_METHOD, SERVICE_NAMES
from server.api.interceptors import (
    AdmissionInterceptor,
    ErrorInterceptor,
    RequestDecodingInterceptor,
)
from server.api.rpc_metrics import RpcMetricsInterceptor
from server.api.rules import health_rules
from server.api.servicers import Dependencies, add_servicers
from server.cache import ResponseCache
from server.config import ConfigError, Settings
from server.db import DatabaseMonitor, conninfo, create_pool, warn_if_index_missing
from server.evaluations import Evaluations
from server.streams import Hub
from server.telemetry import ServiceCollector, Telemetry
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
    hub: Hub
    telemetry: Telemetry
    admission: Admission
    #: Where GET /metrics is also served as plain HTTP (METRICS_PORT), if anywhere.
    metrics_address: tuple[str, int] | None = None
    _stopped: bool = field(default=False, init=False)
    _metrics_http: WSGIServer | None = field(default=None, init=False)

    def start(self) -> None:
        warm_up()
        self.server.start()
        if self.metrics_address is not None:
            host, port = self.metrics_address
            self._metrics_http, _ = start_http_server(port, host, self.telemetry.registry)
        self.monitor.start()
        log.info("gRPC server listening on port %d", self.port)

    def stop(self, grace: float | None = None) -> None:
        """Refuse new calls, end every watch stream (UNAVAILABLE: reconnect elsewhere), let
        in-flight calls finish within ``grace`` s, then release the pool."""
        if self._stopped:
            return
        self._stopped = True
        self.health.enter_graceful_shutdown()
        self.hub.close()
        self.server.stop(grace).wait()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()
        self.monitor.stop()
        self.pool.close()


#: Request metadata (headers) the server accepts. Above Envoy's own limit (8 KiB of request
#: headers, envoy.yaml) plus what it adds on the way (x-envoy-original-path repeats the URL), so
#: an oversized request is refused at the edge with 431, never here at random (gRPC refuses
#: metadata between its soft and hard limits with a probability).
MAX_METADATA_BYTES = 32 * 1024


def create_server(settings: Settings, pool: ConnectionPool | None = None) -> Service:
    """Build the server on ``settings.grpc_host:grpc_port`` (port 0 binds a free one; see
    ``Service.port``)."""
    pool = pool or create_pool(settings)
    telemetry = Telemetry()
    cache: ResponseCache[Any] | None = None
    if settings.cache_ttl_s > 0:
        cache = ResponseCache(
            settings.cache_ttl_s,
            max_bytes=settings.cache_max_bytes,
            size=lambda response: int(response.ByteSize()),
        )
    admission = Admission(database_call_limit(settings.db_pool_max_size, settings.grpc_max_workers))
    grpc_health = health.HealthServicer(experimental_non_blocking=True)

    def database_changed(up: bool) -> None:
        _set_serving(grpc_health, up, settings.health_service_name)
        if cache is not None and not up:
            cache.clear()  # from now on callers learn of the outage (503), not stale answers

    monitor = DatabaseMonitor(conninfo(settings), on_change=database_changed, pool=pool)
    interceptors: list[grpc.ServerInterceptor] = [  # type: ignore[type-arg]
        # Outermost: counts every call, those refused while decoding too; it keeps the
        # deserializers of the decoding interceptor (the outermost handler's are those grpcio uses).
        RpcMetricsInterceptor(telemetry, excluded=frozenset({METRICS_METHOD})),
        RequestDecodingInterceptor(),
        ErrorInterceptor(database_failed=monitor.report_failure),
        AdmissionInterceptor(admission, CACHED_METHODS, cache, lambda: monitor.connected),
    ]
    # grpcio's sync server holds a thread per call for its whole life: an open stream holds one
    # until it ends. The hub admits at most stream_max_subscribers streams, and the pool has that
    # many threads on top of the ones for unary calls, so streams never starve them.
    server = grpc.server(
        futures.ThreadPoolExecutor(
            max_workers=settings.grpc_max_workers + settings.stream_max_subscribers
        ),
        interceptors=interceptors,
        options=[
            ("grpc.max_metadata_size", MAX_METADATA_BYTES),
            ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
            # grpcio sets SO_REUSEPORT by default: a second server on a port in use would bind it
            # too and share its calls silently, instead of failing to start.
            ("grpc.so_reuseport", 0),
        ],
    )

    hub = Hub(
        refresh_s=settings.stream_refresh_s,
        queue_size=settings.stream_queue_size,
        max_subscribers=settings.stream_max_subscribers,
    )
    evaluations = Evaluations(pool, settings, health_rules(settings))
    telemetry.registry.register(
        ServiceCollector(
            pool=pool,
            database_connected=lambda: monitor.connected,
            cache=cache,
            hub=hub,
            evaluations=evaluations,
            custom=settings.custom_metrics,
        )
    )
    add_servicers(
        server,
        Dependencies(
            pool, settings, lambda: monitor.connected, hub, evaluations, telemetry.exposition
        ),
    )
    health_pb2_grpc.add_HealthServicer_to_server(grpc_health, server)
    reflection.enable_server_reflection(
        (
            *SERVICE_NAMES,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{settings.grpc_host}:{settings.grpc_port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        pool.close()
        raise ConfigError(f"cannot listen on {address} (GRPC_PORT in use?)") from None
    warn_if_index_missing(pool)
    return Service(
        server=server,
        port=port,
        pool=pool,
        monitor=monitor,
        health=grpc_health,
        cache=cache,
        hub=hub,
        telemetry=telemetry,
        admission=admission,
        metrics_address=(
            (settings.grpc_host, settings.metrics_port) if settings.metrics_port else None
        ),
    )


def _set_serving(grpc_health: health.HealthServicer, database_up: bool, extra: str) -> None:
    """Every service is SERVING exactly while the database answers; so is ``extra``, the name
    a proxy's health check may ask for (HEALTH_SERVICE_NAME), if set."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if database_up
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in ("", *SERVICE_NAMES, *([extra] if extra else [])):
        grpc_health.set(name, status)
