"""Data and concept drift (analytics.drift) against scipy and hand-computed PSI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from numpy.testing import assert_allclose, assert_array_equal
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from analytics import (
    DEFAULT_CRITICAL_THRESHOLD,
    DEFAULT_WARNING_THRESHOLD,
    FEATURES,
    MIN_SAMPLES,
    concept_drift,
    data_drift,
    drift_status,
)
from analytics.drift import _kstwo_sf, _quantiles_sorted, feature_drift, ks_test, psi, wasserstein
from conftest import NAN
from strategies import float_arrays

# Small samples with many ties (integers) or none (floats), NaN never; or also empty and NaN.
samples = float_arrays(1, 30, ties=True)
samples_or_empty = float_arrays(0, 30, ties=True, nan=True)


def psi_reference(
    baseline: NDArray[np.float64], recent: NDArray[np.float64], bins: int = 10, eps: float = 1e-4
) -> float:
    """The textbook PSI with numpy's own quantile and digitize."""
    edges = np.unique(np.quantile(baseline, np.arange(1, bins) / bins))
    b = np.bincount(np.digitize(baseline, edges), minlength=edges.size + 1) / baseline.size
    r = np.bincount(np.digitize(recent, edges), minlength=edges.size + 1) / recent.size
    b, r = np.maximum(b, eps), np.maximum(r, eps)
    return float(np.sum((r - b) * np.log(r / b)))


def normal(
    seed: int, n: int, shift: float = 0.0, decimals: int | None = None
) -> NDArray[np.float64]:
    values = np.random.default_rng(seed).normal(shift, 1.0, n)
    return values if decimals is None else np.round(values, decimals)


class TestKsTest:
    @pytest.mark.parametrize(
        ("n_recent", "n_baseline", "shift", "decimals"),
        [
            (50, 400, 0.3, None),  # scipy's exact p-value
            (3000, 9000, 0.05, 1),  # exact, heavy ties
            (12_000, 15_000, 0.05, 2),  # asymptotic, slow series branch of kstwo.sf, ties
            (20_000, 11_000, 0.0, None),  # asymptotic, p near 1
            (10_001, 30_000, 0.5, None),  # asymptotic, p == 0
            (15_000, 40, 0.2, 1),  # asymptotic with a small effective n
        ],
    )
    def test_against_scipy(
        self, n_recent: int, n_baseline: int, shift: float, decimals: int | None
    ) -> None:
        recent = normal(1, n_recent, shift, decimals)
        baseline = normal(2, n_baseline, 0.0, decimals)
        got = ks_test(recent, baseline)
        expected = stats.ks_2samp(recent, baseline)
        # The statistic is the same float expression at the same points: bit for bit.
        assert got.statistic == float(expected.statistic)
        # The p-value is scipy's formula; its slow series is summed differently (~1e-13).
        assert_allclose(got.pvalue, expected.pvalue, rtol=1e-12, atol=1e-300)

    def test_nan_and_inf_are_dropped(self) -> None:
        recent, baseline = normal(3, 200, 0.2), normal(4, 300)
        dirty = np.concatenate([recent, [NAN, np.inf, -np.inf]])
        assert ks_test(dirty, baseline) == ks_test(recent, baseline)

    def test_empty_side(self) -> None:
        assert ks_test([], [1.0, 2.0]) == (0.0, 1.0)

    @settings(max_examples=60, deadline=None)
    @given(a=samples, b=samples)
    def test_symmetric_and_zero_on_identical(
        self, a: NDArray[np.float64], b: NDArray[np.float64]
    ) -> None:
        ab, ba = ks_test(a, b), ks_test(b, a)
        assert ab.statistic == ba.statistic
        assert 0.0 <= ab.statistic <= 1.0
        assert 0.0 <= ab.pvalue <= 1.0
        assert ks_test(a, a).statistic == 0.0
        assert ks_test(a, a).pvalue == 1.0

    def test_symmetric_on_large_samples(self) -> None:
        # Above 10 000 values the statistic comes from the merge kernel, not from scipy.
        a, b = normal(5, 12_000, 0.1, 1), normal(6, 20_000, 0.0, 1)
        assert ks_test(a, b).statistic == ks_test(b, a).statistic
        assert ks_test(b, b) == (0.0, 1.0)


class TestKstwoSf:
    @pytest.mark.parametrize("n", [141, 150, 500, 2_000, 10_001, 90_909])
    def test_matches_scipy_kstwo_sf(self, n: int) -> None:
        # Across all branches (the vectorized series covers 2.2 <= n d^2 < 370).
        for z in np.linspace(0.3, 20.0, 41):
            d = float(z / math.sqrt(n))
            if d >= 1.0:
                continue
            expected = float(stats.kstwo.sf(d, n))
            # Same series, summed as binomial pmfs: agreement to rounding (~1e-13).
            assert_allclose(_kstwo_sf(d, n), expected, rtol=1e-11, atol=1e-300)


