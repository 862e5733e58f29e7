"""Confidence calibration (analytics.calibration) against scikit-learn and hand-worked cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from analytics import Calibration, confidence_calibration
from analytics.calibration import CALIBRATION_BINS, ReliabilityBin

NAN = float("nan")


def _reference_ece(confidence: list[float], correct: list[bool], bins: int) -> float:
    """ECE with one Python loop per bin, as the textbook writes it."""
    n = len(confidence)
    total = 0.0
    for b in range(bins):
        lower, upper = b / bins, (b + 1) / bins
        members = [
            i
            for i, c in enumerate(confidence)
            if lower <= c < upper or (b == bins - 1 and c == 1.0)
        ]
        if members:
            accuracy = sum(correct[i] for i in members) / len(members)
            mean_confidence = sum(confidence[i] for i in members) / len(members)
            total += len(members) / n * abs(accuracy - mean_confidence)
    return total


class TestConfidenceCalibration:
    def test_hand_worked(self) -> None:
        # Bins: 0.15 -> [0.1, 0.2); 0.55, 0.58 -> [0.5, 0.6); 0.95, 1.0 -> [0.9, 1.0].
        # Brier: (0.15-0)^2 + (0.55-1)^2 + (0.58-0)^2 + (0.95-1)^2 + (1-1)^2
        #      = 0.0225 + 0.2025 + 0.3364 + 0.0025 + 0 = 0.5639 -> / 5 = 0.11278
        # ECE: bin 1: 1/5 |0 - 0.15| = 0.03; bin 5: 2/5 |0.5 - 0.565| = 0.026;
        #      bin 9: 2/5 |1 - 0.975| = 0.01 -> 0.066
        got = confidence_calibration(
            [0.15, 0.55, 0.58, 0.95, 1.0], [False, True, False, True, True]
        )
        assert (got.count, got.excluded) == (5, 0)
        assert got.brier_score is not None
        assert got.expected_calibration_error is not None
        # Decimal inputs carry ~1e-16 representation error; a few sums compound it.
        assert_allclose(got.brier_score, 0.11278, rtol=1e-13)
        assert_allclose(got.expected_calibration_error, 0.066, rtol=1e-13)
        assert [(b.lower, b.upper, b.count, b.accuracy) for b in got.reliability] == [
            (0.1, 0.2, 1, 0.0),
            (0.5, 0.6, 2, 0.5),
            (0.9, 1.0, 2, 1.0),
        ]
        assert_allclose(
            [b.mean_confidence for b in got.reliability], [0.15, 0.565, 0.975], rtol=1e-15
        )

    @pytest.mark.parametrize("seed", range(4))
    def test_against_sklearn_and_a_loop(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(1, 5000))
        confidence = rng.beta(2.0, 1.5, n)
        correct = rng.random(n) < confidence**1.3  # over-confident, so the ECE is not ~0
        got = confidence_calibration(confidence, correct)
        assert got.brier_score is not None
        assert got.expected_calibration_error is not None
        # Mean of the same squares summed in another order: rounding only.
        assert_allclose(got.brier_score, brier_score_loss(correct, confidence), rtol=1e-12)
        assert_allclose(
            got.expected_calibration_error,
            _reference_ece(confidence.tolist(), correct.tolist(), 10),
            rtol=1e-10,  # per-bin sums in another order and one division less
        )
        # scikit-learn's uniform reliability curve: same non-empty bins for continuous data
        # (it sends a value equal to an inner edge to the bin below; the beta draws hit none).
        accuracy, mean_confidence = calibration_curve(correct, confidence, n_bins=10)
        assert_allclose([b.accuracy for b in got.reliability], accuracy, rtol=1e-12)
        assert_allclose([b.mean_confidence for b in got.reliability], mean_confidence, rtol=1e-12)
        assert sum(b.count for b in got.reliability) == n

    def test_confidence_one_is_in_the_last_bin(self) -> None:
        got = confidence_calibration([1.0, 1.0, 0.9], [True, False, True])
        assert got.reliability == (ReliabilityBin(0.9, 1.0, 3, got.reliability[0][3], 2 / 3),)
        assert_allclose(got.reliability[0].mean_confidence, 2.9 / 3, rtol=1e-15)

    def test_an_edge_value_starts_its_bin(self) -> None:
        # 0.3 and 0.7 (as typed, the floats nearest to them) are the lower edges of their bins.
        got = confidence_calibration([0.0, 0.3, 0.7, 0.1], [False, True, True, False])
        assert [(b.lower, b.count) for b in got.reliability] == [
            (0.0, 1),
            (0.1, 1),
            (0.3, 1),
            (0.7, 1),
        ]

    def test_out_of_range_confidence_is_excluded(self) -> None:
        values = [0.8, NAN, -0.01, 1.0000001, float("inf"), float("-inf"), 0.2]
        outcomes = [True, True, False, True, False, True, False]
        got = confidence_calibration(values, outcomes)
        assert (got.count, got.excluded) == (2, 5)
        # The same result as without the excluded rows, except for the count of them.
        assert got == dataclasses.replace(
            confidence_calibration([0.8, 0.2], [True, False]), excluded=5
        )

    def test_nothing_usable(self) -> None:
        assert confidence_calibration([], []) == Calibration(0, 0, None, None, ())
        assert confidence_calibration([NAN, 2.0], [True, False]) == Calibration(
            0, 2, None, None, ()
        )

    def test_perfect_and_worst(self) -> None:
        perfect = confidence_calibration([1.0, 0.0, 1.0], [True, False, True])
        assert (perfect.brier_score, perfect.expected_calibration_error) == (0.0, 0.0)
        worst = confidence_calibration([1.0, 0.0], [False, True])
        assert (worst.brier_score, worst.expected_calibration_error) == (1.0, 1.0)

    def test_bins(self) -> None:
        assert CALIBRATION_BINS == 10
        got = confidence_calibration([0.1, 0.6, 0.9], [True, True, False], bins=2)
        assert [(b.lower, b.upper, b.count) for b in got.reliability] == [
            (0.0, 0.5, 1),
            (0.5, 1.0, 2),
        ]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (([0.5, 0.5], [True]), "confidence=2, correct=1"),
            (([0.5], [1]), "correct must be a boolean array"),
            (([0.5], [True], 0), "bins must be >= 1"),
            (([[0.5]], [True]), "confidence must be one-dimensional"),
        ],
    )
    def test_bad_arguments(self, args: tuple[object, ...], message: str) -> None:
        with pytest.raises(ValueError, match=message):
            confidence_calibration(*args)  # type: ignore[arg-type]

    @settings(max_examples=100, deadline=None)
    @given(
        pairs=st.lists(
            st.tuples(
                st.floats(0.0, 1.0) | st.sampled_from([NAN, -0.5, 1.5, float("inf")]),
                st.booleans(),
            ),
            max_size=80,
        ),
        bins=st.integers(1, 20),
    )
    def test_scores_are_in_the_unit_interval(
        self, pairs: list[tuple[float, bool]], bins: int
    ) -> None:
        confidence = [c for c, _ in pairs]
        correct = [y for _, y in pairs]
        got = confidence_calibration(confidence, correct, bins=bins)
        usable = [c for c in confidence if 0.0 <= c <= 1.0]
        assert (got.count, got.excluded) == (len(usable), len(pairs) - len(usable))
        assert sum(b.count for b in got.reliability) == got.count
        if got.count == 0:
            assert got.brier_score is None
            assert got.expected_calibration_error is None
            return
        assert got.brier_score is not None
        assert got.expected_calibration_error is not None
        assert 0.0 <= got.brier_score <= 1.0
        assert 0.0 <= got.expected_calibration_error <= 1.0
        for b in got.reliability:
            # A mean of values in [lower, upper] is in it, up to the rounding of the mean.
            assert b.lower - 1e-15 <= b.mean_confidence <= b.upper + 1e-15
            assert 0.0 <= b.accuracy <= 1.0
