"""A small typed use of the client; `mypy --strict` checks it in the tests (tests/e2e)."""

from __future__ import annotations

from datetime import UTC, datetime

from mlanalytics import AnalyticsClient, InvalidArgument
from mlanalytics.v1 import common_pb2


def sharpe_of(client: AnalyticsClient, model_id: str) -> float:
    rolling: common_pb2.RollingMetrics = client.rolling_metrics(
        model_id, window="7d", end_time=datetime.now(UTC)
    )
    sharpe: float = rolling.metrics.sharpe_ratio
    return sharpe


def drifting_features(client: AnalyticsClient, model_id: str) -> list[str]:
    report = client.drift_status(model_id, window_hours=24, baseline_days=7)
    return list(report.features_drifted)


def explain(client: AnalyticsClient) -> str:
    try:
        client.prediction_history("ppo_lstm_v3.2", page_size=5000)
    except InvalidArgument as error:
        return "; ".join(f"{v.field}: {v.description}" for v in error.field_violations)
    return "accepted"
