"""Messages of ``common.proto``, shared by several services."""

from __future__ import annotations

from typing import Any

from analytics import ACTION_LABELS, Calibration, ClassificationReport, FeatureDrift
from mlanalytics.v1 import common_pb2
from server.api.convert import finite, timestamp
from server.api.messages.fields import window_fields
from server.reports.drift import DriftReport, DriftSide
from server.reports.health import MarketState, ModelHealth
from server.reports.windows import Analysis, ModelWindow


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
    risk = analysis.risk
    return common_pb2.PerformanceMetrics(
        **_classification_scores(report),
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
        calmar_ratio=finite(risk.calmar_ratio),
        var_95=finite(risk.var_95),
        cvar_95=finite(risk.cvar_95),
        tail_ratio=finite(risk.tail_ratio),
        probabilistic_sharpe=finite(risk.probabilistic_sharpe),
    )


def confidence_calibration(calibration: Calibration) -> common_pb2.ConfidenceCalibration:
    """Brier score, ECE and the reliability bins; only the counts when nothing is usable."""
    return common_pb2.ConfidenceCalibration(
        brier_score=finite(calibration.brier_score),
        expected_calibration_error=finite(calibration.expected_calibration_error),
        reliability=[
            common_pb2.ReliabilityBin(
                lower=b.lower,
                upper=b.upper,
                count=b.count,
                mean_confidence=b.mean_confidence,
                accuracy=b.accuracy,
            )
            for b in calibration.reliability
        ],
        count=calibration.count,
        excluded=calibration.excluded,
    )


def _classification_scores(report: ClassificationReport) -> dict[str, Any]:
    """The overall scores of a report, as PerformanceMetrics and AccuracyReport both name them."""
    return {
        "accuracy": report.accuracy,
        "precision": report.precision,
        "recall": report.recall,
        "f1_score": report.f1_score,
        "mse": report.mse,
        "mae": report.mae,
    }


def _window_fields(model: ModelWindow) -> dict[str, Any]:
    """The fields that say which model and window a message is about."""
    return {
        "model_id": model.model_id,
        **window_fields(model.window),
        "hold_band": model.hold_band,
    }


def rolling_metrics(model: ModelWindow) -> common_pb2.RollingMetrics:
    analysis = model.analysis
    report = analysis.report
    return common_pb2.RollingMetrics(
        **_window_fields(model),
        model_version=model.model_version,
        data_points=analysis.data_points,
        resolved_predictions=report.resolved,
        pending_predictions=analysis.pending,
        metrics=performance_metrics(analysis),
        predictions=common_pb2.PredictionCounts(
            total=analysis.data_points,
            correct=report.correct,
            incorrect=report.resolved - report.correct,
            pending=analysis.pending,
            by_action=action_breakdown(analysis),
        ),
    )


def accuracy_report(model: ModelWindow) -> common_pb2.AccuracyReport:
    analysis = model.analysis
    report = analysis.report
    return common_pb2.AccuracyReport(
        **_window_fields(model),
        total_predictions=analysis.data_points,
        resolved_predictions=report.resolved,
        correct_predictions=report.correct,
        incorrect_predictions=report.resolved - report.correct,
        pending_predictions=analysis.pending,
        **_classification_scores(report),
        by_action=action_breakdown(analysis),
        confusion_matrix=confusion_matrix(report),
        calibration=confidence_calibration(analysis.calibration),
    )


def drift_window(side: DriftSide) -> common_pb2.DriftWindow:
    return common_pb2.DriftWindow(
        start_time=timestamp(side.start),
        end_time=timestamp(side.end),
        predictions=side.predictions,
        resolved=side.resolved,
    )


def feature_drift(feature: FeatureDrift) -> common_pb2.FeatureDrift:
    """A feature's drift; its statistics are absent when it was skipped."""
    counted: dict[str, Any] = {
        "feature": feature.feature,
        "recent_count": feature.recent_count,
        "baseline_count": feature.baseline_count,
    }
    if not feature.checked:
        return common_pb2.FeatureDrift(**counted, status="skipped", reason=feature.reason)
    return common_pb2.FeatureDrift(
        **counted,
        status="drifted" if feature.drifted else "stable",
        drift_score=feature.ks_statistic,
        ks_statistic=feature.ks_statistic,
        p_value=feature.p_value,
        psi=feature.psi,
        wasserstein=feature.wasserstein,
        recent_mean=feature.recent_mean,
        baseline_mean=feature.baseline_mean,
        recent_std=feature.recent_std,
        baseline_std=feature.baseline_std,
        mean_change=feature.mean_change,
        is_drifted=feature.drifted,
    )


def drift_report(report: DriftReport) -> common_pb2.DriftReport:
    concept = report.concept
    return common_pb2.DriftReport(
        model_id=report.model_id,
        status=report.verdict.status,
        reason=report.verdict.reason,
        data_drift_score=report.data.data_drift_score,
        max_feature_drift=report.data.max_feature_drift,
        concept_drift_score=concept.score,
        features_drifted=report.data.features_drifted,
        feature_details=[feature_drift(f) for f in report.data.features],
        concept_drift=common_pb2.ConceptDrift(
            score=concept.score,
            reason=concept.reason,
            recent_accuracy=concept.recent_accuracy,
            baseline_accuracy=concept.baseline_accuracy,
        ),
        recent=drift_window(report.recent),
        baseline=drift_window(report.baseline),
        window_hours=report.window_hours,
        baseline_days=report.baseline_days,
        features_checked=report.data.checked,
        warning_threshold=report.thresholds.warning,
        critical_threshold=report.thresholds.critical,
        last_check=timestamp(report.end),
    )


def market_state(market: MarketState) -> common_pb2.MarketState:
    return common_pb2.MarketState(
        calendar=market.calendar,
        open=market.open,
        last_close=None if market.last_close is None else timestamp(market.last_close),
        next_open=None if market.next_open is None else timestamp(market.next_open),
    )


def model_health(health: ModelHealth) -> common_pb2.ModelHealth:
    """A model's health; what its predictions say is absent when it has made none."""
    verdict, activity = health.assessment, health.activity
    if activity is None:
        return common_pb2.ModelHealth(
            **_health_fields(health), score_breakdown=common_pb2.HealthScoreBreakdown()
        )
    return common_pb2.ModelHealth(
        **_health_fields(health),
        model_version=activity.model_version,
        score_breakdown=common_pb2.HealthScoreBreakdown(
            win_points=verdict.win_points,
            latency_points=verdict.latency_points,
            recency_points=verdict.recency_points,
        ),
        prediction_count=activity.predictions,
        win_rate=activity.win_rate,
        avg_latency_ms=finite(activity.avg_latency_ms),
        last_prediction=timestamp(activity.last_prediction),
        minutes_since_last=health.minutes_since_last,
        market_minutes_since_last=health.market_minutes_since_last,
    )


def _health_fields(health: ModelHealth) -> dict[str, Any]:
    """What ModelHealth says of every model, whether or not it has made a prediction."""
    verdict = health.assessment
    return {
        "model_id": health.model_id,
        "status": verdict.status,
        "health_score": verdict.health_score,
        "issues": verdict.issues,
        "window_start": timestamp(health.window.start),
        "market": market_state(health.market),
    }
