"""The six Metrics/Prediction paths through the real Envoy: envelope, names, JSON types.

Their error replies are checked with every other path's in test_envoy_rest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import END, END_TIME
from restclient import Rest
from rows import Rows


@pytest.fixture
def data(rows: Rows) -> Rows:
    rows.bars(END - timedelta(hours=3), [4000.0 + i for i in range(36)])
    for i in range(30):  # every 5 minutes from END - 3 h
        at = END - timedelta(hours=3) + timedelta(minutes=5 * i, seconds=30)
        rows.inference(
            "ppo_lstm_v3.2",
            at,
            ["LONG", "SHORT", "HOLD"][i % 3],
            reward=[0.001, -0.0005, None][i % 3],
            latency_ms=25,
        )
    return rows


def test_summary(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/metrics/summary?end_time={END_TIME}").data()
    assert body["total_models"] == 1
    [model] = body["models"]
    assert model["model_id"] == "ppo_lstm_v3.2"
    assert isinstance(model["data_points"], int)
    assert body["aggregate"]["models_with_data"] == 1


def test_rolling(data: Rows, rest: Rest) -> None:
    body = rest.get(
        f"/api/metrics/rolling?model_id=ppo_lstm_v3.2&window=7d&end_time={END_TIME}"
    ).data()
    assert (body["model_id"], body["window"], body["data_points"]) == ("ppo_lstm_v3.2", "7d", 30)
    metrics = body["metrics"]
    for name in (
        "accuracy",
        "precision",
        "recall",
        "f1_score",
        "mse",
        "mae",
        "sharpe_ratio",
        "win_rate",
        "max_drawdown",
        "avg_latency_ms",
    ):
        assert isinstance(metrics[name], int | float), name
    assert isinstance(body["predictions"]["total"], int)
    assert [a["action"] for a in body["predictions"]["by_action"]] == ["LONG", "SHORT", "HOLD"]


def test_model(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/metrics/model/ppo_lstm_v3.2?window=24h&end_time={END_TIME}").data()
    assert body["rolling"]["data_points"] == body["accuracy"]["total_predictions"] == 30


def test_accuracy(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/predictions/accuracy?model_id=ppo_lstm_v3.2&end_time={END_TIME}").data()
    assert body["total_predictions"] == 30
    assert isinstance(body["correct_predictions"], int)
    assert [row["predicted"] for row in body["confusion_matrix"]] == ["LONG", "SHORT", "HOLD"]
    assert {"action", "count", "avg_confidence", "success_rate"} <= set(body["by_action"][0])


def test_history(data: Rows, rest: Rest) -> None:
    body = rest.get(
        f"/api/predictions/history?model_id=ppo_lstm_v3.2&page=2&page_size=7&end_time={END_TIME}",
    ).data()
    assert (body["total"], body["total_pages"], body["page"]) == (30, 5, 2)
    assert len(body["predictions"]) == 7
    first = body["predictions"][0]
    assert isinstance(first["inference_id"], str)  # int64: a JSON string in proto3 JSON
    assert first["status"] in ("resolved", "pending")


def test_comparison(data: Rows, rest: Rest) -> None:
    body = rest.get(
        f"/api/predictions/comparison?model_id=ppo_lstm_v3.2&limit=5&end_time={END_TIME}"
    ).data()
    assert body["count"] == 5
    assert len(body["comparisons"]) == 5


def test_known_model_with_empty_window(data: Rows, rest: Rest) -> None:
    body = rest.get(
        "/api/metrics/rolling?model_id=ppo_lstm_v3.2&window=1h&end_time=2026-03-01T00:00:00Z"
    ).data()
    assert body["data_points"] == 0
    assert "profit_factor" not in body["metrics"]
