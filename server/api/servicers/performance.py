"""PerformanceService: are the models improving, and which one is better?"""

from __future__ import annotations

from datetime import datetime

import grpc

from analytics import ALWAYS, MarketCalendar
from mlanalytics.v1 import performance_service_pb2 as pb
from mlanalytics.v1 import performance_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import performance
from server.api.servicers.base import DataServicer
from server.api.validation import Params, quoted
from server.reports import health as reports
from server.reports.ab import compare_models


class PerformanceServicer(DataServicer, performance_service_pb2_grpc.PerformanceServiceServicer):
    """Trends of one model, every model side by side, and A/B of two."""

    def GetPerformanceTrends(
        self, request: pb.GetPerformanceTrendsRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceTrendsResponse:
        params = self._checked(request)
        trends = self._read(
            reports.trends,
            params.text("model_id"),
            params.end,
            params.integer("days"),
            self._settings.market_calendar,
        )
        return envelope(pb.GetPerformanceTrendsResponse, performance.performance_trends(trends))

    def GetPerformanceComparison(
        self, request: pb.GetPerformanceComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPerformanceComparisonResponse:
        window = self._checked(request).window()
        versions = self._read(reports.version_comparison, window)
        comparison = performance.performance_comparison(window, versions)
        return envelope(pb.GetPerformanceComparisonResponse, comparison)

    def CompareModels(
        self, request: pb.CompareModelsRequest, context: grpc.ServicerContext
    ) -> pb.CompareModelsResponse:
        params = ab_params(request, calendar=self._settings.market_calendar)
        pair = self._read(
            compare_models,
            params.text("model_a"),
            params.text("model_b"),
            params.window(),
            self._settings.hold_band,
        )
        return envelope(pb.CompareModelsResponse, performance.model_ab_comparison(pair))


def ab_params(
    request: pb.CompareModelsRequest,
    now: datetime | None = None,
    calendar: MarketCalendar = ALWAYS,
) -> Params:
    """The parameters of an A/B request: two different models (every violation listed)."""
    params = Params(request, now, calendar)
    model_a, model_b = params.text("model_a"), params.text("model_b")
    if model_a == model_b and not params.rejected("model_a"):
        params.reject("model_b", f"must differ from model_a (both are {quoted(model_a)})")
    params.check()
    return params
