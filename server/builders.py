"""Build response messages from evaluated predictions: the analytics core's results as protos."""

from __future__ import annotations

from dataclasses import dataclass

from analytics import (
    ACTION_LABELS,
    ActionStats,
    ClassificationReport,
    LatencyStats,
    TradingMetrics,
    action_stats,
    classification_report,
    latency_stats,
    trading_metrics,
)
from mlanalytics.v1 import common_pb2
from server.convert import finite, timestamp
from server.evaluation import Evaluation
from server.validation import Window


@dataclass(frozen=True, slots=True)
class Analysis:
    """Every SPEC section 4 number of one model's window, computed once."""

    evaluation: Evaluation
    report: ClassificationReport  # over the resolved predictions
    by_action: tuple[ActionStats, ...]  # over all predictions
    trading: TradingMetrics  # over the non-NULL rewards, in time order
    latency: LatencyStats | None

    @property
    def data_points(self) -> int:
        return len(self.evaluation.predictions)

    @property
    def pending(self) -> int:
        return self.data_points - self.report.resolved


def analyze(evaluation: Evaluation) -> Analysis:
    """Classification, per-action, trading and latency metrics of evaluated predictions."""
    p = evaluation.predictions
    resolved = evaluation.resolved
    return Analysis(
        evaluation=evaluation,
        report=classification_report(
            p.action[resolved], evaluation.actual_action[resolved], p.action_raw[resolved]
        ),
        by_action=action_stats(p.action, p.confidence, p.reward, evaluation.correct, resolved),
        trading=trading_metrics(p.reward),
        latency=latency_stats(p.latency_ms),
    )


def action_breakdown(analysis: Analysis) -> list[common_pb2.ActionBreakdown]:
    """One entry per action (LONG, SHORT, HOLD): counts, success rate, per-class metrics."""
    return [
        common_pb2.ActionBreakdown(
            action=stats.label,
            count=stats.count,
            resolved=stats.resolved,
            correct=stats.correct,
            avg_confidence=stats.avg_confidence,
            success_rate=stats.success_rate,
            avg_reward=finite(stats.avg_reward),
            precision=metrics.precision,
            recall=metrics.recall,
            f1_score=metrics.f1_score,
            support=metrics.support,
        )
        for stats, metrics in zip(analysis.by_action, analysis.report.per_class, strict=True)
    ]


def confusion_matrix(report: ClassificationReport) -> list[common_pb2.ConfusionMatrixRow]:
    """Rows LONG, SHORT, HOLD (predicted), counted by actual action."""
    matrix = report.confusion_matrix
    return [
        common_pb2.ConfusionMatrixRow(
            predicted=label,
            actual_long=int(matrix[i][0]),
            actual_short=int(matrix[i][1]),
            actual_hold=int(matrix[i][2]),
        )
        for i, label in enumerate(ACTION_LABELS)
    ]


def performance_metrics(analysis: Analysis) -> common_pb2.PerformanceMetrics:
    report, trading, latency = analysis.report, analysis.trading, analysis.latency
    return common_pb2.PerformanceMetrics(
        accuracy=report.accuracy,
        precision=report.precision,
        recall=report.recall,
        f1_score=report.f1_score,
        mse=report.mse,
        mae=report.mae,
        sharpe_ratio=trading.sharpe_ratio,
        sortino_ratio=trading.sortino_ratio,
        profit_factor=finite(trading.profit_factor),
        win_rate=trading.win_rate,
        max_drawdown=trading.max_drawdown,
        total_return=trading.total_return,
        avg_return=trading.avg_return,
        std_return=trading.std_return,
        reward_count=trading.count,
        avg_latency_ms=latency.mean if latency else None,
        p50_latency_ms=latency.p50 if latency else None,
        p95_latency_ms=latency.p95 if latency else None,
        p99_latency_ms=latency.p99 if latency else None,
    )


def rolling_metrics(
    model_id: str, model_version: str, window: Window, analysis: Analysis, hold_band: float
) -> common_pb2.RollingMetrics:
    report = analysis.report
    return common_pb2.RollingMetrics(
        model_id=model_id,
        model_version=model_version,
        window=window.name,
        start_time=timestamp(window.start),
        end_time=timestamp(window.end),
        data_points=analysis.data_points,
        resolved_predictions=report.resolved,
        pending_predictions=analysis.pending,
        hold_band=hold_band,
        metrics=performance_metrics(analysis),
        predictions=common_pb2.PredictionCounts(
            total=analysis.data_points,
            correct=report.correct,
            incorrect=report.resolved - report.correct,
            pending=analysis.pending,
            by_action=action_breakdown(analysis),
        ),
    )


def accuracy_report(
    model_id: str, window: Window, analysis: Analysis, hold_band: float
) -> common_pb2.AccuracyReport:
    report = analysis.report
    return common_pb2.AccuracyReport(
        model_id=model_id,
        window=window.name,
        start_time=timestamp(window.start),
        end_time=timestamp(window.end),
        hold_band=hold_band,
        total_predictions=analysis.data_points,
        resolved_predictions=report.resolved,
        correct_predictions=report.correct,
        incorrect_predictions=report.resolved - report.correct,
        pending_predictions=analysis.pending,
        accuracy=report.accuracy,
        precision=report.precision,
        recall=report.recall,
        f1_score=report.f1_score,
        mse=report.mse,
        mae=report.mae,
        by_action=action_breakdown(analysis),
        confusion_matrix=confusion_matrix(report),
    )
