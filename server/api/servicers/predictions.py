"""PredictionService: accuracy, history and comparison of one model's predictions."""

from __future__ import annotations

import grpc

from mlanalytics.v1 import prediction_service_pb2 as pb
from mlanalytics.v1 import prediction_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages import common, predictions
from server.api.servicers.base import DataServicer
from server.api.validation import HISTORY_DEFAULT_SPAN, model_window
from server.domain import TimeRange
from server.reports import windows
from server.reports.predictions import history_page, recent_comparison


class PredictionServicer(DataServicer, prediction_service_pb2_grpc.PredictionServiceServicer):
    """Predictions against their actual next-bar outcomes."""

    def GetPredictionAccuracy(
        self, request: pb.GetPredictionAccuracyRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionAccuracyResponse:
        model_id, window = model_window(
            request.model_id, request.window, request.end_time, self._settings.market_calendar
        )
        model = self._read(windows.model_window, model_id, window, self._settings.hold_band)
        return envelope(pb.GetPredictionAccuracyResponse, common.accuracy_report(model))

    def GetPredictionHistory(
        self, request: pb.GetPredictionHistoryRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionHistoryResponse:
        params = self._params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        default_start = params.calendar.trading_window_start(end, HISTORY_DEFAULT_SPAN)
        start = params.time("start_time", request.start_time, default_start)
        page = params.integer(request, "page")
        page_size = params.integer(request, "page_size")
        if start > end:
            params.reject("start_time", "must not be after end_time")
        params.check()
        history = self._read(
            history_page,
            model_id,
            TimeRange(start, end),
            page=page,
            page_size=page_size,
            hold_band=self._settings.hold_band,
        )
        return envelope(pb.GetPredictionHistoryResponse, predictions.prediction_history(history))

    def GetPredictionComparison(
        self, request: pb.GetPredictionComparisonRequest, context: grpc.ServicerContext
    ) -> pb.GetPredictionComparisonResponse:
        params = self._params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        limit = params.integer(request, "limit")
        params.check()
        comparison = self._read(
            recent_comparison, model_id, end, limit=limit, hold_band=self._settings.hold_band
        )
        return envelope(
            pb.GetPredictionComparisonResponse, predictions.prediction_comparison(comparison)
        )
