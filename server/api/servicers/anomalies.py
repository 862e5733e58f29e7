"""AnomalyService: when did a model's behaviour break?"""

from __future__ import annotations

import grpc

from mlanalytics.v1 import anomaly_service_pb2 as pb
from mlanalytics.v1 import anomaly_service_pb2_grpc
from server.api.convert import envelope
from server.api.messages.anomalies import model_anomalies
from server.api.servicers.base import DataServicer
from server.reports import anomalies as reports


class AnomalyServicer(DataServicer, anomaly_service_pb2_grpc.AnomalyServiceServicer):
    """Change points and anomalies of one model's signals."""

    def GetAnomalies(
        self, request: pb.GetAnomaliesRequest, context: grpc.ServicerContext
    ) -> pb.GetAnomaliesResponse:
        report = self._read_model_window(
            request, reports.model_anomalies, self._settings.market_calendar
        )
        return envelope(pb.GetAnomaliesResponse, model_anomalies(report))