class TestPsi:
    def test_hand_computed(self) -> None:
        # baseline 0..99: decile edges 9.9, 19.8, ..., 89.1, 10 values per bin -> b_k = 0.1.
        # recent: 20 values in [0, 9.9) -> r_0 = 1, r_1..9 = 0 floored to 1e-4.
        # PSI = (1 - 0.1) ln(1 / 0.1) + 9 (1e-4 - 0.1) ln(1e-4 / 0.1)
        #     = 0.9 * 2.302585 + 9 * 0.0999 * 6.907755 = 2.072327 + 6.210763 = 8.283089
        expected = 0.9 * math.log(10) + 9 * (1e-4 - 0.1) * math.log(1e-3)
        got = psi(np.arange(100.0), np.linspace(0.0, 9.5, 20))
        assert_allclose(got, expected, rtol=1e-12)
        assert_allclose(got, 8.283089, rtol=1e-6)

    def test_tied_baseline_merges_edges(self) -> None:
        # A constant baseline has a single edge 5: bins (-inf, 5) and [5, inf).
        # b = (0 -> 1e-4, 1); recent half below 5: r = (0.5, 0.5)
        # PSI = (0.5 - 1e-4) ln(0.5 / 1e-4) + (0.5 - 1) ln(0.5 / 1) = 4.257745 + 0.346574
        expected = (0.5 - 1e-4) * math.log(0.5 / 1e-4) + (0.5 - 1.0) * math.log(0.5)
        assert_allclose(psi([5.0] * 50, [4.0, 6.0] * 10), expected, rtol=1e-12)
        assert_allclose(expected, 4.604319, rtol=1e-6)

    def test_blind_to_a_shift_above_a_constant_baseline(self) -> None:
        # Known PSI limitation with quantile bins: everything >= the last edge is one bin.
        assert psi([1.0] * 20, [2.0] * 20) == 0.0

    @pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 1), (2, 0)])
    def test_against_reference(self, seed: int, decimals: int | None) -> None:
        baseline = normal(seed, 5000, 0.0, decimals)
        recent = normal(seed + 100, 700, 0.3, decimals)
        # Same bins (the quantiles are numpy's, bit for bit), sums in a different order.
        assert_allclose(psi(baseline, recent), psi_reference(baseline, recent), rtol=1e-12)

    def test_quantiles_of_sorted_sample_are_numpys(self) -> None:
        ordered = np.sort(normal(9, 1001, 0.0, 2))
        q = np.arange(1, 10) / 10
        assert_array_equal(_quantiles_sorted(ordered, q), np.quantile(ordered, q))

    def test_other_bins_and_eps(self) -> None:
        baseline, recent = normal(3, 400), normal(4, 300, 0.5)
        got = psi(baseline, recent, bins=4, eps=1e-3)
        assert_allclose(got, psi_reference(baseline, recent, 4, 1e-3), rtol=1e-12)
        assert psi(baseline, recent, bins=1) == 0.0  # a single bin holds everything

    def test_empty_and_bad_arguments(self) -> None:
        assert psi([], [1.0]) == 0.0
        with pytest.raises(ValueError, match="eps must be > 0"):
            psi([1.0], [1.0], eps=0.0)
        with pytest.raises(ValueError, match="bins must be >= 1"):
            psi([1.0], [1.0], bins=0)

    @settings(max_examples=60, deadline=None)
    @given(a=samples, b=samples)
    def test_non_negative_and_zero_on_identical(
        self, a: NDArray[np.float64], b: NDArray[np.float64]
    ) -> None:
        value = psi(a, b)
        assert math.isfinite(value)
        assert value >= 0.0
        assert psi(a, a) == 0.0


class TestWasserstein:
    @pytest.mark.parametrize(
        ("n_recent", "n_baseline", "decimals"),
        [(7, 5, None), (300, 2000, 1), (12_000, 15_000, None), (11_000, 30_000, 2)],
    )
    def test_against_scipy(self, n_recent: int, n_baseline: int, decimals: int | None) -> None:
        recent = normal(11, n_recent, 0.2, decimals)
        baseline = normal(12, n_baseline, 0.0, decimals)
        expected = stats.wasserstein_distance(recent, baseline)
        # The same terms; only the order of the final dot product's summation may differ.
        assert_allclose(wasserstein(recent, baseline), expected, rtol=1e-12)

    def test_by_hand(self) -> None:
        # Every point moves by 5: W1 = 5.
        assert wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0]) == 5.0
        assert wasserstein([], [1.0]) == 0.0


