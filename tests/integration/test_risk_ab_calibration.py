"""Risk metrics, confidence calibration and the model A/B test, through the real server.

Every number is checked against an independent computation on the rows the test wrote: numpy's
quantile, scipy's moments, t-test and normal CDF, scikit-learn's Brier score and calibration
curve, or a case worked by hand (docs/DEFINITIONS.md#risk-metrics, #model-ab,
#confidence-calibration).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import outcome, paired, risk
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from mlanalytics.v1 import metrics_service_pb2 as mpb
from mlanalytics.v1 import (
    metrics_service_pb2_grpc,
    performance_service_pb2_grpc,
    prediction_service_pb2_grpc,
)
from mlanalytics.v1 import performance_service_pb2 as abpb
from mlanalytics.v1 import prediction_service_pb2 as ppb
from rows import Rows

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # on a 5-minute bar boundary
WHEN = END.isoformat()
FIVE = timedelta(minutes=5)
RISK_FIELDS = ("calmar_ratio", "var_95", "cvar_95", "tail_ratio", "probabilistic_sharpe")


@pytest.fixture
def metrics(channel: grpc.Channel) -> Any:
    return metrics_service_pb2_grpc.MetricsServiceStub(channel)


@pytest.fixture
def predictions(channel: grpc.Channel) -> Any:
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture
def performance(channel: grpc.Channel) -> Any:
    return performance_service_pb2_grpc.PerformanceServiceStub(channel)


def rolling(metrics: Any, model_id: str, window: str = "24h") -> Any:
    request = mpb.GetRollingMetricsRequest(model_id=model_id, window=window, end_time=WHEN)
    return metrics.GetRollingMetrics(request).data


def risk_of(message: Any) -> dict[str, float | None]:
    """The five risk fields of a PerformanceMetrics, None when absent."""
    return {f: getattr(message, f) if message.HasField(f) else None for f in RISK_FIELDS}


def write_rewards(rows: Rows, model_id: str, rewards: list[float | None], start: datetime) -> None:
    """One row per 5-minute bar from ``start``, 30 s into the bar, with these rewards."""
    for i, reward in enumerate(rewards):
        rows.inference(model_id, start + i * FIVE + timedelta(seconds=30), "LONG", reward=reward)


class TestRiskMetrics:
    def test_hand_worked_case(self, rows: Rows, metrics: Any) -> None:
        # r = 0.02, -0.01, 0.03, -0.02, 0.01; sorted -0.02, -0.01, 0.01, 0.02, 0.03.
        write_rewards(rows, "hand", [0.02, -0.01, 0.03, -0.02, 0.01], END - timedelta(minutes=50))
        got = risk_of(rolling(metrics, "hand", "1h").metrics)
        # Q(0.05) at rank 0.2: -0.02 + 0.2 * 0.01 = -0.018; Q(0.95) at rank 3.8: 0.028.
        # Equity 0.02, 0.01, 0.04, 0.02, 0.03: the drawdown is 0.04 - 0.02 = 0.02.
        # mean 0.006: Calmar = 0.006 * 14868 / 0.02 = 4460.4.
        # Central moments: m2 = 3.44e-4, m3 = -1.008e-6, m4 = 1.78592e-7, so SR = 0.006 /
        # sqrt(4.3e-4) = 0.289346, g3 = -0.157988, g4 = 1.509194; the radicand is 1.056370 and
        # PSR = Phi(0.289346 * 2 / sqrt(1.056370)) = Phi(0.563043) = 0.713296.
        # Float rounding of the interpolation is ~1e-16 relative; the PSR is hand-worked to 6
        # digits.
        expected = {
            "calmar_ratio": 4460.4,
            "var_95": 0.018,
            "cvar_95": 0.02,
            "tail_ratio": 0.028 / 0.018,
            "probabilistic_sharpe": 0.713296,
        }
        assert got.keys() == expected.keys()
        for field, value in expected.items():
            tolerance = 1e-6 if field == "probabilistic_sharpe" else 1e-12
            assert got[field] == pytest.approx(value, rel=tolerance), field

    @pytest.mark.parametrize("window", ["1h", "24h", "7d"])
    def test_against_numpy_and_scipy(self, rows: Rows, metrics: Any, window: str) -> None:
        rng = np.random.default_rng(15)
        # Fat-tailed, skewed rewards: Student t with 3 degrees of freedom, a few crashes, NULLs.
        start = END - timedelta(hours=30)
        rewards: list[float | None] = []
        for i in range(360):
            value = float(rng.standard_t(3) * 1e-3 + 6e-4)
            if i % 41 == 7:
                value -= 0.01
            rewards.append(None if rng.random() < 0.05 else value)
        write_rewards(rows, "fat", rewards, start)
        hours = {"1h": 1, "24h": 24, "7d": 168}[window]
        since = END - timedelta(hours=hours)
        mine = [
            r
            for i, r in enumerate(rewards)
            if r is not None and start + i * FIVE + timedelta(seconds=30) > since
        ]
        data = rolling(metrics, "fat", window)
        assert data.metrics.reward_count == len(mine)
        expected = risk(mine)
        got = risk_of(data.metrics)
        # Sums and moments in another order (and on rescaled values for the PSR): a few ulps,
        # amplified at most by the PSR's normal CDF slope and sqrt(n); 1e-9 is far above that
        # and far below any formula error.
        for field, key in zip(RISK_FIELDS, expected, strict=True):
            assert got[field] is not None, field
            assert got[field] == pytest.approx(expected[key], rel=1e-9), field

    def test_every_performance_metrics_carries_them(
        self, rows: Rows, metrics: Any, performance: Any
    ) -> None:
        rng = np.random.default_rng(3)
        for model_id in ("alpha", "beta"):
            rewards: list[float | None] = [float(x) for x in rng.normal(0, 1e-3, 200)]
            write_rewards(rows, model_id, rewards, END - timedelta(hours=20))
        alpha = rolling(metrics, "alpha").metrics
        assert all(alpha.HasField(f) for f in RISK_FIELDS)
        summary = metrics.GetMetricsSummary(mpb.GetMetricsSummaryRequest(end_time=WHEN)).data
        assert [m.metrics for m in summary.models if m.model_id == "alpha"] == [alpha]
        overview = metrics.GetModelMetrics(
            mpb.GetModelMetricsRequest(model_id="alpha", end_time=WHEN)
        ).data
        assert overview.rolling.metrics == alpha
        ab = performance.CompareModels(
            abpb.CompareModelsRequest(model_a="alpha", model_b="beta", window="24h", end_time=WHEN)
        ).data
        assert ab.model_a.metrics == alpha

    @pytest.mark.parametrize(
        ("rewards", "absent"),
        [
            ([None, None], set(RISK_FIELDS)),  # rows, but no reward: nothing is defined
            ([0.01], {"calmar_ratio", "probabilistic_sharpe"}),  # one gain: no drawdown, n < 3
            ([0.01, -0.005], {"probabilistic_sharpe"}),  # fewer than 3 rewards
            ([0.01, 0.02, 0.01, 0.03], {"calmar_ratio"}),  # only gains: no drawdown
            ([0.0, 0.0, 0.0, 0.01, 0.02], {"calmar_ratio", "tail_ratio"}),  # Q(0.05) = 0
            ([0.01, 0.01, 0.01], {"calmar_ratio", "probabilistic_sharpe"}),  # zero std
            ([-0.01, -0.01, -0.01, -0.01], {"probabilistic_sharpe"}),  # zero std, losses
        ],
    )
    def test_absent_when_undefined(
        self, rows: Rows, metrics: Any, rewards: list[float | None], absent: set[str]
    ) -> None:
        write_rewards(rows, "edge", rewards, END - timedelta(minutes=50))
        got = risk_of(rolling(metrics, "edge", "1h").metrics)
        assert {f for f, v in got.items() if v is None} == absent
        expected = risk([r for r in rewards if r is not None])
        for field, key in zip(RISK_FIELDS, expected, strict=True):
            if got[field] is not None:
                assert got[field] == pytest.approx(expected[key], rel=1e-12), field
        if got["var_95"] == 0.0:
            assert str(got["var_95"]) == "0.0"  # not -0.0

    def test_only_gains_have_a_negative_value_at_risk(self, rows: Rows, metrics: Any) -> None:
        write_rewards(rows, "lucky", [0.01, 0.02, 0.01, 0.03], END - timedelta(minutes=50))
        got = risk_of(rolling(metrics, "lucky", "1h").metrics)
        # Q(0.05) at rank 0.15 of 0.01, 0.01, 0.02, 0.03 is 0.01: the "loss" is a gain.
        assert got["var_95"] == pytest.approx(-0.01, rel=1e-12)
        assert got["cvar_95"] == pytest.approx(-0.01, rel=1e-12)


# --- confidence calibration ---------------------------------------------------------------------


@pytest.fixture
def nullable_confidence(rows: Rows) -> Iterator[Rows]:
    """The log with `confidence` free of its NOT NULL and [0, 1] check, as a feed may be."""
    with rows.loosened("confidence"):
        yield rows


def accuracy_report(predictions: Any, model_id: str, window: str = "24h") -> Any:
    request = ppb.GetPredictionAccuracyRequest(model_id=model_id, window=window, end_time=WHEN)
    return predictions.GetPredictionAccuracy(request).data


class TestCalibration:
    def test_against_scikit_learn(self, nullable_confidence: Rows, predictions: Any) -> None:
        rows = nullable_confidence
        rng = np.random.default_rng(150)
        first = END - timedelta(hours=12)
        steps = rng.choice([-0.001, 0.0, 0.001], size=144)
        closes = [round(float(c), 6) for c in 4000.0 * np.exp(np.cumsum(steps))]
        rows.bars(first, closes)  # the last bar starts at END - 5 min
        bars = [(first + i * FIVE, c) for i, c in enumerate(closes)]
        confidences: list[float | None] = []
        correct: list[bool] = []
        for i in range(144):  # the last one has no next bar: pending, in neither count
            at = first + i * FIVE + timedelta(seconds=30)
            action = str(rng.choice(["LONG", "SHORT", "HOLD"]))
            known = outcome(at, bars, END)
            # Confidence that means something: higher when the call is right, 1.0 once.
            right = known is not None and known.actual_action == action
            conf: float | None = float(np.clip(rng.beta(5, 2) if right else rng.beta(2, 3), 0, 1))
            if i == 10:
                conf = 1.0
            elif i % 29 == 3:
                conf = None  # NULL
            elif i % 31 == 5:
                conf = 1.5 if i % 2 else -0.2  # out of range
            rows.conn.execute(
                "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, symbol, action_raw,"
                " action_discretized, confidence) VALUES (%s, 'calib', 'USD/COP', 0, %s, %s)",
                (at, action, conf),
            )
            if known is not None:
                confidences.append(conf)
                correct.append(right)
        usable = [(c, y) for c, y in zip(confidences, correct, strict=True) if c is not None]
        usable = [(c, y) for c, y in usable if 0 <= c <= 1]
        c = np.array([u[0] for u in usable])
        y = np.array([u[1] for u in usable], dtype=float)

        got = accuracy_report(predictions, "calib").calibration
        assert got.count == len(usable)
        assert got.excluded == len(confidences) - len(usable) > 0
        # Means of the same numbers in another order: ulps.
        assert got.brier_score == pytest.approx(brier_score_loss(y, c), rel=1e-12)
        # scikit-learn's uniform strategy: the same 10 bins for values not on an inner edge
        # (none here but 1.0, which both put in the last bin).
        accuracy, confidence = calibration_curve(y, c, n_bins=10, strategy="uniform")
        counts, edges = np.histogram(c, bins=10, range=(0.0, 1.0))
        counts = counts[counts > 0]
        assert [b.count for b in got.reliability] == counts.tolist()
        assert_allclose([b.accuracy for b in got.reliability], accuracy, rtol=1e-12)
        assert_allclose([b.mean_confidence for b in got.reliability], confidence, rtol=1e-12)
        lowers = [b.lower for b in got.reliability]
        assert all(low in np.round(edges, 12) for low in lowers)
        assert got.reliability[-1].upper == 1.0
        ece = float(np.sum(counts / counts.sum() * np.abs(accuracy - confidence)))
        assert got.expected_calibration_error == pytest.approx(ece, rel=1e-12)

    def test_hand_worked_case(self, rows: Rows, predictions: Any) -> None:
        # Bars up 0.001, 0.001, 0.001 in log terms: every resolved call's truth is LONG.
        first = END - timedelta(minutes=30)
        rows.bars(first, [4000.0, 4004.0, 4008.0, 4012.0])
        calls = [("LONG", 0.9), ("LONG", 0.8), ("SHORT", 0.85)]
        for i, (action, conf) in enumerate(calls):
            rows.inference(
                "hand", first + i * FIVE + timedelta(seconds=30), action, confidence=conf
            )
        got = accuracy_report(predictions, "hand", "1h").calibration
        # y = 1, 1, 0. Brier = (0.01 + 0.04 + 0.7225) / 3 = 0.2575.
        # Bin [0.8, 0.9): 0.8 and 0.85, accuracy 1/2, mean confidence 0.825;
        # bin [0.9, 1]: 0.9, accuracy 1. ECE = 2/3 * 0.325 + 1/3 * 0.1 = 0.25.
        assert (got.count, got.excluded) == (3, 0)
        assert got.brier_score == pytest.approx(0.2575, rel=1e-12)
        assert got.expected_calibration_error == pytest.approx(0.25, rel=1e-12)
        assert [(b.lower, b.upper, b.count) for b in got.reliability] == [
            (0.8, 0.9, 2),
            (0.9, 1.0, 1),
        ]
        assert [b.accuracy for b in got.reliability] == [0.5, 1.0]
        assert got.reliability[0].mean_confidence == pytest.approx(0.825, rel=1e-12)

    def test_nothing_usable_sends_only_the_counts(
        self, nullable_confidence: Rows, predictions: Any
    ) -> None:
        rows = nullable_confidence
        first = END - timedelta(minutes=30)
        rows.bars(first, [4000.0, 4004.0, 4008.0])
        for i, conf in enumerate([None, 1.2]):
            rows.conn.execute(
                "INSERT INTO dw.fact_rl_inference (timestamp_utc, model_id, symbol, action_raw,"
                " action_discretized, confidence) VALUES (%s, 'blind', 'USD/COP', 0, 'LONG', %s)",
                (first + i * FIVE + timedelta(seconds=30), conf),
            )
        rows.inference("waiting", END - timedelta(minutes=1), "LONG", confidence=0.7)  # pending
        blind = accuracy_report(predictions, "blind", "1h")
        assert blind.HasField("calibration")
        got = blind.calibration
        assert (got.count, got.excluded, list(got.reliability)) == (0, 2, [])
        assert not got.HasField("brier_score")
        assert not got.HasField("expected_calibration_error")
        waiting = accuracy_report(predictions, "waiting", "1h").calibration
        assert (waiting.count, waiting.excluded) == (0, 0)  # pending predictions are in neither
        assert not waiting.HasField("brier_score")


# --- model A/B ----------------------------------------------------------------------------------

Rewards = list[tuple[datetime, float | None]]


def write_pair(
    rows: Rows, rng: np.random.Generator, edge: float, bars: int
) -> tuple[Rewards, Rewards]:
    """Two models on ``bars`` common 5-minute bars ending at END; A earns ``edge`` more per bar.

    Both see the same market move; each has noise of its own. A also traded twice in one bar
    (summed), B's only row in another bar has a NULL reward (no common bar), and each traded
    once where the other did not.
    """
    first = END - bars * FIVE
    a: Rewards = []
    b: Rewards = []
    for i in range(bars):
        market = float(rng.normal(0, 3e-3))
        a.append(
            (first + i * FIVE + timedelta(seconds=10), market + edge + float(rng.normal(0, 1e-3)))
        )
        b.append((first + i * FIVE + timedelta(seconds=40), market + float(rng.normal(0, 1e-3))))
    a.append((first + 10 * FIVE + timedelta(minutes=2), 5e-4))  # a second row in bar 10
    b[20] = (b[20][0], None)  # B's bar 20 has no reward
    a.append((first - 3 * FIVE, 1e-3))  # only A, before the common span
    b.append((first - 7 * FIVE, -1e-3))  # only B
    for model_id, side in (("champion", a), ("challenger", b)):
        for at, reward in side:
            rows.inference(model_id, at, "LONG", reward=reward)
    return a, b


def compare(performance: Any, model_a: str, model_b: str, window: str = "", end: str = WHEN) -> Any:
    request = abpb.CompareModelsRequest(
        model_a=model_a, model_b=model_b, window=window, end_time=end
    )
    return performance.CompareModels(request).data


def assert_matches(got: Any, expected: Any) -> None:
    """The service's comparison against the reference (scipy on per-bar sums of dicts)."""
    assert got.common_bars == expected.common_bars
    # Sums of a few values in another order, then a t statistic: relative 1e-9 is far above
    # the rounding and far below any formula error; p-values compared the same way.
    assert got.mean_difference == pytest.approx(expected.mean, rel=1e-9)
    assert got.difference_ci95.lower == pytest.approx(expected.ci95[0], rel=1e-9)
    assert got.difference_ci95.upper == pytest.approx(expected.ci95[1], rel=1e-9)
    assert got.p_value == pytest.approx(expected.p_value, rel=1e-9)
    assert got.verdict == expected.verdict


