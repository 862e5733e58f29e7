"""The Drift and Health paths through the real Envoy: envelope, names, JSON types.

Their error replies are checked with every other path's in test_envoy_rest.py.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from conftest import END, END_TIME
from restclient import Rest
from rows import Rows, as_datetime64, every_five_minutes, normal_features


@pytest.fixture
def data(rows: Rows) -> Rows:
    """Eight days of a model whose vix_z shifts by three standard deviations in the last day."""
    rng = np.random.default_rng(1)
    times = every_five_minutes(END, days=8)
    features = normal_features(rng, times.size)
    recent = times > as_datetime64([END - timedelta(hours=24)])[0]
    features["vix_z"] = np.where(recent, features["vix_z"] + 3, features["vix_z"])
    rows.series(
        "sac_transformer_v2.1",
        times,
        "LONG",
        {**features, "reward": rng.normal(0.0001, 0.001, times.size), "latency_ms": 30},
        action_raw=0.6,
        confidence=0.7,
    )
    return rows


def test_drift_status(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/drift/status?model_id=sac_transformer_v2.1&end_time={END_TIME}").data()
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
    body = rest.get(
        f"/api/drift/features?model_id=sac_transformer_v2.1&window_hours=12&baseline_days=3&end_time={END_TIME}",
    ).data()
    assert body["features"][0]["feature"] == "vix_z"
    assert body["features"][0]["is_drifted"] is True
    assert (body["total_features"], body["drifted_count"]) == (13, 1)
    assert (body["window_hours"], body["baseline_days"]) == (12, 3)


def test_model_health(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/health/model/sac_transformer_v2.1?end_time={END_TIME}").data()
    assert body["prediction_count"] == 288
    assert body["status"] in ("healthy", "warning", "critical")


def test_trends(data: Rows, rest: Rest) -> None:
    body = rest.get(
        f"/api/performance/trends/sac_transformer_v2.1?days=2&end_time={END_TIME}"
    ).data()
    # Clock hours: the window (END - 2 d, END] starts and ends inside an hour, so 49 buckets, the
    # first without its 12:00 row and the last with only it.
    assert len(body["buckets"]) == 49
    assert (body["buckets"][0]["predictions"], body["buckets"][-1]["predictions"]) == (11, 1)
    assert isinstance(body["buckets"][0]["predictions"], int)
    assert body["summary"]["win_rate_trend"] in ("improving", "declining", "stable")


def test_comparison(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/performance/comparison?window=7d&end_time={END_TIME}").data()
    [model] = body["models"]
    assert (model["model_id"], model["predictions"]) == ("sac_transformer_v2.1", 7 * 288)


def test_model_metrics_has_drift(data: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/metrics/model/sac_transformer_v2.1?end_time={END_TIME}").data()
    assert body["drift"]["features_drifted"] == ["vix_z"]
