"""Classification metrics (analytics.classification) against scikit-learn and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import NDArray
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    precision_recall_fscore_support,
)
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from analytics import ACTION_CODES, ACTION_LABELS, action_stats, classification_report
from analytics.actions import HOLD, LONG, SHORT
from analytics.classification import confusion_matrix
from strategies import with_gaps

CODES = np.array(ACTION_CODES, dtype=np.int8)


def random_rows(
    seed: int, n: int, present: tuple[int, ...] = ACTION_CODES
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    predicted = rng.choice(np.array(present, dtype=np.int8), n)
    actual = rng.choice(CODES, n)
    raw = np.clip(predicted + rng.normal(0.0, 0.5, n), -1.0, 1.0)
    return predicted, actual, raw


codes_strategy = st.sampled_from(ACTION_CODES)


@st.composite
def resolved_rows(
    draw: st.DrawFn,
) -> tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.float64]]:
    n = draw(st.integers(0, 40))
    predicted = draw(hnp.arrays(np.int8, n, elements=codes_strategy))
    actual = draw(hnp.arrays(np.int8, n, elements=codes_strategy))
    raw = draw(hnp.arrays(np.float64, n, elements=st.floats(-1.0, 1.0)))
    return predicted, actual, raw


class TestConfusionMatrix:
    @pytest.mark.parametrize("seed", range(3))
    def test_is_sklearn_transposed(self, seed: int) -> None:
        predicted, actual, _ = random_rows(seed, 500)
        # scikit-learn indexes [actual][predicted]; docs/DEFINITIONS.md has [predicted][actual].
        expected = sk_confusion_matrix(actual, predicted, labels=list(ACTION_CODES)).T
        got = confusion_matrix(predicted, actual)
        assert got.dtype == np.int64
        assert_array_equal(got, expected)

    def test_by_hand(self) -> None:
        # predicted LONG twice (actual LONG, HOLD), SHORT once (actual SHORT).
        got = confusion_matrix([LONG, LONG, SHORT], [LONG, HOLD, SHORT])
        assert got.tolist() == [[1, 0, 1], [0, 1, 0], [0, 0, 0]]

    def test_empty(self) -> None:
        assert confusion_matrix([], []).tolist() == [[0, 0, 0]] * 3


class TestClassificationReport:
    @pytest.mark.parametrize(
        ("seed", "present"),
        [(0, ACTION_CODES), (1, ACTION_CODES), (2, (LONG, SHORT)), (3, (HOLD,)), (4, (LONG,))],
    )
    def test_against_sklearn(self, seed: int, present: tuple[int, ...]) -> None:
        predicted, actual, raw = random_rows(seed, 997, present)
        got = classification_report(predicted, actual, raw)

        # Same counts and the same divisions as sklearn: float rounding only.
        assert_allclose(got.accuracy, accuracy_score(actual, predicted), rtol=1e-15)
        p, r, f, _ = precision_recall_fscore_support(
            actual, predicted, average="macro", zero_division=0
        )
        assert_allclose([got.precision, got.recall, got.f1_score], [p, r, f], rtol=1e-12)
        p, r, f, support = precision_recall_fscore_support(
            actual, predicted, labels=list(ACTION_CODES), average=None, zero_division=0
        )
        assert_allclose([c.precision for c in got.per_class], p, rtol=1e-12)
        assert_allclose([c.recall for c in got.per_class], r, rtol=1e-12)
        assert_allclose([c.f1_score for c in got.per_class], f, rtol=1e-12)
        assert [c.support for c in got.per_class] == support.tolist()
        assert [c.label for c in got.per_class] == list(ACTION_LABELS)
        assert_array_equal(
            got.confusion_matrix, sk_confusion_matrix(actual, predicted, labels=[1, -1, 0]).T
        )
        # MSE/MAE of action_raw against y* = the actual code; summation order differs.
        assert_allclose(got.mse, mean_squared_error(actual.astype(float), raw), rtol=1e-12)
        assert_allclose(got.mae, mean_absolute_error(actual.astype(float), raw), rtol=1e-12)
        assert got.resolved == 997
        assert got.correct == int((predicted == actual).sum())

    def test_by_hand(self) -> None:
        # predicted: L L S H H ; actual: L S S H L
        # LONG: tp 1, predicted 2, support 2 -> P 1/2, R 1/2, F1 2/4
        # SHORT: tp 1, predicted 1, support 2 -> P 1, R 1/2, F1 2/3
        # HOLD: tp 1, predicted 2, support 1 -> P 1/2, R 1, F1 2/3
        # macro P = (1/2 + 1 + 1/2)/3 = 2/3, R = (1/2 + 1/2 + 1)/3 = 2/3,
        # F1 = (1/2 + 2/3 + 2/3)/3 = 11/18; accuracy 3/5.
        # raw 1, .5, -1, 0, 0 vs y* 1, -1, -1, 0, 1: errors 0, 1.5, 0, 0, -1
        # -> MSE (2.25 + 1)/5 = 0.65, MAE 2.5/5 = 0.5
        got = classification_report(
            [LONG, LONG, SHORT, HOLD, HOLD], [LONG, SHORT, SHORT, HOLD, LONG], [1, 0.5, -1, 0, 0]
        )
        assert (got.resolved, got.correct) == (5, 3)
        assert_allclose(got.accuracy, 0.6, rtol=1e-15)
        assert_allclose([got.precision, got.recall, got.f1_score], [2 / 3, 2 / 3, 11 / 18])
        assert_allclose([c.f1_score for c in got.per_class], [0.5, 2 / 3, 2 / 3])
        assert [(c.support, c.predicted) for c in got.per_class] == [(2, 2), (2, 1), (1, 2)]
        assert_allclose([got.mse, got.mae], [0.65, 0.5], rtol=1e-15)

    def test_empty_is_all_zero(self) -> None:
        got = classification_report([], [], [])
        assert (got.resolved, got.correct) == (0, 0)
        assert (got.accuracy, got.precision, got.recall, got.f1_score) == (0.0, 0.0, 0.0, 0.0)
        assert (got.mse, got.mae) == (0.0, 0.0)
        assert [c.support for c in got.per_class] == [0, 0, 0]
        assert not got.confusion_matrix.any()

    def test_one_row(self) -> None:
        got = classification_report([SHORT], [SHORT], [-0.25])
        # Only SHORT is present: macro over {SHORT} = its own perfect scores.
        assert (got.accuracy, got.precision, got.recall, got.f1_score) == (1.0, 1.0, 1.0, 1.0)
        assert (got.mse, got.mae) == (0.5625, 0.75)

    def test_all_hold(self) -> None:
        got = classification_report([HOLD] * 4, [HOLD] * 4, [0.0] * 4)
        assert (got.accuracy, got.f1_score, got.mse) == (1.0, 1.0, 0.0)
        assert [c.predicted for c in got.per_class] == [0, 0, 4]
        assert got.per_class[0].precision == 0.0  # absent label: zeros, not NaN

    def test_nan_action_raw_left_out_of_errors_only(self) -> None:
        got = classification_report([LONG, LONG], [LONG, SHORT], [0.5, float("nan")])
        assert got.resolved == 2
        assert (got.mse, got.mae) == (0.25, 0.5)
        got = classification_report([LONG], [LONG], [float("nan")])
        assert (got.mse, got.mae) == (0.0, 0.0)

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (([1, 2], [1, 1], [0.0, 0.0]), "predicted must hold action codes"),
            (([1, 1], [1], [0.0, 0.0]), "predicted=2, actual=1, action_raw=2"),
            (([1.0], [1], [0.0]), "predicted must hold integer action codes"),
            ((["LONG"], [1], [0.0]), "predicted must hold integer"),
            (([1], [1], [float("inf")]), "action_raw must not contain infinite"),
            (([[1]], [[1]], [[0.0]]), "predicted must be one-dimensional"),
        ],
    )
    def test_bad_arguments_are_named(self, args: tuple[object, ...], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            classification_report(*args)  # type: ignore[arg-type]

    @settings(max_examples=60, deadline=None)
    @given(rows=resolved_rows(), seed=st.integers(0, 2**32 - 1))
    def test_invariant_under_row_permutation(
        self, rows: tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.float64]], seed: int
    ) -> None:
        predicted, actual, raw = rows
        order = np.random.default_rng(seed).permutation(predicted.size)
        a = classification_report(predicted, actual, raw)
        b = classification_report(predicted[order], actual[order], raw[order])
        assert (a.accuracy, a.precision, a.recall, a.f1_score) == (
            b.accuracy,
            b.precision,
            b.recall,
            b.f1_score,
        )  # counts only: exactly equal
        assert a.per_class == b.per_class
        assert_array_equal(a.confusion_matrix, b.confusion_matrix)
        assert_allclose([a.mse, a.mae], [b.mse, b.mae], rtol=1e-12)  # summation order

    @settings(max_examples=60, deadline=None)
    @given(rows=resolved_rows())
    def test_rates_in_unit_interval_and_finite(
        self, rows: tuple[NDArray[np.int8], NDArray[np.int8], NDArray[np.float64]]
    ) -> None:
        got = classification_report(*rows)
        rates = [got.accuracy, got.precision, got.recall, got.f1_score]
        rates += [v for c in got.per_class for v in (c.precision, c.recall, c.f1_score)]
        assert all(0.0 <= v <= 1.0 for v in rates)
        assert math.isfinite(got.mse)
        assert 0.0 <= got.mse <= 4.0
        assert math.isfinite(got.mae)
        assert 0.0 <= got.mae <= 2.0
        assert int(got.confusion_matrix.sum()) == got.resolved


def action_stats_by_loop(
    predicted: NDArray[np.int8],
    confidence: NDArray[np.float64],
    reward: NDArray[np.float64],
    correct: NDArray[np.bool_],
    resolved: NDArray[np.bool_],
) -> list[tuple[str, int, float, float | None, int, int, float]]:
    out = []
    for label, code in zip(ACTION_LABELS, ACTION_CODES, strict=True):
        rows = [i for i in range(predicted.size) if predicted[i] == code]
        conf = [confidence[i] for i in rows if not math.isnan(confidence[i])]
        rew = [reward[i] for i in rows if not math.isnan(reward[i])]
        done = [i for i in rows if resolved[i]]
        right = [i for i in done if correct[i]]
        out.append(
            (
                label,
                len(rows),
                sum(conf) / len(conf) if conf else 0.0,
                sum(rew) / len(rew) if rew else None,
                len(done),
                len(right),
                len(right) / len(done) if done else 0.0,
            )
        )
    return out


class TestActionStats:
    def test_matches_loop(self, rng: np.random.Generator) -> None:
        n = 300
        predicted = rng.choice(CODES, n)
        confidence = with_gaps(rng, rng.random(n), 0.1)
        reward = with_gaps(rng, rng.normal(0, 1e-3, n), 0.3)
        resolved = rng.random(n) < 0.8
        correct = rng.random(n) < 0.5  # also True on some pending rows: must be ignored there
        got = action_stats(predicted, confidence, reward, correct, resolved)
        expected = action_stats_by_loop(predicted, confidence, reward, correct, resolved)
        for g, e in zip(got, expected, strict=True):
            assert (g.label, g.count, g.resolved, g.correct) == (e[0], e[1], e[4], e[5])
            # Means: same values summed in a different order.
            assert_allclose([g.avg_confidence, g.success_rate], [e[2], e[6]], rtol=1e-12)
            assert e[3] is not None
            assert g.avg_reward is not None
            assert_allclose(g.avg_reward, e[3], rtol=1e-10)

    def test_absent_action_and_all_pending(self) -> None:
        nan = float("nan")
        got = action_stats([LONG, LONG], [0.9, 0.7], [nan, nan], [False, False], [False, False])
        long, short, hold = got
        assert long.count == 2
        assert_allclose(long.avg_confidence, 0.8, rtol=1e-15)
        assert long.avg_reward is None  # no reward yet: absent, not NaN
        assert (long.resolved, long.correct, long.success_rate) == (0, 0, 0.0)
        assert short == ("SHORT", 0, 0.0, None, 0, 0, 0.0)
        assert hold == ("HOLD", 0, 0.0, None, 0, 0, 0.0)

    def test_empty(self) -> None:
        got = action_stats([], [], [], [], [])
        assert [s.label for s in got] == list(ACTION_LABELS)
        assert all(s.count == 0 and s.avg_reward is None for s in got)

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="resolved must be a boolean array"):
            action_stats([1], [0.5], [0.0], [True], [1])
        with pytest.raises(ValueError, match="confidence=2"):
            action_stats([1], [0.5, 0.5], [0.0], [True], [True])
