"""DriftService: drift status and per-feature drift of one model."""

from __future__ import annotations

import grpc
from psycopg_pool import ConnectionPool

from mlanalytics.v1 import common_pb2, drift_service_pb2, drift_service_pb2_grpc
from server.config import Settings
from server.convert import envelope
from server.db import connection
from server.drift import DEFAULT_BASELINE_DAYS, DEFAULT_WINDOW_HOURS, DriftThresholds, drift_report
from server.validation import Params

pb = drift_service_pb2


class DriftServicer(drift_service_pb2_grpc.DriftServiceServicer):
    """Is a model's input data drifting away from what it saw before?"""

    def __init__(self, pool: ConnectionPool, settings: Settings) -> None:
        self._pool = pool
        self._hold_band = settings.hold_band
        self._thresholds = DriftThresholds(
            settings.drift_warning_threshold, settings.drift_critical_threshold
        )

    def _report(
        self, request: pb.GetDriftStatusRequest | pb.GetDriftFeaturesRequest
    ) -> common_pb2.DriftReport:
        params = Params()
        model_id = params.model_id(request.model_id)
        end = params.end_time(request.end_time)
        window_hours = params.integer(request, "window_hours", DEFAULT_WINDOW_HOURS, 1, 168)
        baseline_days = params.integer(request, "baseline_days", DEFAULT_BASELINE_DAYS, 1, 30)
        params.check()
        with connection(self._pool) as conn:
            return drift_report(
                conn,
                model_id,
                end,
                window_hours=window_hours,
                baseline_days=baseline_days,
                thresholds=self._thresholds,
                hold_band=self._hold_band,
            )

    def GetDriftStatus(
        self, request: pb.GetDriftStatusRequest, context: grpc.ServicerContext
    ) -> pb.GetDriftStatusResponse:
        return envelope(pb.GetDriftStatusResponse, self._report(request))

    def GetDriftFeatures(
        self, request: pb.GetDriftFeaturesRequest, context: grpc.ServicerContext
    ) -> pb.GetDriftFeaturesResponse:
        report = self._report(request)
        checked = [f for f in report.feature_details if f.status != "skipped"]
        skipped = [f for f in report.feature_details if f.status == "skipped"]
        checked.sort(key=lambda f: -f.drift_score)  # stable: schema order among equals
        return envelope(
            pb.GetDriftFeaturesResponse,
            pb.DriftFeatures(
                model_id=report.model_id,
                overall_status=report.status,
                reason=report.reason if report.HasField("reason") else None,
                total_features=len(report.feature_details),
                drifted_count=len(report.features_drifted),
                checked_count=report.features_checked,
                features=checked + skipped,
                recent=report.recent,
                baseline=report.baseline,
                window_hours=report.window_hours,
                baseline_days=report.baseline_days,
                warning_threshold=report.warning_threshold,
                last_check=report.last_check,
            ),
        )