class TestFeatureDrift:
    def test_checked_feature_against_references(self) -> None:
        recent, baseline = normal(21, 300, 0.4), normal(22, 2000)
        got = feature_drift("vix_z", recent, baseline)
        ks = stats.ks_2samp(recent, baseline)
        assert (got.feature, got.checked, got.reason) == ("vix_z", True, None)
        assert (got.recent_count, got.baseline_count) == (300, 2000)
        assert (got.ks_statistic, got.p_value) == (float(ks.statistic), float(ks.pvalue))
        assert_allclose(got.psi, psi_reference(baseline, recent), rtol=1e-12)
        base_std = float(np.std(baseline, ddof=1))
        # Distance over the baseline std; the std is a dot product here (rounding only).
        assert_allclose(
            got.wasserstein, stats.wasserstein_distance(recent, baseline) / base_std, rtol=1e-12
        )
        assert_allclose(
            [got.recent_mean, got.baseline_mean, got.recent_std, got.baseline_std],
            [recent.mean(), baseline.mean(), np.std(recent, ddof=1), base_std],
            rtol=1e-12,
        )
        assert_allclose(got.mean_change, recent.mean() - baseline.mean(), rtol=1e-10)
        assert got.drifted is (got.ks_statistic > DEFAULT_WARNING_THRESHOLD)

    def test_large_samples_against_references(self) -> None:
        recent, baseline = normal(23, 20_000, 0.05, 3), normal(24, 50_000, 0.0, 3)
        got = feature_drift("rsi_9", recent, baseline)
        assert got.ks_statistic == float(stats.ks_2samp(recent, baseline).statistic)
        assert_allclose(got.psi, psi_reference(baseline, recent), rtol=1e-12)
        assert_allclose(
            got.wasserstein * got.baseline_std,
            stats.wasserstein_distance(recent, baseline),
            rtol=1e-12,
        )

    def test_drifted_is_strictly_above_the_threshold(self) -> None:
        # baseline 0..19, recent 3..22 (20 each): the CDFs differ by 3/20 at most, D = 0.15.
        baseline, recent = np.arange(20.0), np.arange(3.0, 23.0)
        at_threshold = feature_drift("dxy_z", recent, baseline, warning_threshold=0.15)
        assert at_threshold.ks_statistic == 0.15
        assert not at_threshold.drifted
        assert feature_drift("dxy_z", recent, baseline, warning_threshold=0.149).drifted

    def test_skipped_when_too_few_values(self) -> None:
        recent = [1.0, 2.0, NAN, 3.0, NAN, 4.0]  # 4 values once NULLs are dropped
        got = feature_drift("embi_z", recent, np.arange(50.0))
        assert not got.checked
        assert got.reason == "recent has 4 values, at least 10 needed"
        assert (got.recent_count, got.baseline_count) == (4, 50)
        assert (got.ks_statistic, got.p_value, got.psi, got.wasserstein) == (0.0, 0.0, 0.0, 0.0)
        assert not got.drifted
        # What there is, is still described.
        assert (got.recent_mean, got.baseline_mean, got.mean_change) == (2.5, 24.5, -22.0)
        assert_allclose(got.recent_std, np.std([1.0, 2.0, 3.0, 4.0], ddof=1), rtol=1e-15)

    def test_skip_reasons(self) -> None:
        got = feature_drift("atr_pct", [1.0], [2.0] * 3)
        assert got.reason == "recent has 1 value and baseline has 3 values, at least 10 needed"
        assert (got.recent_std, got.baseline_std) == (0.0, 0.0)
        got = feature_drift("atr_pct", [NAN] * 20, [NAN] * 20)
        assert got.reason == "recent has 0 values and baseline has 0 values, at least 10 needed"
        assert (got.recent_mean, got.mean_change) == (0.0, 0.0)
        got = feature_drift("atr_pct", range(10), range(9))
        assert got.reason == "baseline has 9 values, at least 10 needed"
        assert feature_drift("atr_pct", range(3), range(3), min_samples=3).checked

    def test_identical_constant_feature(self) -> None:
        got = feature_drift("rate_spread", [5.25] * 30, [5.25] * 100)
        assert got.checked
        assert (got.ks_statistic, got.p_value, got.psi, got.wasserstein) == (0.0, 1.0, 0.0, 0.0)
        assert (got.recent_std, got.baseline_std) == (0.0, 0.0)

    def test_baseline_std_zero_gives_raw_distance(self) -> None:
        got = feature_drift("rate_spread", [5.5] * 30, [5.25] * 100)
        assert (got.ks_statistic, got.wasserstein) == (1.0, 0.25)
        assert got.drifted

    def test_non_finite_values_are_dropped(self) -> None:
        recent, baseline = normal(31, 40, 1.0), normal(32, 60)
        clean = feature_drift("x", recent, baseline)
        dirty = feature_drift(
            "x", np.concatenate([[NAN, np.inf], recent]), np.concatenate([baseline, [-np.inf]])
        )
        assert dirty == clean
        # None (SQL NULL straight from a driver) is read as NaN.
        assert feature_drift("x", [*recent.tolist(), None], baseline) == clean

    def test_bad_arguments(self) -> None:
        with pytest.raises(ValueError, match="warning_threshold must be in"):
            feature_drift("x", [1.0], [1.0], warning_threshold=1.5)
        with pytest.raises(ValueError, match="min_samples must be >= 1"):
            feature_drift("x", [1.0], [1.0], min_samples=0)
        with pytest.raises(ValueError, match="recent must be one-dimensional"):
            feature_drift("x", [[1.0]], [1.0])

    @settings(max_examples=80, deadline=None)
    @given(a=samples_or_empty, b=samples_or_empty)
    def test_never_nan_or_inf(self, a: NDArray[np.float64], b: NDArray[np.float64]) -> None:
        got = feature_drift("x", a, b, min_samples=1)
        numbers = [
            got.ks_statistic,
            got.p_value,
            got.psi,
            got.wasserstein,
            got.recent_mean,
            got.baseline_mean,
            got.recent_std,
            got.baseline_std,
            got.mean_change,
        ]
        assert all(math.isfinite(v) for v in numbers)
        assert 0.0 <= got.ks_statistic <= 1.0
        assert 0.0 <= got.p_value <= 1.0
        assert got.psi >= 0.0
        assert got.wasserstein >= 0.0


