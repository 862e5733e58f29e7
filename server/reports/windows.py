"""Every metric of one model's window (rolling metrics, accuracy), and of all models (summary)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics import (
    ActionStats,
    Calibration,
    ClassificationReport,
    LatencyStats,
    MarketCalendar,
    RiskMetrics,
    TradingMetrics,
    action_stats,
    classification_report,
    confidence_calibration,
    latency_stats,
    risk_metrics,
    trading_metrics,
)
from server.db import Connection
from server.domain import DriftThresholds, Evaluation, TimeRange
from server.reports.drift import DriftReport, drift_report
from server.reports.outcomes import evaluate
from server.repositories import predictions as predictions_repo
from server.repositories.models import require_model, seen_models


@dataclass(frozen=True, slots=True)
class Analysis:
    """Every number of one model's window (docs/DEFINITIONS.md#rolling-metrics), computed once."""

    evaluation: Evaluation
    report: ClassificationReport  # over the resolved predictions
    by_action: tuple[ActionStats, ...]  # over all predictions
    trading: TradingMetrics  # over the non-NULL rewards, in time order
    risk: RiskMetrics  # the same rewards (docs/DEFINITIONS.md#risk-metrics)
    latency: LatencyStats | None
    calibration: Calibration  # over the resolved predictions' confidences

    @property
    def data_points(self) -> int:
        return len(self.evaluation.predictions)

    @property
    def pending(self) -> int:
        return self.data_points - self.report.resolved


def analyze(evaluation: Evaluation) -> Analysis:
    """Classification, per-action, trading, risk, latency and calibration metrics of evaluated
    predictions."""
    p = evaluation.predictions
    resolved = evaluation.resolved
    return Analysis(
        evaluation=evaluation,
        report=classification_report(
            p.action[resolved], evaluation.actual_action[resolved], p.action_raw[resolved]
        ),
        by_action=action_stats(p.action, p.confidence, p.reward, evaluation.correct, resolved),
        trading=trading_metrics(p.reward),
        risk=risk_metrics(p.reward),
        latency=latency_stats(p.latency_ms),
        calibration=confidence_calibration(p.confidence[resolved], evaluation.correct[resolved]),
    )


@dataclass(frozen=True, slots=True)
class ModelWindow:
    """One model's analysed window."""

    model_id: str
    model_version: str  # the latest in the window; "" without rows
    window: TimeRange
    hold_band: float
    analysis: Analysis


@dataclass(frozen=True, slots=True)
class Summary:
    """Every model seen in the last 7 days, over one window, and their averages."""

    window: TimeRange
    models: list[ModelWindow]
    with_data: int  # models with at least one prediction in the window
    total_predictions: int
    avg_accuracy: float  # means over the models with data; 0 without any
    avg_sharpe_ratio: float
    avg_win_rate: float


def model_windows(
    conn: Connection, model_ids: list[str], window: TimeRange, hold_band: float
) -> list[ModelWindow]:
    """Every model's window from one fetch (the same three queries for 1 or 100 models)."""
    data = predictions_repo.fetch_window(conn, model_ids, window)
    evaluation = evaluate(data.predictions, data.bars, window.end, hold_band)
    rows = data.predictions.by_model(len(model_ids))
    return [
        ModelWindow(model_id, version, window, hold_band, analyze(evaluation.take(part)))
        for model_id, version, part in zip(model_ids, data.versions, rows, strict=True)
    ]


def model_window(
    conn: Connection, model_id: str, window: TimeRange, hold_band: float
) -> ModelWindow:
    """One model's window; ModelNotFound if the model has no rows at all (not just here)."""
    [result] = model_windows(conn, [model_id], window, hold_band)
    if not result.analysis.data_points:
        require_model(conn, model_id)
    return result


def summary(
    conn: Connection, window: TimeRange, hold_band: float, calendar: MarketCalendar
) -> Summary:
    """The window of every model seen in the 7 trading days before its end."""
    models = model_windows(conn, seen_models(conn, window.end, calendar), window, hold_band)
    with_data = [m.analysis for m in models if m.analysis.data_points]

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else 0.0

    return Summary(
        window=window,
        models=models,
        with_data=len(with_data),
        total_predictions=sum(a.data_points for a in with_data),
        avg_accuracy=mean([a.report.accuracy for a in with_data]),
        avg_sharpe_ratio=mean([a.trading.sharpe_ratio for a in with_data]),
        avg_win_rate=mean([a.trading.win_rate for a in with_data]),
    )


@dataclass(frozen=True, slots=True)
class ModelOverview:
    """One model's window and its drift at the end of it (default drift windows)."""

    window: ModelWindow
    drift: DriftReport


def model_overview(
    conn: Connection,
    model_id: str,
    window: TimeRange,
    hold_band: float,
    thresholds: DriftThresholds,
    *,
    window_hours: int,
    baseline_days: int,
    calendar: MarketCalendar,
) -> ModelOverview:
    """Rolling metrics and accuracy over ``window``, and drift at its end over the given drift
    windows."""
    return ModelOverview(
        model_window(conn, model_id, window, hold_band),
        drift_report(
            conn,
            model_id,
            window.end,
            window_hours=window_hours,
            baseline_days=baseline_days,
            thresholds=thresholds,
            hold_band=hold_band,
            calendar=calendar,
        ),
    )
