"""Messages of ``version_service.proto``."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from analytics import VersionSide
from mlanalytics.v1 import version_service_pb2 as pb
from server.api.convert import finite, timestamp
from server.api.messages.performance import difference_test_fields
from server.reports.versions import VersionTimeline, VersionVerdict


def model_versions(timeline: VersionTimeline) -> pb.ModelVersions:
    return pb.ModelVersions(
        model_id=timeline.model_id,
        current_version=timeline.current_version,
        end_time=timestamp(timeline.end),
        versions=[
            pb.ModelVersion(
                version=v.summary.version,
                first_seen=timestamp(v.summary.first_seen),
                last_seen=timestamp(v.summary.last_seen),
                predictions=v.summary.predictions,
                trades=v.summary.trades,
                total_reward=v.summary.total_reward,
                win_rate=v.win_rate,
                sharpe_ratio=v.sharpe_ratio,
                avg_latency_ms=finite(v.summary.avg_latency_ms),
            )
            for v in timeline.versions
        ],
    )


def model_version_comparison(verdict: VersionVerdict) -> pb.ModelVersionComparison:
    comparison = verdict.comparison
    baseline = None
    if verdict.baseline is not None and comparison.baseline is not None:
        baseline = _bars(verdict.baseline, comparison.baseline, verdict.baseline_first_seen)
    return pb.ModelVersionComparison(
        model_id=verdict.model_id,
        method=comparison.method,
        baseline=baseline,
        candidate=_bars(verdict.candidate, comparison.candidate, verdict.candidate_first_seen),
        common_bars=comparison.common_bars,
        **difference_test_fields(comparison.test),
        min_bars=verdict.min_bars,
        significance_level=verdict.significance_level,
        baseline_days=verdict.baseline_days,
        end_time=timestamp(verdict.end),
        baseline_start=_instant(verdict.baseline_start),
    )


def _bars(version: str, side: VersionSide, first_seen: datetime | None) -> pb.VersionBars:
    return pb.VersionBars(
        version=version,
        data_points=side.data_points,
        mean_reward=finite(side.mean_reward),
        sharpe_ratio=side.sharpe_ratio,
        win_rate=side.win_rate,
        first_seen=_instant(first_seen),
    )


def _instant(moment: datetime | None) -> Timestamp | None:
    return None if moment is None else timestamp(moment)