class TestDataDrift:
    def test_score_max_and_drifted_features(self) -> None:
        recent: dict[str, ArrayLike] = {
            "vix_z": normal(41, 200, 1.0),
            "dxy_z": normal(42, 200),
            "embi_z": [1.0] * 3,
        }
        baseline = {"vix_z": normal(43, 500), "dxy_z": normal(44, 500), "embi_z": normal(45, 50)}
        got = data_drift(recent, baseline)
        assert [f.feature for f in got.features] == ["vix_z", "dxy_z", "embi_z"]  # input order
        vix, dxy, embi = got.features
        assert got.checked == 2
        assert not embi.checked
        assert_allclose(got.data_drift_score, (vix.ks_statistic + dxy.ks_statistic) / 2)
        assert got.max_feature_drift == max(vix.ks_statistic, dxy.ks_statistic)
        assert got.features_drifted == ("vix_z",)
        # Per feature, the same result as feature_drift alone (the scratch reuse is invisible).
        assert vix == feature_drift("vix_z", recent["vix_z"], baseline["vix_z"])

    def test_all_thirteen_features(self) -> None:
        recent = {name: normal(k, 120, 0.05 * k) for k, name in enumerate(FEATURES)}
        baseline = {name: normal(100 + k, 800) for k, name in enumerate(FEATURES)}
        got = data_drift(recent, baseline)
        assert got.checked == 13
        scores = [f.ks_statistic for f in got.features]
        assert_allclose(got.data_drift_score, np.mean(scores), rtol=1e-15)
        assert got.features_drifted == tuple(
            f.feature for f in got.features if f.ks_statistic > 0.15
        )

    def test_nothing_checked(self) -> None:
        got = data_drift({"x": [1.0]}, {"x": [2.0]})
        assert (got.checked, got.data_drift_score, got.max_feature_drift) == (0, 0.0, 0.0)
        assert got.features_drifted == ()
        empty = data_drift({}, {})
        assert (empty.features, empty.checked, empty.data_drift_score) == ((), 0, 0.0)

    def test_mismatched_features(self) -> None:
        with pytest.raises(ValueError, match=r"unmatched: \['b', 'c'\]"):
            data_drift({"a": [1.0], "b": [1.0]}, {"a": [1.0], "c": [1.0]})
        with pytest.raises(ValueError, match=r"unmatched: \['b'\]"):
            data_drift({"a": [1.0], "b": [1.0]}, {"a": [1.0]}, detail=False)

    @given(a=samples_or_empty, b=samples_or_empty, c=samples, d=samples)
    def test_the_score_alone_is_the_detailed_ones_to_the_bit(
        self,
        a: NDArray[np.float64],
        b: NDArray[np.float64],
        c: NDArray[np.float64],
        d: NDArray[np.float64],
    ) -> None:
        recent, baseline = {"x": a, "y": c, "z": a}, {"x": b, "y": d, "z": d}
        self.assert_same_score(recent, baseline, min_samples=1)
        self.assert_same_score(recent, baseline, warning_threshold=0.0)

    @pytest.mark.parametrize(
        ("n_recent", "n_baseline", "decimals"),
        [(7, 7, None), (288, 2016, 1), (288, 2016, None), (500, 12_000, 2), (12_000, 15_000, None)],
    )
    def test_the_score_alone_on_larger_samples(
        self, n_recent: int, n_baseline: int, decimals: int | None
    ) -> None:
        # The exact p-value's sizes (scipy rounds the statistic to 1 / lcm there), and beyond.
        recent = {name: normal(k, n_recent, 0.02 * k, decimals) for k, name in enumerate(FEATURES)}
        baseline = {
            name: normal(50 + k, n_baseline, 0, decimals) for k, name in enumerate(FEATURES)
        }
        self.assert_same_score(recent, baseline)

    @staticmethod
    def assert_same_score(
        recent: dict[str, NDArray[np.float64]],
        baseline: dict[str, NDArray[np.float64]],
        warning_threshold: float = 0.15,
        min_samples: int = 10,
    ) -> None:
        full = data_drift(recent, baseline, warning_threshold, min_samples)
        alone = data_drift(recent, baseline, warning_threshold, min_samples, detail=False)
        assert alone.features == ()
        assert (alone.checked, alone.data_drift_score, alone.max_feature_drift) == (
            full.checked,
            full.data_drift_score,
            full.max_feature_drift,
        )
        assert alone.features_drifted == full.features_drifted


