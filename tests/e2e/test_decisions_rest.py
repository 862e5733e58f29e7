"""Risk metrics, calibration and the A/B comparison through the real Envoy: the JSON a dashboard
reads (docs/DEFINITIONS.md#risk-metrics, #confidence-calibration, #model-ab)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from restclient import Rest
from rows import Rows

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WHEN = "end_time=2026-03-02T12:00:00Z"
FIVE = timedelta(minutes=5)
RISK = {"calmar_ratio", "var_95", "cvar_95", "tail_ratio", "probabilistic_sharpe"}


@pytest.fixture
def pair(rows: Rows) -> Rows:
    """Bars, and models on 40 common bars: "better" earns about 0.001 more per bar than "worse";
    "quiet" has rows without rewards."""
    rng = np.random.default_rng(5)
    first = END - 40 * FIVE
    rows.bars(first - FIVE, [4000.0 * (1 + 0.001 * (i % 3 - 1)) for i in range(41)])
    for i in range(40):
        market = float(rng.normal(0, 2e-3))
        at = first + i * FIVE + timedelta(seconds=20)
        edge = 1e-3 + float(rng.normal(0, 5e-4))
        rows.inference("better", at, "LONG", confidence=0.75, reward=market + edge)
        rows.inference("worse", at, "SHORT", confidence=0.35, reward=market)
        rows.inference("quiet", at, "HOLD", confidence=0.5)
    return rows


def test_ab_json(pair: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/performance/ab?model_a=worse&model_b=better&{WHEN}").data()
    assert body["verdict"] == "model_b"
    assert (body["window"], body["end_time"]) == ("7d", "2026-03-02T12:00:00Z")
    assert body["common_bars"] == 40
    assert isinstance(body["min_common_bars"], int)
    ci = body["difference_ci95"]
    assert ci["lower"] < body["mean_difference"] < ci["upper"] < 0
    assert -1.5e-3 < body["mean_difference"] < -0.5e-3  # 40 draws of -0.001 +- 0.0005
    assert 0 <= body["p_value"] < 1e-6
    for side, model_id in (("model_a", "worse"), ("model_b", "better")):
        assert body[side]["model_id"] == model_id
        assert body[side]["data_points"] == 40
        assert isinstance(body[side]["data_points"], int)
        assert body[side]["probabilistic_sharpe"] == body[side]["metrics"]["probabilistic_sharpe"]
        assert body[side]["metrics"].keys() >= RISK


def test_absent_values_are_left_out_not_null(pair: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/performance/ab?model_a=better&model_b=quiet&window=24h&{WHEN}").data()
    assert (body["common_bars"], body["verdict"]) == (0, "insufficient_data")
    for key in ("mean_difference", "difference_ci95", "p_value"):
        assert key not in body, key
    assert "probabilistic_sharpe" not in body["model_b"]
    assert not RISK & body["model_b"]["metrics"].keys()  # no reward: no risk number at all
    assert body["model_b"]["metrics"]["reward_count"] == 0
    assert b"NaN" not in rest.get(f"/api/metrics/rolling?model_id=quiet&{WHEN}").body


def test_calibration_json(pair: Rows, rest: Rest) -> None:
    body = rest.get(f"/api/predictions/accuracy?model_id=better&window=1h&{WHEN}").data()
    calibration = body["calibration"]
    # 12 predictions in the hour, the last one pending (no bar after it).
    assert (calibration["count"], calibration["excluded"]) == (11, 0)
    [only] = calibration["reliability"]
    assert only.keys() == {"lower", "upper", "count", "mean_confidence", "accuracy"}
    assert (only["lower"], only["upper"], only["count"]) == (0.7, 0.8, 11)
    assert only["mean_confidence"] == pytest.approx(0.75, rel=1e-12)
    accuracy = body["correct_predictions"] / body["resolved_predictions"]
    assert only["accuracy"] == pytest.approx(accuracy, rel=1e-12)
    assert calibration["expected_calibration_error"] == pytest.approx(abs(accuracy - 0.75))


def test_calibration_without_resolved_predictions(rows: Rows, rest: Rest) -> None:
    rows.inference("fresh", END - timedelta(minutes=2), "LONG", confidence=0.9)
    body = rest.get(f"/api/predictions/accuracy?model_id=fresh&window=1h&{WHEN}").data()
    assert body["calibration"] == {"count": 0, "excluded": 0, "reliability": []}


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("model_b=better", "model_a"),
        ("model_a=better", "model_b"),
        ("model_a=better&model_b=better", "model_b"),
        ("model_a=better&model_b=worse&window=2h", "window"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(rest: Rest, query: str, parameter: str) -> None:
    reply = rest.get(f"/api/performance/ab?{query}")
    assert reply.status == 400, reply.body
    body = reply.json()
    assert body["code"] == 3
    assert body["message"].startswith(f"invalid request: {parameter}: "), body["message"]
    [violation] = body["details"][0]["field_violations"]
    assert violation["field"] == parameter


def test_unknown_model_is_404(pair: Rows, rest: Rest) -> None:
    reply = rest.get("/api/performance/ab?model_a=better&model_b=nobody")
    assert reply.status == 404
    assert reply.json()["code"] == 5
    assert "'nobody'" in reply.json()["message"]
