"""Messages of ``drift_service.proto``."""

from __future__ import annotations

from mlanalytics.v1 import drift_service_pb2 as pb
from server.api.convert import timestamp
from server.api.messages.common import drift_window, feature_drift
from server.reports.drift import DriftReport


def drift_features(report: DriftReport) -> pb.DriftFeatures:
    """The report's features, most drifted first."""
    return pb.DriftFeatures(
        model_id=report.model_id,
        overall_status=report.verdict.status,
        reason=report.verdict.reason,
        total_features=len(report.data.features),
        drifted_count=len(report.data.features_drifted),
        checked_count=report.data.checked,
        features=[feature_drift(f) for f in report.features_by_drift()],
        recent=drift_window(report.recent),
        baseline=drift_window(report.baseline),
        window_hours=report.window_hours,
        baseline_days=report.baseline_days,
        warning_threshold=report.thresholds.warning,
        last_check=timestamp(report.end),
    )