class TestConceptDrift:
    def test_absolute_difference(self) -> None:
        assert concept_drift(0.5, 0.75) == 0.25
        assert concept_drift(0.75, 0.5) == 0.25
        assert concept_drift(0.6, 0.6) == 0.0

    def test_bad_accuracy(self) -> None:
        with pytest.raises(ValueError, match="baseline_accuracy must be in"):
            concept_drift(0.5, 1.5)


class TestDriftStatus:
    @pytest.mark.parametrize(
        ("data", "concept", "status"),
        [
            (0.0, None, "healthy"),
            (0.1499, 0.0, "healthy"),
            (0.15, None, "warning"),  # >= warning
            (0.2999, 0.1, "warning"),
            (0.30, None, "critical"),  # >= critical
            (0.05, 0.35, "critical"),  # concept drift dominates
            (0.05, 0.15, "warning"),
            (1.0, 1.0, "critical"),
        ],
    )
    def test_thresholds(self, data: float, concept: float | None, status: str) -> None:
        assert drift_status(data, concept, enough_data=True) == (status, None)
        assert (DEFAULT_WARNING_THRESHOLD, DEFAULT_CRITICAL_THRESHOLD) == (0.15, 0.30)

    def test_unknown_without_enough_data(self) -> None:
        reason = "baseline has 0 rows with features"
        got = drift_status(0.9, 0.9, enough_data=False, reason_if_unknown=reason)
        assert got == ("unknown", reason)
        assert drift_status(0.0, None, enough_data=False).reason == "not enough data to compare"

    def test_custom_thresholds(self) -> None:
        assert drift_status(0.2, None, enough_data=True, warning_threshold=0.25).status == "healthy"
        assert (
            drift_status(
                0.2, None, enough_data=True, warning_threshold=0.1, critical_threshold=0.2
            ).status
            == "critical"
        )

    @pytest.mark.parametrize(
        ("warning", "critical", "message"),
        [
            (0.4, 0.3, r"warning_threshold \(0.4\) must be <= critical_threshold \(0.3\)"),
            (0.1, -0.1, "critical_threshold must be in"),
            (NAN, 0.3, "warning_threshold must be finite"),
        ],
    )
    def test_bad_thresholds(self, warning: float, critical: float, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            drift_status(
                0.1,
                None,
                enough_data=True,
                warning_threshold=warning,
                critical_threshold=critical,
            )

    def test_bad_scores(self) -> None:
        with pytest.raises(ValueError, match="data_drift_score must be in"):
            drift_status(-0.1, None, enough_data=True)
        with pytest.raises(ValueError, match="concept_drift_score must be finite"):
            drift_status(0.1, NAN, enough_data=True)


def test_min_samples_is_ten() -> None:
    assert MIN_SAMPLES == 10
