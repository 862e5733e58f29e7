"""HealthService: service health, endpoint directory, model health, its watch stream and the
Prometheus page."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.api import httpbody_pb2

from mlanalytics.v1 import health_service_pb2 as pb
from mlanalytics.v1 import health_service_pb2_grpc
from server import SERVICE_NAME, SERVICE_VERSION
from server.api import directory
from server.api.convert import envelope, now_timestamp
from server.api.messages import common, health
from server.api.rules import health_rules
from server.api.servicers.base import DataServicer, Dependencies
from server.api.streaming import envelope_fields, watch
from server.reports import health as reports
from server.reports.changes import health_signature
from server.reports.health import HealthList

_DESCRIPTION = (
    "Production monitoring of the USD/COP reinforcement-learning trading models: "
    "metrics, prediction accuracy, drift and health. REST on this port; native gRPC "
    "on the same port with server reflection."
)


class HealthServicer(DataServicer, health_service_pb2_grpc.HealthServiceServicer):
    """Service and model health."""

    def __init__(self, deps: Dependencies) -> None:
        super().__init__(deps)
        self._database_connected = deps.database_connected
        self._hub = deps.hub
        self._evaluations = deps.evaluations
        self._exposition = deps.exposition
        self._endpoints = directory.endpoints()
        self._rules = health_rules(deps.settings)

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
        end = self._checked(request).end
        models = self._read(reports.model_health_list, end, self._rules)
        return envelope(pb.ListModelHealthResponse, health.model_health_list(models))

    def GetModelHealth(
        self, request: pb.GetModelHealthRequest, context: grpc.ServicerContext
    ) -> pb.GetModelHealthResponse:
        params = self._checked(request)
        model = self._read(reports.model_health, params.text("model_id"), params.end, self._rules)
        return envelope(pb.GetModelHealthResponse, common.model_health(model))

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
