"""One servicer per proto service: validate the request, run a report, map it to a message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import grpc
from psycopg_pool import ConnectionPool

from mlanalytics.v1 import (
    anomaly_service_pb2_grpc,
    docs_service_pb2_grpc,
    drift_service_pb2_grpc,
    health_service_pb2_grpc,
    metrics_service_pb2_grpc,
    performance_service_pb2_grpc,
    prediction_service_pb2_grpc,
    version_service_pb2_grpc,
)
from server.api.servicers.anomalies import AnomalyServicer
from server.api.servicers.docs import DocsServicer
from server.api.servicers.drift import DriftServicer
from server.api.servicers.health import HealthServicer
from server.api.servicers.metrics import MetricsServicer
from server.api.servicers.performance import PerformanceServicer
from server.api.servicers.predictions import PredictionServicer
from server.api.servicers.versions import ModelVersionServicer
from server.config import Settings
from server.evaluations import Evaluations
from server.streams import Hub


@dataclass(frozen=True, slots=True)
class StreamDeps:
    """What the watch streams and GET /metrics share: the publishers' hub, the shared
    evaluations and the Prometheus exposition."""

    hub: Hub
    evaluations: Evaluations
    exposition: Callable[[], tuple[str, bytes]]


def add_servicers(
    server: grpc.Server,
    pool: ConnectionPool,
    settings: Settings,
    database_connected: Callable[[], bool],
    streams: StreamDeps,
) -> None:
    """Register the services of ``mlanalytics.v1`` on ``server``."""
    docs_service_pb2_grpc.add_DocsServiceServicer_to_server(DocsServicer(), server)
    health_service_pb2_grpc.add_HealthServiceServicer_to_server(
        HealthServicer(
            pool,
            settings,
            database_connected,
            hub=streams.hub,
            evaluations=streams.evaluations,
            exposition=streams.exposition,
        ),
        server,
    )
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
        MetricsServicer(pool, settings), server
    )
    performance_service_pb2_grpc.add_PerformanceServiceServicer_to_server(
        PerformanceServicer(pool, settings), server
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionServicer(pool, settings), server
    )
    version_service_pb2_grpc.add_ModelVersionServiceServicer_to_server(
        ModelVersionServicer(pool, settings), server
    )
    anomaly_service_pb2_grpc.add_AnomalyServiceServicer_to_server(
        AnomalyServicer(pool, settings), server
    )
    drift_service_pb2_grpc.add_DriftServiceServicer_to_server(
        DriftServicer(pool, settings, hub=streams.hub, evaluations=streams.evaluations), server
    )
