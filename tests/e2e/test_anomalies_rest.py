"""Change points and anomalies through the real Envoy (docs/DEFINITIONS.md#anomalies)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from restclient import Rest
from rows import Rows

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WHEN = "end_time=2026-03-02T12:00:00Z"
FIVE = timedelta(minutes=5)
N, COLLAPSE, SPIKE = 400, 330, 150


@pytest.fixture
def collapsing(rows: Rows) -> Rows:
    """A model whose confidence drops from about 0.7 to 0.3 at row 330, and one latency spike."""
    rng = np.random.default_rng(3)
    first = END - N * FIVE
    for i in range(N):
        confidence = float(rng.normal(0.7, 0.03)) - (0.4 if i >= COLLAPSE else 0.0)
        latency = 25 * 40 if i == SPIKE else int(40 * np.exp(rng.normal(0, 0.1)))
        rows.inference(
            "collapsing", first + (i + 1) * FIVE, "LONG", confidence=confidence, latency_ms=latency
        )
    return rows


def test_anomalies_json(collapsing: Rows, rest: Rest) -> None:
    reply = rest.get(f"/api/anomalies/collapsing?{WHEN}")
    assert reply.status == 200, reply.body
    body: Any = reply.json()["data"]
    assert (body["model_id"], body["window"]) == ("collapsing", "7d")
    assert body["signals"] == ["confidence", "latency_ms", "reward", "action_raw", "hold_rate"]
    assert body["data_points"] == N
    changes = [c for c in body["change_points"] if c["signal"] == "confidence"]
    assert len(changes) == 1, body["change_points"]
    [change] = changes
    first = END - N * FIVE
    onset = first + (COLLAPSE + 1) * FIVE
    at = datetime.fromisoformat(change["at"])
    assert abs(at - onset) <= 2 * FIVE
    assert datetime.fromisoformat(change["detected_at"]) - onset <= 6 * FIVE
    assert change["before_mean"] == pytest.approx(0.7, abs=0.01)
    assert change["after_mean"] == pytest.approx(0.3, abs=0.02)
    assert change["shift"] < -8  # 0.4 / 0.03
    assert change["detector"] == "trimmed_window"
    assert not [c for c in body["change_points"] if c["signal"] == "latency_ms"]
    spikes = [a for a in body["anomalies"] if a["signal"] == "latency_ms"]
    spike = max(spikes, key=lambda a: a["score"])
    assert datetime.fromisoformat(spike["timestamp"]) == first + (SPIKE + 1) * FIVE
    assert spike["value"] == 1000
    assert 35 <= spike["expected"] <= 45
    assert spike["score"] > 20
    assert len(spikes) <= 2  # the spike, and at most one rounding-tail row of 400


def test_unknown_model_is_404_and_bad_window_400(collapsing: Rows, rest: Rest) -> None:
    reply = rest.get(f"/api/anomalies/nobody?{WHEN}")
    assert reply.status == 404
    assert "'nobody'" in reply.json()["message"]
    reply = rest.get("/api/anomalies/collapsing?window=2h")
    assert reply.status == 400
    assert reply.json()["message"].startswith("invalid request: window: ")


def test_a_change_point_in_the_health_window_is_a_health_warning(
    collapsing: Rows, rest: Rest
) -> None:
    reply = rest.get(f"/api/health/model/collapsing?{WHEN}")
    assert reply.status == 200, reply.body
    health: Any = reply.json()["data"]
    assert health["status"] in {"warning", "critical"}, health  # at least a warning
    [issue] = [i for i in health["issues"] if i.startswith("change point: ")]
    onset = END - N * FIVE + (COLLAPSE + 1) * FIVE
    assert issue.startswith("change point: confidence shifted -")
    shift = float(issue.split("shifted ")[1].split(" sd")[0])
    assert shift < -8
    at = datetime.fromisoformat(issue.rsplit(" from ", 1)[1].replace("Z", "+00:00"))
    assert abs(at - onset) <= 2 * FIVE
    # Three days later the change is out of the health window: no warning any more.
    later = (END + timedelta(days=3)).isoformat().replace("+00:00", "Z")
    quiet = rest.get(f"/api/health/model/collapsing?end_time={later}").json()["data"]
    assert not [i for i in quiet["issues"] if i.startswith("change point: ")]


def test_metrics_count_the_change_points_per_model_and_signal(rows: Rows, rest: Rest) -> None:
    """Rows ending now (the gauges judge now): one model's confidence collapses, one stays put."""
    rng = np.random.default_rng(8)
    last = datetime.now(UTC).replace(microsecond=0)
    times = np.array(
        [(last - (N - 1 - i) * FIVE).replace(tzinfo=None) for i in range(N)], "datetime64[us]"
    )
    for model_id, drop in (("collapsed_now", 0.4), ("steady_now", 0.0)):
        confidence = rng.normal(0.7, 0.03, N) - np.where(np.arange(N) >= COLLAPSE, drop, 0.0)
        rows.series(
            model_id,
            times,
            "LONG",
            {"confidence": confidence, "latency_ms": np.full(N, 40), "reward": 0.0},
        )
    deadline = time.monotonic() + 30
    while True:  # the gauges share the streams' evaluations, which may be a tick old
        body = rest.get("/metrics").body.decode()
        families = {f.name: f for f in text_string_to_metric_families(body)}
        samples = families["mlanalytics_model_change_points"].samples
        counts = {(s.labels["model_id"], s.labels["signal"]): s.value for s in samples}
        if ("collapsed_now", "confidence") in counts:
            break
        assert time.monotonic() < deadline, counts
        time.sleep(0.2)
    assert counts[("collapsed_now", "confidence")] == 1
    assert sum(v for (m, _), v in counts.items() if m == "collapsed_now") == 1
    assert {s for (m, s) in counts if m == "steady_now"} == {
        "confidence",
        "latency_ms",
        "reward",
        "action_raw",
        "hold_rate",
    }
    assert sum(v for (m, _), v in counts.items() if m == "steady_now") == 0
