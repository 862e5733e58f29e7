"""HealthService: service health, endpoint directory, model health, trends and comparison."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from google.api import httpbody_pb2
from psycopg_pool import ConnectionPool

from mlanalytics.v1 import health_service_pb2 as pb
from mlanalytics.v1 import health_service_pb2_grpc
from server import SERVICE_NAME, SERVICE_VERSION
from server.api import directory
from server.api.convert import envelope, now_timestamp
from server.api.messages import common, health
from server.api.streaming import envelope_fields, watch
from server.api.validation import Params
from server.db import connection
from server.evaluations import Evaluations
from server.reports import health as reports
from server.reports.changes import health_signature
from server.reports.health import HealthList
from server.streams import Hub

_DESCRIPTION = (
    "Production monitoring of the USD/COP reinforcement-learning trading models: "
    "metrics, prediction accuracy, drift and health. REST on this port; native gRPC "
    "on the same port with server reflection."
)


class HealthServicer(health_service_pb2_grpc.HealthServiceServicer):
    """Service and model health."""

    def __init__(
        self,
        pool: ConnectionPool,
        database_connected: Callable[[], bool],
        *,
        hub: Hub,
        evaluations: Evaluations,
        heartbeat_s: float,
        exposition: Callable[[], tuple[str, bytes]],
    ) -> None:
        self._pool = pool
        self._database_connected = database_connected
        self._endpoints = directory.endpoints()
        self._hub = hub
        self._evaluations = evaluations
        self._heartbeat_s = heartbeat_s
        self._exposition = exposition

    def GetServiceHealth(
        self, request: pb.GetServiceHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetServiceHealthResponse:
        connected = self._database_connected()
        return pb.GetServiceHealthResponse(
            service=SERVICE_NAME,
            version=SERVICE_VERSION,
            status="healthy" if connected else "degraded",
            database="connected" if connected else "disconnected",
            timestamp=now_timestamp(),
        )

    def GetServiceInfo(
        self, request: pb.GetServiceInfoRequest, context: grpc.ServicerContext
    ) -> pb.GetServiceInfoResponse:
        return pb.GetServiceInfoResponse(
            service=SERVICE_NAME,
            version=SERVICE_VERSION,
            description=_DESCRIPTION,
            endpoints=self._endpoints,
            timestamp=now_timestamp(),
        )

    def ListModelHealth(
        self, request: pb.ListModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.ListModelHealthResponse:
        params = Params()
        end = params.end_time(request.end_time)
        params.check()
        with connection(self._pool) as conn:
            models = reports.model_health_list(conn, end)
        return envelope(pb.ListModelHealthResponse, health.model_health_list(models))

    def GetModelHealth(
        self, request: pb.GetModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetModelHealthResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        params.check()
        with connection(self._pool) as conn:
            model = reports.model_health(conn, model_id, end)
        return envelope(pb.GetModelHealthResponse, common.model_health(model))

    def GetPerformanceTrends(
        self, request: pb.GetPerformanceTrendsRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceTrendsResponse:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        days = params.integer(request, "days")
        params.check()
        with connection(self._pool) as conn:
            trends = reports.trends(conn, model_id, end, days)
        return envelope(pb.GetPerformanceTrendsResponse, health.performance_trends(trends))

    def GetPerformanceComparison(
        self, request: pb.GetPerformanceComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceComparisonResponse:
        params = Params()
        window = params.window(request.window, params.end_time(request.end_time))
        params.check()
        with connection(self._pool) as conn:
            versions = reports.version_comparison(conn, window)
        return envelope(
            pb.GetPerformanceComparisonResponse, health.performance_comparison(window, versions)
        )

    def WatchModelHealth(
        self, request: pb.WatchModelHealthRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchModelHealthResponse]:
        def render(models: HealthList, revision: str) -> pb.WatchModelHealthResponse:
            return pb.WatchModelHealthResponse(
                **envelope_fields(revision, health.model_health_list(models))
            )

        return watch(
            context,
            self._hub,
            "health",
            (),
            evaluate=self._evaluations.health,
            signature=health_signature,
            render=render,
            heartbeat=lambda revision: pb.WatchModelHealthResponse(**envelope_fields(revision)),
            heartbeat_s=self._heartbeat_s,
        )

    def GetPrometheusMetrics(
        self, request: pb.GetPrometheusMetricsRequest, context: grpc.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        content_type, body = self._exposition()
        return httpbody_pb2.HttpBody(content_type=content_type, data=body)
