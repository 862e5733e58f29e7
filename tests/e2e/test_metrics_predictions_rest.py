"""The six Metrics/Prediction paths through the real Envoy: envelope, names, JSON types, errors."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from conftest import END, END_TIME
from restclient import Rest
from rows import Rows

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$|^@type$")


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


def _keys(value: Any) -> list[str]:
    """Every key of every object in a JSON document."""
    if isinstance(value, dict):
        return list(value) + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def _ok(rest: Rest, path: str) -> dict[str, Any]:
    reply = rest.get(path)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert body["success"] is True
    datetime.fromisoformat(body["timestamp"])
    assert all(SNAKE.match(k) for k in _keys(body)), "every field name is snake_case"
    assert "NaN" not in reply.body.decode()
    assert "Infinity" not in reply.body.decode()
    return body["data"]  # type: ignore[no-any-return]


def test_summary(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/metrics/summary?end_time={END_TIME}")
    assert body["total_models"] == 1
    [model] = body["models"]
    assert model["model_id"] == "ppo_lstm_v3.2"
    assert isinstance(model["data_points"], int)
    assert body["aggregate"]["models_with_data"] == 1


def test_rolling(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/metrics/rolling?model_id=ppo_lstm_v3.2&window=7d&end_time={END_TIME}")
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
    body = _ok(rest, f"/api/metrics/model/ppo_lstm_v3.2?window=24h&end_time={END_TIME}")
    assert body["rolling"]["data_points"] == body["accuracy"]["total_predictions"] == 30


def test_accuracy(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/predictions/accuracy?model_id=ppo_lstm_v3.2&end_time={END_TIME}")
    assert body["total_predictions"] == 30
    assert isinstance(body["correct_predictions"], int)
    assert [row["predicted"] for row in body["confusion_matrix"]] == ["LONG", "SHORT", "HOLD"]
    assert {"action", "count", "avg_confidence", "success_rate"} <= set(body["by_action"][0])


def test_history(data: Rows, rest: Rest) -> None:
    body = _ok(
        rest,
        f"/api/predictions/history?model_id=ppo_lstm_v3.2&page=2&page_size=7&end_time={END_TIME}",
    )
    assert (body["total"], body["total_pages"], body["page"]) == (30, 5, 2)
    assert len(body["predictions"]) == 7
    first = body["predictions"][0]
    assert isinstance(first["inference_id"], str)  # int64: a JSON string in proto3 JSON
    assert first["status"] in ("resolved", "pending")


def test_comparison(data: Rows, rest: Rest) -> None:
    body = _ok(
        rest, f"/api/predictions/comparison?model_id=ppo_lstm_v3.2&limit=5&end_time={END_TIME}"
    )
    assert body["count"] == 5
    assert len(body["comparisons"]) == 5


def test_known_model_with_empty_window(data: Rows, rest: Rest) -> None:
    body = _ok(
        rest, "/api/metrics/rolling?model_id=ppo_lstm_v3.2&window=1h&end_time=2026-03-01T00:00:00Z"
    )
    assert body["data_points"] == 0
    assert "profit_factor" not in body["metrics"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/metrics/rolling?model_id=ppo_lstm_v3.2&window=2h", "window"),
        ("/api/metrics/rolling?window=24h", "model_id"),
        ("/api/metrics/model/ppo_lstm_v3.2?window=1w", "window"),
        ("/api/predictions/accuracy?model_id=ppo_lstm_v3.2&end_time=yesterday", "end_time"),
        ("/api/predictions/history?model_id=ppo_lstm_v3.2&page_size=5000", "page_size"),
        ("/api/predictions/history?model_id=ppo_lstm_v3.2&page=0", "page"),
        ("/api/predictions/comparison?model_id=ppo_lstm_v3.2&limit=0", "limit"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(rest: Rest, path: str, parameter: str) -> None:
    reply = rest.get(path)
    assert reply.status == 400, reply.body
    body = reply.json()
    assert body["code"] == 3
    assert parameter in body["message"]
    violations = body["details"][0]["field_violations"]
    assert parameter in [v["field"] for v in violations]


@pytest.mark.parametrize(
    "path",
    [
        "/api/metrics/rolling?model_id=nobody",
        "/api/metrics/model/nobody",
        "/api/predictions/accuracy?model_id=nobody",
        "/api/predictions/history?model_id=nobody",
        "/api/predictions/comparison?model_id=nobody",
    ],
)
def test_unknown_model_is_404(data: Rows, rest: Rest, path: str) -> None:
    reply = rest.get(path)
    assert reply.status == 404
    assert reply.json()["code"] == 5
    assert "nobody" in reply.json()["message"]