class TestCompareModels:
    def test_a_clearly_better_model_wins(self, rows: Rows, performance: Any, metrics: Any) -> None:
        a, b = write_pair(rows, np.random.default_rng(7), edge=2e-3, bars=60)
        expected = paired(a, b)
        assert expected.common_bars == 59  # bar 20 has no reward for B
        assert expected.p_value is not None
        assert expected.p_value < 1e-6
        got = compare(performance, "champion", "challenger")
        assert got.window == "7d"  # this RPC's default
        assert got.start_time.ToDatetime(UTC) == END - timedelta(days=7)
        assert_matches(got, expected)
        assert got.verdict == "model_a"
        assert (got.min_common_bars, got.significance_level) == (30, 0.05)
        assert (got.model_a.model_id, got.model_b.model_id) == ("champion", "challenger")
        assert (got.model_a.data_points, got.model_b.data_points) == (62, 61)
        for side in (got.model_a, got.model_b):
            assert side.metrics == rolling(metrics, side.model_id, "7d").metrics
            assert side.probabilistic_sharpe == side.metrics.probabilistic_sharpe

        swapped = compare(performance, "challenger", "champion")
        assert_matches(swapped, paired(b, a))
        assert swapped.verdict == "model_b"
        assert swapped.mean_difference == -got.mean_difference
        assert swapped.p_value == pytest.approx(got.p_value, rel=1e-12)

    def test_under_30_common_bars_is_insufficient_data(self, rows: Rows, performance: Any) -> None:
        a, b = write_pair(rows, np.random.default_rng(7), edge=2e-3, bars=60)
        since = END - timedelta(hours=1)
        got = compare(performance, "champion", "challenger", "1h")
        expected = paired([r for r in a if r[0] > since], [r for r in b if r[0] > since])
        assert got.common_bars == expected.common_bars == 12
        assert got.verdict == "insufficient_data"
        # The statistics are still reported: they just decide nothing.
        assert_matches(got, expected)
        assert expected.p_value is not None
        assert expected.p_value < 0.05

    def test_equal_models_are_no_significant_difference(self, rows: Rows, performance: Any) -> None:
        first = END - 40 * FIVE
        for i in range(40):
            at = first + i * FIVE + timedelta(seconds=10)
            wobble = 1e-3 if i % 2 else -1e-3  # d = +-1e-3 alternately: mean 0
            rows.inference("twin_a", at, "LONG", reward=0.002 + wobble / 2)
            rows.inference("twin_b", at, "LONG", reward=0.002 - wobble / 2)
        got = compare(performance, "twin_a", "twin_b", "24h")
        assert got.common_bars == 40
        assert got.mean_difference == pytest.approx(0.0, abs=1e-18)
        assert got.p_value == pytest.approx(1.0, abs=1e-9)
        assert got.verdict == "no_significant_difference"

    def test_no_common_bar(self, rows: Rows, performance: Any) -> None:
        rows.inference("early", END - timedelta(hours=3), "LONG", reward=0.01)
        rows.inference("late", END - timedelta(hours=1), "LONG", reward=0.02)
        got = compare(performance, "early", "late")
        assert (got.common_bars, got.verdict) == (0, "insufficient_data")
        for field in ("mean_difference", "difference_ci95", "p_value"):
            assert not got.HasField(field), field
        assert got.model_a.data_points == got.model_b.data_points == 1

    def test_a_known_model_without_rows_in_the_window(self, rows: Rows, performance: Any) -> None:
        rows.inference("old", END - timedelta(days=20), "LONG", reward=0.01)
        rows.inference("new", END - timedelta(hours=1), "LONG", reward=0.02)
        got = compare(performance, "old", "new")
        assert (got.model_a.data_points, got.model_a.model_version) == (0, "")
        assert not got.model_a.HasField("probabilistic_sharpe")
        assert got.verdict == "insufficient_data"

    @pytest.mark.parametrize(
        ("fields", "violations"),
        [
            ({"model_b": "x"}, ["model_a"]),
            ({"model_a": "x"}, ["model_b"]),
            ({"model_a": " ", "model_b": ""}, ["model_a", "model_b"]),
            ({"model_a": "champion", "model_b": "champion"}, ["model_b"]),
            ({"model_a": "x", "model_b": "y", "window": "2h"}, ["window"]),
            ({"model_a": "x" * 101, "model_b": "y", "end_time": "noon"}, ["model_a", "end_time"]),
        ],
    )
    def test_invalid_arguments_name_the_parameter(
        self, performance: Any, fields: dict[str, str], violations: list[str]
    ) -> None:
        with pytest.raises(grpc.RpcError) as caught:
            performance.CompareModels(abpb.CompareModelsRequest(**fields))
        error: Any = caught.value
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        message = error.details()
        named = [
            part.split(":")[0] for part in message.removeprefix("invalid request: ").split("; ")
        ]
        assert named == violations, message
        if fields.get("model_a") == fields.get("model_b") == "champion":
            assert "model_b: must differ from model_a (both are 'champion')" in message

    @pytest.mark.parametrize(("model_a", "model_b"), [("nobody", "known"), ("known", "nobody")])
    def test_unknown_model_is_not_found(
        self, rows: Rows, performance: Any, model_a: str, model_b: str
    ) -> None:
        rows.inference("known", END - timedelta(hours=1), "LONG", reward=0.01)
        with pytest.raises(grpc.RpcError) as caught:
            compare(performance, model_a, model_b)
        error: Any = caught.value
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert "'nobody'" in error.details()
