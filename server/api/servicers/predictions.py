"""PredictionService: accuracy, history and comparison of one model's predictions."""

from __future__ import annotations

from datetime import timedelta

import grpc

from mlanalytics.v1 import prediction_service_pb2 as pb
from mlanalytics.v1 import prediction_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, predictions
from server.api.servicers.base import DataServicer, requested_range
from server.reports.predictions import history_page, recent_comparison

#: start_time's default: end_time - 7 days (its option's default_text says so).
HISTORY_DEFAULT_SPAN = timedelta(days=7)


class PredictionServicer(DataServicer, prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predictions against their actual next-bar outcomes."""

    def GetPredictionAccuracy(
        self, request: pb.GetPredictionAccuracyRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionAccuracyResponse:
        model = self._model_window(request)
        return envelope(pb.GetPredictionAccuracyResponse, common.accuracy_report(model))

    def GetPredictionHistory(
        self, request: pb.GetPredictionHistoryRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionHistoryResponse:
        params = self._params(request)
        span = requested_range(params, HISTORY_DEFAULT_SPAN)
        params.check()
        history = self._read(
            history_page,
            params.text("model_id"),
            span,
            page=params.integer("page"),
            page_size=params.integer("page_size"),
            hold_band=self._settings.hold_band,
        )
        return envelope(pb.GetPredictionHistoryResponse, predictions.prediction_history(history))

    def GetPredictionComparison(
        self, request: pb.GetPredictionComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionComparisonResponse:
        params = self._checked(request)
        comparison = self._read(
            recent_comparison,
            params.text("model_id"),
            params.end,
            limit=params.integer("limit"),
            hold_band=self._settings.hold_band,
        )
        return envelope(
            pb.GetPredictionComparisonResponse, predictions.prediction_comparison(comparison)
        )
