"""HealthService: service health, endpoint directory, model health, trends and comparison."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from google.api import httpbody_pb2
from psycopg_pool import ConnectionPool

from mlanalytics.parameters import PARAMETERS
from mlanalytics.v1 import health_service_pb2 as pb
from mlanalytics.v1 import health_service_pb2_grpc
from server import SERVICE_NAME, SERVICE_VERSION
from server.api import directory
from server.api.convert import envelope, now_timestamp
from server.api.messages import common, health
from server.api.servicers.base import DataServicer
from server.api.streaming import envelope_fields, watch
from server.api.validation import model_pair
from server.config import Settings
from server.evaluations import Evaluations
from server.reports import health as reports
from server.reports.ab import compare_models
from server.reports.changes import health_signature
from server.reports.health import HealthList
from server.streams import Hub

_DESCRIPTION = (
    "Production monitoring of the USD/COP reinforcement-learning trading models: "
    "metrics, prediction accuracy, drift and health. REST on this port; native gRPC "
    "on the same port with server reflection."
)

_COMPARE_MODELS = health_service_pb2_grpc.HealthServiceServicer.CompareModels.__name__
AB_DEFAULT_WINDOW = str(PARAMETERS["window"].for_rpc(_COMPARE_MODELS).default)


class HealthServicer(DataServicer, health_service_pb2_grpc.HealthServiceServicer):
    """Service and model health."""

    def __init__(
        self,
        pool: ConnectionPool,
        settings: Settings,
        database_connected: Callable[[], bool],
        *,
        hub: Hub,
        evaluations: Evaluations,
        exposition: Callable[[], tuple[str, bytes]],
    ) -> None:
        super().__init__(pool, settings)
        self._database_connected = database_connected
        self._hub = hub
        self._evaluations = evaluations
        self._exposition = exposition
        self._endpoints = directory.endpoints()

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
        params = self._params()
        end = params.end_time(request.end_time)
        params.check()
        models = self._read(reports.model_health_list, end, self._settings.health_rules)
        return envelope(pb.ListModelHealthResponse, health.model_health_list(models))

    def GetModelHealth(
        self, request: pb.GetModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetModelHealthResponse:
        params = self._params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        params.check()
        model = self._read(reports.model_health, model_id, end, self._settings.health_rules)
        return envelope(pb.GetModelHealthResponse, common.model_health(model))

    def GetPerformanceTrends(
        self, request: pb.GetPerformanceTrendsRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceTrendsResponse:
        params = self._params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        days = params.integer(request, "days")
        params.check()
        trends = self._read(reports.trends, model_id, end, days, self._settings.market_calendar)
        return envelope(pb.GetPerformanceTrendsResponse, health.performance_trends(trends))

    def GetPerformanceComparison(
        self, request: pb.GetPerformanceComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceComparisonResponse:
        params = self._params()
        window = params.window(request.window, params.end_time(request.end_time))
        params.check()
        versions = self._read(reports.version_comparison, window)
        return envelope(
            pb.GetPerformanceComparisonResponse, health.performance_comparison(window, versions)
        )

    def CompareModels(
        self, request: pb.CompareModelsRequest, context: grpc.ServicerContext
    ) -> pb.CompareModelsResponse:
        model_a, model_b, window = model_pair(
            request.model_a,
            request.model_b,
            request.window,
            request.end_time,
            AB_DEFAULT_WINDOW,
            calendar=self._settings.market_calendar,
        )
        pair = self._read(compare_models, model_a, model_b, window, self._settings.hold_band)
        return envelope(pb.CompareModelsResponse, health.model_ab_comparison(pair))

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
            heartbeat_s=self._settings.stream_heartbeat_s,
        )

    def GetPrometheusMetrics(
        self, request: pb.GetPrometheusMetricsRequest, context: grpc.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        content_type, body = self._exposition()
        return httpbody_pb2.HttpBody(content_type=content_type, data=body)
