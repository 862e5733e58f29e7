"""The Drift and Health paths through the real Envoy: envelope, JSON types, errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from analytics import FEATURES
from conftest import END, END_TIME
from restclient import Rest
from rows import Rows


@pytest.fixture
def data(rows: Rows) -> Rows:
    rng = np.random.default_rng(1)
    n = 8 * 288
    times = np.array(
        [
            (END - timedelta(days=8) + timedelta(minutes=5 * i)).replace(tzinfo=None)
            for i in range(1, n + 1)
        ],
        "datetime64[us]",
    )
    recent = times > np.datetime64((END - timedelta(hours=24)).replace(tzinfo=None))
    features = {name: rng.normal(0, 1, n) for name in FEATURES}
    features["vix_z"] = np.where(recent, features["vix_z"] + 3, features["vix_z"])
    rows.inferences(
        {
            "timestamp_utc": times,
            "model_id": ["sac_transformer_v2.1"] * n,
            "action_raw": [0.6] * n,
            "action_discretized": ["LONG"] * n,
            "confidence": [0.7] * n,
            "reward": rng.normal(0.0001, 0.001, n),
            "latency_ms": [30] * n,
            **features,
        }
    )
    return rows


def _ok(rest: Rest, path: str) -> Any:
    reply = rest.get(path)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["success"] is True
    return body["data"]


def test_drift_status(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/drift/status?model_id=sac_transformer_v2.1&end_time={END_TIME}")
    assert body["features_drifted"] == ["vix_z"]
    # One feature of 13 moved: the mean KS statistic (the status's basis) stays below 0.15.
    assert body["max_feature_drift"] > 0.8
    assert body["data_drift_score"] < 0.15
    assert body["status"] == "healthy"
    assert "concept_drift_score" not in body  # no bars, so no resolved predictions
    assert isinstance(body["recent"]["predictions"], int)
    assert len(body["feature_details"]) == 13
    assert body["last_check"] == "2026-03-02T12:00:00Z"


def test_drift_features(data: Rows, rest: Rest) -> None:
    body = _ok(
        rest,
        f"/api/drift/features?model_id=sac_transformer_v2.1&window_hours=12&baseline_days=3&end_time={END_TIME}",
    )
    assert body["features"][0]["feature"] == "vix_z"
    assert body["features"][0]["is_drifted"] is True
    assert (body["total_features"], body["drifted_count"]) == (13, 1)
    assert (body["window_hours"], body["baseline_days"]) == (12, 3)


def test_model_health(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/health/model/sac_transformer_v2.1?end_time={END_TIME}")
    assert body["prediction_count"] == 288
    assert body["status"] in ("healthy", "warning", "critical")


def test_trends(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/performance/trends/sac_transformer_v2.1?days=2&end_time={END_TIME}")
    # Clock hours: the window (END - 2 d, END] starts and ends inside an hour, so 49 buckets, the
    # first without its 12:00 row and the last with only it.
    assert len(body["buckets"]) == 49
    assert (body["buckets"][0]["predictions"], body["buckets"][-1]["predictions"]) == (11, 1)
    assert isinstance(body["buckets"][0]["predictions"], int)
    assert body["summary"]["win_rate_trend"] in ("improving", "declining", "stable")


def test_comparison(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/performance/comparison?window=7d&end_time={END_TIME}")
    [model] = body["models"]
    assert (model["model_id"], model["predictions"]) == ("sac_transformer_v2.1", 7 * 288)


def test_model_metrics_has_drift(data: Rows, rest: Rest) -> None:
    body = _ok(rest, f"/api/metrics/model/sac_transformer_v2.1?end_time={END_TIME}")
    assert body["drift"]["features_drifted"] == ["vix_z"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/api/drift/status?model_id=x&window_hours=0", "window_hours"),
        ("/api/drift/status?model_id=x&window_hours=169", "window_hours"),
        ("/api/drift/features?model_id=x&baseline_days=31", "baseline_days"),
        ("/api/performance/trends/x?days=31", "days"),
        ("/api/performance/comparison?window=2h", "window"),
        ("/api/health/model/x?end_time=now", "end_time"),
    ],
)
def test_bad_input(rest: Rest, path: str, parameter: str) -> None:
    reply = rest.get(path)
    assert reply.status == 400, reply.body
    assert parameter in reply.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/drift/status?model_id=nobody",
        "/api/drift/features?model_id=nobody",
        "/api/performance/trends/nobody",
        "/api/health/model/nobody",
    ],
)
def test_unknown_model(rows: Rows, rest: Rest, path: str) -> None:
    reply = rest.get(path)
    assert reply.status == 404
    assert reply.json()["code"] == 5
