"""ModelVersionService: which versions ran, and is the new one worse than the one it replaced?"""

from __future__ import annotations

import grpc

from mlanalytics.v1 import version_service_pb2 as pb
from mlanalytics.v1 import version_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import versions
from server.api.servicers.base import DataServicer
from server.api.validation import quoted
from server.reports.versions import compare_model_versions, version_timeline


class ModelVersionServicer(DataServicer, version_service_pb2_grpc.ModelVersionServiceServicer):
    """The version timeline of a model and the rollback verdict."""

    def ListModelVersions(
        self, request: pb.ListModelVersionsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelVersionsResponse:
        params = self._checked(request)
        timeline = self._read(version_timeline, params.text("model_id"), params.end)
        return envelope(pb.ListModelVersionsResponse, versions.model_versions(timeline))

    def CompareModelVersions(
        self, request: pb.CompareModelVersionsRequest, context: grpc.ServicerContext
    ) -> pb.CompareModelVersionsResponse:
        params = self._params(request)
        baseline, candidate = params.text("baseline"), params.text("candidate")
        if baseline and baseline == candidate and not params.rejected("baseline"):
            params.reject("baseline", f"must differ from candidate (both are {quoted(baseline)})")
        params.check()
        verdict = self._read(
            compare_model_versions,
            params.text("model_id"),
            baseline=baseline,
            candidate=candidate,
            baseline_days=params.integer("baseline_days"),
            end=params.end,
            calendar=self._settings.market_calendar,
        )
        return envelope(pb.CompareModelVersionsResponse, versions.model_version_comparison(verdict))
