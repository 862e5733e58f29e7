"""DriftService: drift status and per-feature drift of one model."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from mlanalytics.v1 import drift_service_pb2 as pb
from mlanalytics.v1 import drift_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, drift
from server.api.servicers.base import DataServicer, Dependencies
from server.api.streaming import envelope_fields, watch
from server.evaluations import DriftKey
from server.reports.changes import drift_signature
from server.reports.drift import DriftReport, drift_report


class DriftServicer(DataServicer, drift_service_pb2_grpc.DriftServiceServicer):
    """Is a model's input data drifting away from what it saw before?"""

    def __init__(self, deps: Dependencies) -> None:
        super().__init__(deps)
        self._hub = deps.hub
        self._evaluations = deps.evaluations

    def _report(
        self, request: pb.GetDriftStatusRequest | pb.GetDriftFeaturesRequest
    ) -> DriftReport:
        params = self._checked(request)
        return self._read(
            drift_report,
            params.text("model_id"),
            params.end,
            window_hours=params.integer("window_hours"),
            baseline_days=params.integer("baseline_days"),
            thresholds=self._settings.drift_thresholds,
            hold_band=self._settings.hold_band,
            calendar=self._settings.market_calendar,
        )

    def GetDriftStatus(
        self, request: pb.GetDriftStatusRequest, context: grpc.ServicerContext
    ) -> pb.GetDriftStatusResponse:
        return envelope(pb.GetDriftStatusResponse, common.drift_report(self._report(request)))

    def GetDriftFeatures(
        self, request: pb.GetDriftFeaturesRequest, context: grpc.ServicerContext
    ) -> pb.GetDriftFeaturesResponse:
        return envelope(pb.GetDriftFeaturesResponse, drift.drift_features(self._report(request)))

    def WatchDrift(
        self, request: pb.WatchDriftRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WatchDriftResponse]:
        params = self._checked(request)
        key = DriftKey(
            params.text("model_id"),
            params.integer("window_hours"),
            params.integer("baseline_days"),
        )

        def render(report: DriftReport, revision: str) -> pb.WatchDriftResponse:
            return pb.WatchDriftResponse(**envelope_fields(revision, common.drift_report(report)))

        return watch(
            context,
            self._hub,
            "drift",
            key,
            evaluate=lambda: self._evaluations.drift(key),
            signature=drift_signature,
            render=render,
            heartbeat=lambda revision: pb.WatchDriftResponse(**envelope_fields(revision)),
            heartbeat_s=self._settings.stream_heartbeat_s,
        )
