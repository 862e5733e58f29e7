"""The version timeline and the rollback verdict, on rows the tests write, against scipy.

Welch's before/after test is checked against ``scipy.stats.ttest_ind(equal_var=False)`` (its
p-value, its Welch-Satterthwaite degrees of freedom and its confidence interval), the paired test
of a canary against ``scipy.stats.ttest_1samp``; bars are summed by the tests' own dicts.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np
import pytest
from reference import paired, per_bar
from scipy import stats

from mlanalytics.v1 import health_service_pb2 as hpb
from mlanalytics.v1 import health_service_pb2_grpc, version_service_pb2_grpc
from mlanalytics.v1 import version_service_pb2 as vpb
from rows import Rows

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # on a 5-minute bar boundary
WHEN = END.isoformat().replace("+00:00", "Z")
FIVE = timedelta(minutes=5)
Rewards = list[tuple[datetime, float | None]]


@pytest.fixture(scope="module")
def versions(channel: grpc.Channel) -> Any:
    return version_service_pb2_grpc.ModelVersionServiceStub(channel)


@pytest.fixture(scope="module")
def health(channel: grpc.Channel) -> Any:
    return health_service_pb2_grpc.HealthServiceStub(channel)


def write(rows: Rows, model_id: str, version: str, rewards: Rewards) -> None:
    for at, reward in rewards:
        rows.inference(model_id, at, "LONG", reward=reward, model_version=version)


def deployment(
    rows: Rows,
    model_id: str,
    rng: np.random.Generator,
    *,
    old_mean: float,
    new_mean: float,
    new_bars: int = 100,
) -> tuple[Rewards, Rewards]:
    """Version 1.0 on 150 bars before the deploy (and 40 bars older than 7 days, which the
    comparison must leave out), then 2.0 on ``new_bars`` bars ending at END."""
    deploy = END - (new_bars - 1) * FIVE - timedelta(minutes=1)
    old: Rewards = [
        (deploy - 8 * 24 * 60 * FIVE / 5 - i * FIVE, float(rng.normal(-0.01, 1e-3)))
        for i in range(40)  # 8 days before the deploy: outside the 7 baseline days
    ]
    old += [(deploy - (i + 1) * FIVE, float(rng.normal(old_mean, 1e-3))) for i in range(150)]
    old.append((deploy - 3 * FIVE + timedelta(seconds=20), 2e-4))  # a second row in one bar
    old.append((deploy - 200 * FIVE, None))  # pending: no bar
    new: Rewards = [(deploy + i * FIVE, float(rng.normal(new_mean, 1e-3))) for i in range(new_bars)]
    write(rows, model_id, "1.0", old)
    write(rows, model_id, "2.0", new)
    return old, new


def welch_reference(old: Rewards, new: Rewards) -> dict[str, Any]:
    """Welch's test of the new version's bars against the old one's in the 7 days before."""
    first = min(at for at, _ in new)
    baseline = [(at, r) for at, r in old if first - timedelta(days=7) < at < first]
    b = list(per_bar(baseline).values())
    c = list(per_bar(new).values())
    result = stats.ttest_ind(c, b, equal_var=False)
    interval = result.confidence_interval(0.95)
    significant = result.pvalue < 0.05
    difference = float(np.mean(c) - np.mean(b))
    if min(len(b), len(c)) < 30:
        verdict = "insufficient_data"
    elif not significant:
        verdict = "no_significant_difference"
    else:
        verdict = "candidate_better" if difference > 0 else "rollback"
    return {
        "bars": (len(b), len(c)),
        "difference": difference,
        "ci": (float(interval.low), float(interval.high)),
        "p": float(result.pvalue),
        "verdict": verdict,
        "means": (float(np.mean(b)), float(np.mean(c))),
    }


def compare(versions: Any, model_id: str, **fields: Any) -> Any:
    request = vpb.CompareModelVersionsRequest(model_id=model_id, end_time=WHEN, **fields)
    return versions.CompareModelVersions(request).data


def assert_welch(got: Any, expected: dict[str, Any]) -> None:
    assert got.method == "welch"
    assert (got.baseline.data_points, got.candidate.data_points) == expected["bars"]
    assert got.baseline.mean_reward == pytest.approx(expected["means"][0], rel=1e-9)
    assert got.candidate.mean_reward == pytest.approx(expected["means"][1], rel=1e-9)
    assert got.mean_difference == pytest.approx(expected["difference"], rel=1e-9)
    assert got.difference_ci95.lower == pytest.approx(expected["ci"][0], rel=1e-9)
    assert got.difference_ci95.upper == pytest.approx(expected["ci"][1], rel=1e-9)
    assert got.p_value == pytest.approx(expected["p"], rel=1e-7)
    assert got.verdict == expected["verdict"]


