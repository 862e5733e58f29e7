"""Messages of ``prediction_service.proto``."""

from __future__ import annotations

from typing import Any

from mlanalytics.v1 import prediction_service_pb2 as pb
from server.api.convert import timestamp
from server.reports.predictions import GradedRow, HistoryPage, RecentComparison


def prediction_history(page: HistoryPage) -> pb.PredictionHistory:
    summary = page.summary
    return pb.PredictionHistory(
        model_id=page.model_id,
        start_time=timestamp(page.span.start),
        end_time=timestamp(page.span.end),
        page=page.page,
        page_size=page.page_size,
        total=page.total,
        total_pages=page.total_pages,
        predictions=[_record(g) for g in page.rows],
        page_summary=pb.PageSummary(
            count=summary.count,
            resolved=summary.resolved,
            correct=summary.correct,
            accuracy=summary.accuracy,
            avg_confidence=summary.avg_confidence,
            avg_reward=summary.avg_reward,
            avg_latency_ms=summary.avg_latency_ms,
        ),
    )


def prediction_comparison(comparison: RecentComparison) -> pb.PredictionComparison:
    return pb.PredictionComparison(
        model_id=comparison.model_id,
        limit=comparison.limit,
        end_time=timestamp(comparison.end),
        count=len(comparison.rows),
        resolved=comparison.resolved,
        correct=comparison.correct,
        accuracy=comparison.accuracy,
        mean_abs_signal_error=comparison.mean_abs_signal_error,
        comparisons=[_comparison_entry(g) for g in comparison.rows],
    )


def _record(graded: GradedRow) -> pb.PredictionRecord:
    row = graded.row
    return pb.PredictionRecord(
        **_graded_fields(graded),
        model_version=row.model_version,
        fold_id=row.fold_id,
        symbol=row.symbol,
        action=row.action,
        close_price=row.close_price,
        position_before=row.position_before,
        position_after=row.position_after,
        reward=row.reward,
        latency_ms=row.latency_ms,
        was_profitable=None if row.reward is None else row.reward > 0,
    )


def _comparison_entry(graded: GradedRow) -> pb.ComparisonEntry:
    outcome = graded.outcome
    return pb.ComparisonEntry(
        **_graded_fields(graded),
        predicted_action=graded.row.action,
        ideal_signal=None if outcome is None else outcome.ideal_signal,
        signal_error=graded.signal_error,
    )


def _graded_fields(graded: GradedRow) -> dict[str, Any]:
    """What PredictionRecord and ComparisonEntry both say of a prediction: which one, how sure it
    was, and how it turned out (the outcome's fields absent while it is pending)."""
    row, outcome = graded.row, graded.outcome
    return {
        "inference_id": row.inference_id,
        "timestamp": timestamp(row.timestamp_utc),
        "action_raw": row.action_raw,
        "confidence": row.confidence,
        "status": graded.status,
        "actual_return": None if outcome is None else outcome.actual_return,
        "actual_action": None if outcome is None else outcome.actual_action,
        "was_correct": graded.was_correct,
    }
