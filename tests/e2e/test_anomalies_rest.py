"""Change points and anomalies through the real Envoy (docs/DEFINITIONS.md#anomalies)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

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
    assert change["detector"] == "cusum"
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