class TestWelch:
    def test_a_worse_version_is_a_rollback(self, rows: Rows, versions: Any) -> None:
        old, new = deployment(
            rows, "worse", np.random.default_rng(1), old_mean=3e-4, new_mean=-3e-4
        )
        got = compare(versions, "worse")
        expected = welch_reference(old, new)
        assert expected["verdict"] == "rollback"
        assert_welch(got, expected)
        assert (got.baseline.version, got.candidate.version) == ("1.0", "2.0")
        assert got.common_bars == 0
        assert (got.min_bars, got.significance_level, got.baseline_days) == (30, 0.05, 7)
        first = min(at for at, _ in new)
        assert got.candidate.first_seen.ToDatetime(UTC) == first
        assert got.baseline_start.ToDatetime(UTC) == first - timedelta(days=7)

    def test_a_better_version(self, rows: Rows, versions: Any) -> None:
        old, new = deployment(
            rows, "better", np.random.default_rng(2), old_mean=-2e-4, new_mean=4e-4
        )
        expected = welch_reference(old, new)
        assert expected["verdict"] == "candidate_better"
        assert_welch(compare(versions, "better"), expected)
        # Named explicitly, the same answer; swapped, the opposite sign.
        assert_welch(compare(versions, "better", baseline="1.0", candidate="2.0"), expected)

    def test_the_same_skill(self, rows: Rows, versions: Any) -> None:
        old, new = deployment(rows, "same", np.random.default_rng(3), old_mean=1e-4, new_mean=1e-4)
        expected = welch_reference(old, new)
        assert expected["verdict"] == "no_significant_difference"
        assert_welch(compare(versions, "same"), expected)

    def test_a_version_twelve_bars_old(self, rows: Rows, versions: Any) -> None:
        old, new = deployment(
            rows, "young", np.random.default_rng(4), old_mean=5e-4, new_mean=-5e-4, new_bars=12
        )
        expected = welch_reference(old, new)
        assert expected["verdict"] == "insufficient_data"
        got = compare(versions, "young")
        assert_welch(got, expected)  # the numbers are there, the verdict says they decide nothing
        assert expected["p"] < 0.05


def test_a_canary_is_paired(rows: Rows, versions: Any) -> None:
    """2.1 ran beside 2.0 for 80 bars (2.0 also before): the paired test on the common bars."""
    rng = np.random.default_rng(5)
    start = END - 79 * FIVE
    current: Rewards = [(start - (i + 1) * FIVE, float(rng.normal(0, 1e-3))) for i in range(100)]
    canary: Rewards = []
    for i in range(80):
        market = float(rng.normal(0, 3e-3))  # both see the same market: pairing removes it
        at = start + i * FIVE
        current.append((at + timedelta(seconds=10), market + float(rng.normal(0, 2e-4))))
        canary.append((at + timedelta(seconds=40), market - 1e-4 + float(rng.normal(0, 2e-4))))
    canary.append((start - 60 * FIVE, 1e-3))  # a test row long before: the canary's first row
    current[-1] = (current[-1][0], None)  # no reward there: not a common bar
    write(rows, "canaried", "2.0", current)
    write(rows, "canaried", "2.1", canary)
    got = compare(versions, "canaried", baseline="2.0", candidate="2.1")
    first = min(at for at, _ in canary)
    expected = paired(canary, [(at, r) for at, r in current if at >= first])
    assert got.method == "paired"
    assert got.common_bars == expected.common_bars == 80  # 79 + the early row's bar
    assert got.mean_difference == pytest.approx(expected.mean, rel=1e-9)
    assert expected.ci95 is not None
    assert got.difference_ci95.lower == pytest.approx(expected.ci95[0], rel=1e-9)
    assert got.difference_ci95.upper == pytest.approx(expected.ci95[1], rel=1e-9)
    assert got.p_value == pytest.approx(
        stats.ttest_1samp(expected.differences, 0.0).pvalue, rel=1e-9
    )
    assert got.verdict == "rollback"  # -1e-4 per bar under 2e-4 noise: decisive
    assert got.candidate.data_points == got.baseline.data_points == 80
    assert got.candidate.mean_reward - got.baseline.mean_reward == pytest.approx(
        got.mean_difference, rel=1e-9
    )


