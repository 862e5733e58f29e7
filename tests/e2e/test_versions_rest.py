"""Model versions and the rollback verdict through the real Envoy, on the demo data: the JSON a
dashboard reads, the errors, the health warning and the /metrics gauge
(docs/DEFINITIONS.md#model-versions-and-the-rollback-verdict)."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.calendar import ALWAYS
from conftest import eventually
from restclient import Rest

DEMO_CALENDAR = ALWAYS  # the demo's stories in calendar time: 2 days of td3's worse version
WORSE = "td3_ensemble_v1.0"
CANARIED = "ppo_lstm_v3.2"


@pytest.fixture(scope="module")
def when(demo: datetime) -> str:
    return demo.isoformat().replace("+00:00", "Z")


def test_the_timeline(rest: Rest, when: str) -> None:
    data = rest.get(f"/api/models/{CANARIED}/versions?end_time={when}").data()
    assert data["model_id"] == CANARIED
    assert data["current_version"] == "3.2.1"
    versions = data["versions"]
    assert [v["version"] for v in versions] == ["3.2.0", "3.2.1", "3.3.0"]
    for v in versions:
        assert isinstance(v["predictions"], int)
        assert isinstance(v["trades"], int)
        assert 0 < v["trades"] <= v["predictions"]
        assert v["first_seen"] <= v["last_seen"]
        assert 0 <= v["win_rate"] <= 1


def test_a_worse_version_is_a_rollback(rest: Rest, when: str) -> None:
    data = rest.get(f"/api/models/{WORSE}/versions/compare?end_time={when}").data()
    assert (data["method"], data["verdict"]) == ("welch", "rollback")
    assert (data["baseline"]["version"], data["candidate"]["version"]) == ("1.0.2", "1.0.3")
    ci = data["difference_ci95"]
    assert ci["lower"] < data["mean_difference"] < ci["upper"] < 0
    assert data["p_value"] < 0.05
    assert (data["min_bars"], data["significance_level"], data["baseline_days"]) == (30, 0.05, 7)
    assert isinstance(data["common_bars"], int)
    assert data["common_bars"] == 0
    # The warning in health, and the gauge.
    health = rest.get(f"/api/health/model/{WORSE}?end_time={when}").data()
    assert [i for i in health["issues"] if i.startswith("rollback: version 1.0.3")]
    # The scrape reads the shared evaluations, refreshed every few seconds.
    flags = (
        f'mlanalytics_model_rollback{{model_id="{WORSE}"}} 1.0',
        f'mlanalytics_model_rollback{{model_id="{CANARIED}"}} 0.0',
    )
    eventually(
        lambda: all(flag in rest.get("/metrics").body.decode() for flag in flags),
        timeout=30,
        what="the rollback gauges",
    )


def test_a_canary_is_paired(rest: Rest, when: str) -> None:
    data = rest.get(
        f"/api/models/{CANARIED}/versions/compare?candidate=3.3.0&end_time={when}"
    ).data()
    assert data["method"] == "paired"
    assert data["baseline"]["version"] == "3.2.1"
    assert data["common_bars"] >= 30
    assert data["candidate"]["data_points"] == data["baseline"]["data_points"]
    assert data["common_bars"] == data["candidate"]["data_points"]


def test_one_version(rest: Rest, when: str) -> None:
    data = rest.get(f"/api/models/a2c_conservative_v1.4/versions/compare?end_time={when}").data()
    assert data["verdict"] == "insufficient_data"
    assert "baseline" not in data
    assert "p_value" not in data


@pytest.mark.parametrize(
    ("query", "status", "names"),
    [
        ("/api/models/ghost/versions", 404, "ghost"),
        ("/api/models/ghost/versions/compare", 404, "ghost"),
        (f"/api/models/{CANARIED}/versions/compare?candidate=9.9", 404, "'9.9'"),
        (
            f"/api/models/{CANARIED}/versions/compare?baseline=3.2.1&candidate=3.2.1",
            400,
            "baseline",
        ),
        (f"/api/models/{CANARIED}/versions/compare?baseline_days=0", 400, "baseline_days"),
    ],
)
def test_errors(rest: Rest, demo: datetime, query: str, status: int, names: str) -> None:
    reply = rest.get(query)
    assert reply.status == status, reply.body
    assert names in reply.json()["message"]
