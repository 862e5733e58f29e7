"""DriftService, trends and comparison against scipy and hand-computed expectations.

The test writes a model whose vix_z shifts by two standard deviations in the last day (it must be
detected), whose other features do not move (they must not), with NULL feature values and a
feature that is NULL throughout the recent window (skipped), plus bars so that concept drift
(accuracy before and after) is defined.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import outcome
from scipy import stats

from analytics import FEATURES
from analytics.trends import hourly_buckets
from conftest import END, END_TIME, FIVE_MINUTES
from mlanalytics.v1 import drift_service_pb2 as dpb
from mlanalytics.v1 import (
    drift_service_pb2_grpc,
    metrics_service_pb2_grpc,
    performance_service_pb2_grpc,
)
from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import performance_service_pb2 as ppb
from rows import Rows, as_datetime64, every_five_minutes, normal_features

BARS = 8 * 288 + 2  # eight days of 5-minute bars, up to END


def _psi(baseline: np.ndarray, recent: np.ndarray) -> float:
    """PSI over baseline deciles, written out: bins [e_k-1, e_k), proportions floored at 1e-4."""
    edges = np.unique(np.quantile(baseline, np.arange(1, 10) / 10))
    b = np.array([np.sum(np.digitize(baseline, edges) == k) for k in range(len(edges) + 1)])
    r = np.array([np.sum(np.digitize(recent, edges) == k) for k in range(len(edges) + 1)])
    b = np.maximum(b / baseline.size, 1e-4)
    r = np.maximum(r / recent.size, 1e-4)
    return float(np.sum((r - b) * np.log(r / b)))


class Drifty:
    """Eight days of predictions every 5 minutes; the last 24 h have vix_z shifted by +2."""

    def __init__(self, rows: Rows) -> None:
        rng = np.random.default_rng(5)
        first = END - timedelta(days=8)
        closes = np.round(4000 * np.exp(np.cumsum(rng.normal(0, 0.0005, BARS))), 6)
        rows.bars(first, closes.tolist())
        self.bars = [(first + i * FIVE_MINUTES, float(c)) for i, c in enumerate(closes)]
        n = BARS - 2  # the last prediction is 4 min 40 s before END
        self.times = [first + i * FIVE_MINUTES + timedelta(seconds=20) for i in range(n)]
        recent = np.array([t > END - timedelta(hours=24) for t in self.times])
        features = {name: rng.normal(0, 1, n) for name in FEATURES}
        features["vix_z"] = np.where(recent, features["vix_z"] + 2.0, features["vix_z"])
        features["embi_z"][rng.random(n) < 0.1] = np.nan  # NULLs are dropped
        features["rsi_9"][recent] = np.nan  # nothing recent: skipped
        # Right 60 % of the time before, 35 % after (concept drift 0.25 +- noise).
        truth = [outcome(t, self.bars, END) for t in self.times]
        skill = np.where(recent, 0.35, 0.60)
        actions = [
            o.actual_action
            if (o and rng.random() < s)
            else str(rng.choice(["LONG", "SHORT", "HOLD"]))
            for o, s in zip(truth, skill, strict=True)
        ]
        rows.inferences(
            {
                "timestamp_utc": as_datetime64(self.times),
                "model_id": ["drifty"] * n,
                "action_raw": [
                    0.5 if a == "LONG" else -0.5 if a == "SHORT" else 0.0 for a in actions
                ],
                "action_discretized": actions,
                "confidence": [0.5] * n,
                **features,
            }
        )
        self.features = features
        self.recent = recent
        self.actions = actions
        self.truth = truth

    def accuracy(self, mask: np.ndarray) -> float:
        pairs = [(a, o) for a, o, m in zip(self.actions, self.truth, mask, strict=True) if m and o]
        return sum(a == o.actual_action for a, o in pairs) / len(pairs)


@pytest.fixture
def drifty(rows: Rows) -> Drifty:
    return Drifty(rows)


@pytest.fixture
def drift(channel: grpc.Channel) -> Any:
    return drift_service_pb2_grpc.DriftServiceStub(channel)


class TestDriftStatus:
    def test_features_against_scipy(self, drifty: Drifty, drift: Any) -> None:
        data = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(model_id="drifty", end_time=END_TIME)
        ).data
        assert (data.window_hours, data.baseline_days) == (24, 7)
        recent_mask = drifty.recent
        baseline_mask = ~drifty.recent & np.array(
            [t > END - timedelta(days=8) for t in drifty.times]
        )
        assert data.recent.predictions == recent_mask.sum() == 288
        assert data.baseline.predictions == baseline_mask.sum()
        details = {f.feature: f for f in data.feature_details}
        assert list(details) == list(FEATURES)
        ks_values = []
        for name in FEATURES:
            got = details[name]
            recent = drifty.features[name][recent_mask]
            baseline = drifty.features[name][baseline_mask]
            recent, baseline = recent[~np.isnan(recent)], baseline[~np.isnan(baseline)]
            if name == "rsi_9":
                assert got.status == "skipped"
                assert "recent has 0 values" in got.reason
                assert not got.HasField("ks_statistic")
                continue
            expected = stats.ks_2samp(recent, baseline)
            ks_values.append(expected.statistic)
            # The statistic is exact; the p-value is scipy's own for these sizes.
            assert got.ks_statistic == pytest.approx(expected.statistic, abs=1e-12)
            assert got.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
            wasserstein = stats.wasserstein_distance(recent, baseline) / np.std(baseline, ddof=1)
            assert got.wasserstein == pytest.approx(wasserstein, rel=1e-9)
            assert got.psi == pytest.approx(_psi(baseline, recent), rel=1e-9)
            assert_allclose(
                [got.recent_mean, got.baseline_mean, got.recent_std, got.baseline_std],
                [recent.mean(), baseline.mean(), recent.std(ddof=1), baseline.std(ddof=1)],
                rtol=1e-9,
            )
            assert got.recent_count == recent.size
            assert got.status == ("drifted" if expected.statistic > 0.15 else "stable")
        assert list(data.features_drifted) == ["vix_z"]  # the shift is found, nothing else
        assert data.features_checked == 12
        assert data.data_drift_score == pytest.approx(np.mean(ks_values), rel=1e-12)
        assert data.max_feature_drift == pytest.approx(max(ks_values), rel=1e-12)

    def test_concept_drift_and_status(self, drifty: Drifty, drift: Any) -> None:
        data = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(model_id="drifty", end_time=END_TIME)
        ).data
        baseline_mask = ~drifty.recent & np.array(
            [t > END - timedelta(days=8) for t in drifty.times]
        )
        recent_accuracy = drifty.accuracy(drifty.recent)
        baseline_accuracy = drifty.accuracy(baseline_mask)
        assert data.concept_drift.recent_accuracy == pytest.approx(recent_accuracy, rel=1e-12)
        assert data.concept_drift.baseline_accuracy == pytest.approx(baseline_accuracy, rel=1e-12)
        concept = abs(recent_accuracy - baseline_accuracy)
        assert data.concept_drift_score == pytest.approx(concept, rel=1e-12)
        level = max(data.data_drift_score, concept)
        expected = "critical" if level >= 0.30 else "warning" if level >= 0.15 else "healthy"
        assert data.status == expected
        assert not data.HasField("reason")
        assert data.last_check.ToDatetime(UTC) == END

    def test_too_little_data_is_unknown_with_a_reason(self, rows: Rows, drift: Any) -> None:
        for i in range(5):
            rows.inference("sparse", END - timedelta(hours=1, minutes=i), "LONG")
        data = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(model_id="sparse", end_time=END_TIME)
        ).data
        assert data.status == "unknown"
        assert "recent window has 5 predictions" in data.reason
        assert "baseline window has 0 predictions" in data.reason
        assert (data.recent.predictions, data.baseline.predictions) == (5, 0)
        assert not data.HasField("concept_drift_score")

    def test_unshifted_model_is_not_drifting(self, rows: Rows, drift: Any) -> None:
        rng = np.random.default_rng(9)
        times = every_five_minutes(END, days=8)
        rows.series("calm", times, "HOLD", normal_features(rng, times.size))
        data = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(model_id="calm", end_time=END_TIME)
        ).data
        assert list(data.features_drifted) == []
        assert data.status == "healthy"
        assert "no bars" not in (data.reason or "")

    def test_windows_follow_the_parameters(self, drifty: Drifty, drift: Any) -> None:
        data = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(
                model_id="drifty", window_hours=6, baseline_days=2, end_time=END_TIME
            )
        ).data
        assert data.recent.start_time.ToDatetime(UTC) == END - timedelta(hours=6)
        assert data.baseline.start_time.ToDatetime(UTC) == END - timedelta(hours=6, days=2)
        assert data.recent.predictions == 72
        assert data.baseline.predictions == 2 * 288

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"window_hours": 0}, "window_hours"),
            ({"window_hours": 169}, "window_hours"),
            ({"baseline_days": 0}, "baseline_days"),
            ({"baseline_days": 31}, "baseline_days"),
            ({"model_id": ""}, "model_id"),
        ],
    )
    def test_invalid_arguments(self, drift: Any, fields: dict[str, Any], field: str) -> None:
        request = dpb.GetDriftStatusRequest(**{"model_id": "drifty", **fields})
        with pytest.raises(grpc.RpcError) as caught:
            drift.GetDriftStatus(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in str(caught.value.details())

    def test_unknown_model(self, rows: Rows, drift: Any) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            drift.GetDriftStatus(dpb.GetDriftStatusRequest(model_id="nobody"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


class TestDriftFeatures:
    def test_sorted_by_drift_score(self, drifty: Drifty, drift: Any) -> None:
        status = drift.GetDriftStatus(
            dpb.GetDriftStatusRequest(model_id="drifty", end_time=END_TIME)
        ).data
        data = drift.GetDriftFeatures(
            dpb.GetDriftFeaturesRequest(model_id="drifty", end_time=END_TIME)
        ).data
        assert data.overall_status == status.status
        assert (data.total_features, data.drifted_count, data.checked_count) == (13, 1, 12)
        names = [f.feature for f in data.features]
        assert names[0] == "vix_z"
        assert names[-1] == "rsi_9"  # skipped features last
        scores = [f.drift_score for f in data.features[:-1]]
        assert scores == sorted(scores, reverse=True)
        by_name = {f.feature: f for f in status.feature_details}
        assert all(f == by_name[f.feature] for f in data.features)


def test_model_metrics_include_drift(drifty: Drifty, drift: Any, channel: grpc.Channel) -> None:
    metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
    data = metrics.GetModelMetrics(
        mpb.GetModelMetricsRequest(model_id="drifty", window="7d", end_time=END_TIME)
    ).data
    status = drift.GetDriftStatus(
        dpb.GetDriftStatusRequest(model_id="drifty", end_time=END_TIME)
    ).data
    assert data.drift == status
    assert data.rolling.window == "7d"


@pytest.fixture
def performance(channel: grpc.Channel) -> Any:
    return performance_service_pb2_grpc.PerformanceServiceStub(channel)


class TestTrends:
    def test_hourly_buckets_by_hand(self, rows: Rows, performance: Any) -> None:
        rng = np.random.default_rng(3)
        rewards: list[float | None] = []
        times = []
        for i in range(3 * 24 * 4):  # every 15 minutes over three days, from an odd minute
            at = END - timedelta(days=3) + timedelta(minutes=7 + 15 * i)
            if at > END:
                break
            reward = None if rng.random() < 0.1 else float(rng.choice([-1.0, 0.0, 1.0, 2.0]))
            rows.inference("trend", at, "LONG", reward=reward, latency_ms=int(rng.integers(10, 90)))
            times.append(at)
            rewards.append(reward)
        data = performance.GetPerformanceTrends(
            ppb.GetPerformanceTrendsRequest(model_id="trend", days=3, end_time=END_TIME)
        ).data
        hours: dict[datetime, list[float | None]] = {}
        for at, reward in zip(times, rewards, strict=True):
            hours.setdefault(at.replace(minute=0, second=0, microsecond=0), []).append(reward)
        assert [b.hour.ToDatetime(UTC) for b in data.buckets] == sorted(hours)
        # The SQL buckets equal the analytics core's numpy reference on the same rows.
        reference = hourly_buckets(
            as_datetime64(times),
            np.array([np.nan if r is None else r for r in rewards]),
            np.full(len(times), np.nan),
            np.datetime64((END - timedelta(days=3)).replace(tzinfo=None), "h"),
        )
        assert [b.predictions for b in data.buckets] == reference.predictions.tolist()
        assert_allclose([b.win_rate for b in data.buckets], reference.win_rate, rtol=1e-12)
        assert_allclose([b.avg_reward for b in data.buckets], reference.avg_reward, rtol=1e-12)
        win_rates, avg_rewards = [], []
        for bucket in data.buckets:
            values = hours[bucket.hour.ToDatetime(UTC)]
            known = [r for r in values if r is not None]
            realized = [r for r in known if r != 0]
            win_rate = sum(r > 0 for r in realized) / len(realized) if realized else 0.0
            avg_reward = sum(known) / len(known) if known else 0.0
            assert bucket.predictions == len(values)
            assert bucket.win_rate == pytest.approx(win_rate, rel=1e-12)
            assert bucket.avg_reward == pytest.approx(avg_reward, rel=1e-12)
            assert bucket.total_reward == pytest.approx(sum(known), rel=1e-12)
            win_rates.append(win_rate)
            avg_rewards.append(avg_reward)
        x = np.array(
            [
                (b.hour.ToDatetime(UTC) - data.buckets[0].hour.ToDatetime(UTC)).total_seconds()
                / 3600
                for b in data.buckets
            ]
        )
        summary = data.summary
        assert summary.win_rate_slope == pytest.approx(
            np.polyfit(x, win_rates, 1)[0], rel=1e-9, abs=1e-15
        )
        assert summary.reward_slope == pytest.approx(
            np.polyfit(x, avg_rewards, 1)[0], rel=1e-9, abs=1e-15
        )
        for slope, word in (
            (summary.win_rate_slope, summary.win_rate_trend),
            (summary.reward_slope, summary.reward_trend),
        ):
            assert word == (
                "improving" if slope > 0.001 else "declining" if slope < -0.001 else "stable"
            )
        assert summary.total_predictions == len(times)
        best = int(np.argmax(win_rates))
        assert summary.best_hour.win_rate == win_rates[best]
        assert summary.best_hour.hour == data.buckets[best].hour
        assert data.buckets[23].win_rate_ma == pytest.approx(np.mean(win_rates[:24]), rel=1e-12)
        assert data.buckets[30].win_rate_ma == pytest.approx(np.mean(win_rates[7:31]), rel=1e-12)

    def test_known_model_without_rows_and_unknown_model(self, rows: Rows, performance: Any) -> None:
        rows.inference("old", END - timedelta(days=40), "LONG", reward=1.0)
        data = performance.GetPerformanceTrends(
            ppb.GetPerformanceTrendsRequest(model_id="old", end_time=END_TIME)
        ).data
        assert (len(data.buckets), data.summary.win_rate_trend) == (0, "stable")
        assert not data.summary.HasField("best_hour")
        with pytest.raises(grpc.RpcError) as caught:
            performance.GetPerformanceTrends(ppb.GetPerformanceTrendsRequest(model_id="nobody"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    @pytest.mark.parametrize("days", [0, 31])
    def test_days_bounds(self, performance: Any, days: int) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            performance.GetPerformanceTrends(
                ppb.GetPerformanceTrendsRequest(model_id="trend", days=days)
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "days" in str(caught.value.details())


class TestComparison:
    def test_per_version_aggregates(self, rows: Rows, performance: Any) -> None:
        series: dict[tuple[str, str], list[float | None]] = {
            ("a", "1"): [0.002, -0.001, 0.0, 0.003, None],
            ("a", "2"): [0.001, 0.001, -0.004],
            ("b", "7"): [-0.002, 0.001, 0.0005, 0.0005, 0.0025, -0.0001],
        }
        latencies = {("a", "1"): 20, ("a", "2"): 40, ("b", "7"): 250}
        for (model, version), rewards in series.items():
            for i, reward in enumerate(rewards):
                rows.inference(
                    model,
                    END - timedelta(hours=2, minutes=i),
                    "LONG",
                    reward=reward,
                    model_version=version,
                    latency_ms=latencies[(model, version)],
                )
        rows.inference(
            "a", END - timedelta(days=2), "LONG", reward=5.0, model_version="0"
        )  # outside
        data = performance.GetPerformanceComparison(
            ppb.GetPerformanceComparisonRequest(window="24h", end_time=END_TIME)
        ).data
        assert data.total_models == 3
        got = {(m.model_id, m.model_version): m for m in data.models}
        for key, values in series.items():
            known = np.array([r for r in values if r is not None])
            realized = known[known != 0]
            m = got[key]
            assert m.predictions == len(values)
            assert m.win_rate == pytest.approx(np.mean(realized > 0), rel=1e-12)
            assert m.avg_reward == pytest.approx(known.mean(), rel=1e-9)
            assert m.std_reward == pytest.approx(known.std(ddof=1), rel=1e-9)
            assert m.total_reward == pytest.approx(known.sum(), rel=1e-9)
            assert m.max_abs_reward == pytest.approx(np.abs(known).max(), rel=1e-12)
            assert m.avg_latency_ms == pytest.approx(latencies[key])
            sharpe = known.mean() / known.std(ddof=1) * math.sqrt(14868)
            assert m.sharpe_ratio == pytest.approx(sharpe, rel=1e-9)
        rates = [m.win_rate for m in data.models]
        assert rates == sorted(rates, reverse=True)

    def test_window_validation(self, performance: Any) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            performance.GetPerformanceComparison(ppb.GetPerformanceComparisonRequest(window="2d"))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