def test_the_timeline(rows: Rows, versions: Any) -> None:
    t0 = END - timedelta(hours=3)
    write(rows, "timeline", "a", [(t0, 0.002), (t0 + FIVE, -0.001), (t0 + 2 * FIVE, 0.0)])
    rows.inference(
        "timeline", t0 + 3 * FIVE, "HOLD", reward=None, latency_ms=None, model_version="b"
    )
    rows.inference(
        "timeline", t0 + 4 * FIVE, "LONG", reward=0.003, latency_ms=40, model_version="b"
    )
    rows.inference("timeline", END + FIVE, "LONG", reward=0.003, model_version="c")  # after end
    data = versions.ListModelVersions(
        vpb.ListModelVersionsRequest(model_id="timeline", end_time=WHEN)
    ).data
    assert data.current_version == "b"
    assert [v.version for v in data.versions] == ["a", "b"]
    a, b = data.versions
    assert (a.predictions, a.trades, a.win_rate) == (3, 2, 0.5)
    assert a.total_reward == pytest.approx(0.001, rel=1e-12)
    r = np.array([0.002, -0.001, 0.0])
    assert a.sharpe_ratio == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(14868), rel=1e-9)
    assert a.avg_latency_ms == 20
    assert a.first_seen.ToDatetime(UTC) == t0
    assert a.last_seen.ToDatetime(UTC) == t0 + 2 * FIVE
    assert (b.predictions, b.trades, b.win_rate, b.sharpe_ratio) == (2, 1, 1.0, 0.0)
    assert b.avg_latency_ms == 40


class TestErrors:
    def test_unknown_model(self, rows: Rows, versions: Any) -> None:
        for call, request in (
            (versions.ListModelVersions, vpb.ListModelVersionsRequest(model_id="ghost")),
            (versions.CompareModelVersions, vpb.CompareModelVersionsRequest(model_id="ghost")),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call(request)
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            assert "ghost" in str(caught.value.details())

    def test_unknown_version(self, rows: Rows, versions: Any) -> None:
        rows.inference("known", END - FIVE, "LONG", reward=0.01, model_version="1.0")
        for field in ("baseline", "candidate"):
            with pytest.raises(grpc.RpcError) as caught:
                compare(versions, "known", **{field: "9.9"})
            assert caught.value.code() == grpc.StatusCode.NOT_FOUND
            assert f"{field}: model 'known' has no version '9.9'" in str(caught.value.details())

    def test_baseline_equal_to_candidate(self, rows: Rows, versions: Any) -> None:
        rows.inference("known", END - FIVE, "LONG", reward=0.01, model_version="1.0")
        with pytest.raises(grpc.RpcError) as caught:
            compare(versions, "known", baseline="1.0", candidate="1.0")
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "baseline" in str(caught.value.details())
        with pytest.raises(grpc.RpcError) as caught:  # the candidate by default
            compare(versions, "known", baseline="1.0")
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    def test_bad_baseline_days(self, rows: Rows, versions: Any) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            compare(versions, "known", baseline_days=31)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "baseline_days: must be between 1 and 30" in str(caught.value.details())

    def test_one_version(self, rows: Rows, versions: Any) -> None:
        write(rows, "single", "1.0", [(END - i * FIVE, 0.001 * (i % 3 - 1)) for i in range(50)])
        got = compare(versions, "single")
        assert got.verdict == "insufficient_data"
        assert not got.HasField("baseline")
        assert not got.HasField("p_value")
        assert not got.HasField("mean_difference")
        assert (got.candidate.version, got.candidate.data_points) == ("1.0", 50)


def test_a_rollback_warns_in_health(rows: Rows, health: Any) -> None:
    deployment(rows, "worse", np.random.default_rng(1), old_mean=3e-4, new_mean=-3e-4)
    deployment(rows, "better", np.random.default_rng(2), old_mean=-2e-4, new_mean=4e-4)
    listed = health.ListModelHealth(hpb.ListModelHealthRequest(end_time=WHEN)).data
    issues = {m.model_id: list(m.issues) for m in listed.models}
    [warning] = [i for i in issues["worse"] if i.startswith("rollback")]
    assert warning.startswith("rollback: version 2.0 trades worse than 1.0 (-")
    assert "per bar, p=" in warning
    assert not [i for i in issues["better"] if i.startswith("rollback")]
    one = health.GetModelHealth(hpb.GetModelHealthRequest(model_id="worse", end_time=WHEN)).data
    assert warning in one.issues
    assert one.status in {"warning", "critical"}
