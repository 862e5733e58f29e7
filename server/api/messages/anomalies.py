"""Messages of ``anomaly_service.proto``."""

from __future__ import annotations

from mlanalytics.v1 import anomaly_service_pb2 as pb
from server.api.convert import finite, timestamp
from server.api.messages.fields import window_fields
from server.reports.anomalies import ModelAnomalies


def model_anomalies(report: ModelAnomalies) -> pb.ModelAnomalies:
    return pb.ModelAnomalies(
        model_id=report.model_id,
        **window_fields(report.window),
        data_points=report.data_points,
        signals=list(report.signals),
        change_points=[
            pb.ChangePoint(
                signal=c.signal,
                at=timestamp(c.at),
                before_mean=c.before_mean,
                after_mean=c.after_mean,
                shift=finite(c.shift),
                detector=c.detector,
                detected_at=timestamp(c.detected_at),
            )
            for c in report.detection.change_points
        ],
        anomalies=[
            pb.Anomaly(
                timestamp=timestamp(a.timestamp),
                signal=a.signal,
                value=a.value,
                expected=a.expected,
                score=a.score,
                detector=a.detector,
            )
            for a in report.detection.anomalies
        ],
        reference_start=timestamp(report.reference_start),
    )
