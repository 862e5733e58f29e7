"""Is the model's input data drifting? (docs/DEFINITIONS.md#data-drift and #concept-drift.)

Each feature's recent values are compared with its baseline values by the two-sample
Kolmogorov-Smirnov statistic (the drift score), the population stability index and the
Wasserstein distance. Every statistic is computed from the two *sorted* samples, so each sample is
sorted once per feature and a 1M-row baseline costs tens of milliseconds, not the half second the
scipy functions take when called one after the other.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from analytics._checks import (
    as_float_array,
    check_fraction,
    check_positive_int,
)

__all__ = [
    "DEFAULT_CRITICAL_THRESHOLD",
    "DEFAULT_PSI_BINS",
    "DEFAULT_PSI_EPS",
    "DEFAULT_WARNING_THRESHOLD",
    "FEATURES",
    "MIN_SAMPLES",
    "DataDrift",
    "DriftVerdict",
    "FeatureDrift",
    "KsResult",
    "concept_drift",
    "data_drift",
    "drift_status",
    "feature_drift",
    "ks_test",
    "psi",
    "wasserstein",
]

FEATURES: tuple[str, ...] = (
    "log_ret_5m",
    "log_ret_1h",
    "log_ret_4h",
    "rsi_9",
    "atr_pct",
    "adx_14",
    "dxy_z",
    "dxy_change_1d",
    "vix_z",
    "embi_z",
    "brent_change_1d",
    "rate_spread",
    "usdmxn_ret_1h",
)
"""The 13 feature columns of ``dw.fact_rl_inference``, in table order."""

MIN_SAMPLES: Final = 10
"""A feature is checked only with at least this many non-NULL values on each side."""

DEFAULT_WARNING_THRESHOLD: Final = 0.15
DEFAULT_CRITICAL_THRESHOLD: Final = 0.30

DEFAULT_PSI_BINS: Final = 10
DEFAULT_PSI_EPS: Final = 1e-4

# scipy.stats.ks_2samp(method="auto") computes the exact p-value up to this sample size
# (its MAX_AUTO_N) and the asymptotic one above it.
_KS_EXACT_MAX_N: Final = 10000
# ks_2samp itself, without scipy's nan-policy/broadcasting decorator (functools.wraps keeps it as
# __wrapped__): the samples reaching it are already finite and 1-D, and the decorator costs a
# third of each call. Falls back to the public function if scipy ever stops wrapping it.
_KS_2SAMP = getattr(stats.ks_2samp, "__wrapped__", stats.ks_2samp)


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one feature, recent against baseline.

    Attributes
    ----------
    feature : str
        Feature name.
    checked : bool
        False when either side has fewer than `min_samples` values; then every statistic is 0
        (means and stds are still filled from what there is) and `drifted` is False.
    reason : str or None
        Why the feature was skipped, e.g. ``"recent has 4 values, at least 10 needed"``.
    recent_count, baseline_count : int
        Finite values on each side (NaN/NULL and infinities dropped).
    ks_statistic, p_value : float
        Two-sample Kolmogorov-Smirnov statistic and two-sided p-value, as
        ``scipy.stats.ks_2samp(recent, baseline)``.
    psi : float
        Population stability index over 10 baseline-quantile bins (see `psi`).
    wasserstein : float
        Wasserstein-1 distance divided by the baseline std (the raw distance if that std is 0, or
        so small that the ratio would overflow).
    recent_mean, baseline_mean : float
        Means (0.0 for an empty side).
    recent_std, baseline_std : float
        Sample stds, ddof 1 (0.0 with fewer than 2 values or all values equal).
    mean_change : float
        ``recent_mean - baseline_mean`` (0.0 unless both sides have a value).
    drifted : bool
        ``ks_statistic > warning_threshold``.
    """

    feature: str
    checked: bool
    reason: str | None
    recent_count: int
    baseline_count: int
    ks_statistic: float
    p_value: float
    psi: float
    wasserstein: float
    recent_mean: float
    baseline_mean: float
    recent_std: float
    baseline_std: float
    mean_change: float
    drifted: bool


@dataclass(frozen=True, slots=True)
class DataDrift:
    """Drift over all features.

    Attributes
    ----------
    features : tuple of FeatureDrift
        One entry per feature, in the input mapping's order (none without `detail`).
    checked : int
        Number of features with enough data on both sides.
    data_drift_score : float
        Mean KS statistic over the checked features; 0.0 when none is checked.
    max_feature_drift : float
        Largest KS statistic over the checked features; 0.0 when none is checked.
    features_drifted : tuple of str
        Names of the features whose KS statistic exceeds the warning threshold, in input order.
    """

    features: tuple[FeatureDrift, ...]
    checked: int
    data_drift_score: float
    max_feature_drift: float
    features_drifted: tuple[str, ...]


class DriftVerdict(NamedTuple):
    """Overall drift status: ``"healthy" | "warning" | "critical" | "unknown"``.

    `reason` says why the status is ``"unknown"``; it is None otherwise.
    """

    status: str
    reason: str | None


class KsResult(NamedTuple):
    """Two-sample KS statistic and two-sided p-value."""

    statistic: float
    pvalue: float


# ---------------------------------------------------------------------------------------------
# Sorted-sample kernels. Inputs are 1-D float64 arrays, sorted ascending, finite, non-empty.
# ---------------------------------------------------------------------------------------------


class _Scratch:
    """Scratch arrays reused across the features of one call.

    At a million values a fresh temporary costs about as much in page faults as the arithmetic
    done in it (glibc hands large blocks back to the kernel on free), so the sorted copies and
    the merge buffers are allocated once per call and sliced per feature.
    """

    __slots__ = ("_arrays",)

    def __init__(self) -> None:
        self._arrays: dict[str, NDArray[Any]] = {}

    def get(self, key: str, size: int, dtype: type[np.generic]) -> NDArray[Any]:
        """An uninitialized array of `size` elements, the same memory on every call for `key`."""
        array = self._arrays.get(key)
        if array is None or array.size < size:
            array = np.empty(size, dtype=dtype)
            self._arrays[key] = array
        return array[:size]

    def counting(self, size: int) -> NDArray[np.float64]:
        """1.0, 2.0, ..., size."""
        array = self._arrays.get("counting")
        if array is None or array.size < size:
            array = np.arange(1.0, size + 1.0)
            self._arrays["counting"] = array
        return array[:size]


def _sorted_finite(
    values: ArrayLike, name: str, scratch: _Scratch | None = None
) -> NDArray[np.float64]:
    """`values` sorted ascending, without NaN and infinities (in `scratch` if given)."""
    array = as_float_array(values, name)
    if scratch is None:
        ordered = np.sort(array)
    else:
        ordered = scratch.get(name, array.size, np.float64)
        np.copyto(ordered, array)
        ordered.sort()
    # Sorting places -inf first and +inf, then NaN, last; slicing drops them without a mask copy.
    low = int(np.searchsorted(ordered, -np.inf, side="right"))
    high = int(np.searchsorted(ordered, np.inf, side="left"))
    return ordered[low:high]


def _mean_std(ordered: NDArray[np.float64], scratch: _Scratch) -> tuple[float, float]:
    n = ordered.size
    if n == 0:
        return 0.0, 0.0
    mean = float(np.mean(ordered))
    # Exactly 0 for a constant sample (first == last once sorted); np.std would give rounding noise.
    if n < 2 or ordered[0] == ordered[-1]:
        return mean, 0.0
    deviation = np.subtract(ordered, mean, out=scratch.get("work", n, np.float64))
    return mean, math.sqrt(float(deviation @ deviation) / (n - 1))


def _quantiles_sorted(ordered: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """``numpy.quantile(ordered, q)`` (method "linear") without re-partitioning a sorted array."""
    position = (ordered.size - 1) * q
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, ordered.size - 1)
    gamma = position - below
    a, b = ordered[below], ordered[above]
    # numpy's _lerp: interpolate from the nearer end, so the result is monotone in gamma.
    return np.where(gamma >= 0.5, b - (b - a) * (1 - gamma), a + (b - a) * gamma)


def _psi_sorted(
    baseline: NDArray[np.float64], recent: NDArray[np.float64], bins: int, eps: float
) -> float:
    edges = np.unique(_quantiles_sorted(baseline, np.arange(1, bins) / bins))
    # Values below each edge, by binary search in the sorted samples; bin k is [e_{k-1}, e_k).
    base_counts = np.diff(
        np.searchsorted(baseline, edges, side="left"), prepend=0, append=baseline.size
    )
    recent_counts = np.diff(
        np.searchsorted(recent, edges, side="left"), prepend=0, append=recent.size
    )
    b = np.maximum(base_counts / baseline.size, eps)
    r = np.maximum(recent_counts / recent.size, eps)
    return float(np.sum((r - b) * np.log(r / b)))


def _ks_and_wasserstein(
    u: NDArray[np.float64], v: NDArray[np.float64], scratch: _Scratch
) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance of two sorted samples, from one merge.

    Along the merged sample z, ``gap_k = F_u(z_k) - F_v(z_k)`` with both CDFs counted up to and
    including position k. At the last position of a run of equal values these counts are the
    right-continuous CDFs that scipy evaluates with ``searchsorted(side="right")``, and each gap
    is the same float expression (``count_u / n_u - count_v / n_v``), so the maximum equals
    scipy's statistic bit for bit. Inside a run the counts are partial, but the step to the next
    value is exactly 0 there, so the integral of ``|gap|`` is scipy's Wasserstein distance too.
    """
    nu, nv = u.size, v.size
    size = nu + nv
    # Where each u lands among the v (u first on ties): a linear merge of two sorted runs.
    position = np.searchsorted(v, u, side="left")
    position += np.arange(nu)
    is_u = scratch.get("is_u", size, np.bool_)
    is_u[:] = False
    is_u[position] = True
    is_v = np.logical_not(is_u, out=scratch.get("is_v", size, np.bool_))
    merged = scratch.get("merged", size, np.float64)
    merged[position] = u
    merged[is_v] = v

    count_type = np.int32 if size < 2**31 else np.int64
    u_count = np.cumsum(is_u, dtype=count_type, out=scratch.get("u_count", size, count_type))
    gap = np.divide(u_count, nu, out=scratch.get("work", size, np.float64))
    v_cdf = np.subtract(scratch.counting(size), u_count, out=scratch.get("v_cdf", size, np.float64))
    v_cdf /= nv  # the counts of v were exact in float64
    gap -= v_cdf

    run_end = is_v  # reused
    np.not_equal(merged[1:], merged[:-1], out=run_end[:-1])
    run_end[-1] = True
    largest = float(np.max(gap, initial=-np.inf, where=run_end))
    smallest = float(np.min(gap, initial=np.inf, where=run_end))
    # max(F_u - F_v) and max(F_v - F_u), the latter clipped to [0, 1] as scipy does.
    statistic = max(largest, min(max(-smallest, 0.0), 1.0))

    np.abs(gap, out=gap)
    steps = np.subtract(merged[1:], merged[:-1], out=v_cdf[:-1])
    distance = float(gap[:-1] @ steps)
    return statistic, distance


def _kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``, with its slowest branch evaluated in vectorized form.

    For n > 140, d < 0.5 and 2.2 <= n d^2 < 370, scipy returns ``2 * scipy.special.smirnov(n, d)``,
    a series of ~n terms that it sums one by one (0.13 s at n = 90 909, 1.5 s at n = 10^6). The
    same Birnbaum-Tingey series is summed here as binomial probabilities,

        smirnov(n, d) = sum_{v=0}^{floor(n (1 - d))} d / p_v * Binom(v; n, p_v),  p_v = d + v / n,

    which agrees with scipy to ~1e-13 relative (tested) in a few milliseconds.
    """
    if n > 140 and d < 0.5 and 2.2 <= n * d * d < 370.0:
        v = np.arange(math.floor(n * (1.0 - d)) + 1, dtype=np.float64)
        p = np.minimum(d + v / n, 1.0)
        total = 2.0 * float(np.sum(stats.binom.pmf(v, n, p) * (d / p)))
        return min(max(total, 0.0), 1.0)
    return float(stats.kstwo.sf(d, n))


def _ks_statistic(
    recent: NDArray[np.float64], baseline: NDArray[np.float64], scratch: _Scratch
) -> float:
    """The KS statistic of two sorted samples exactly as `_ks_and_distance` gives it: up to
    _KS_EXACT_MAX_N values a side, rounded as scipy's exact method rounds it (to the nearest
    multiple of 1 / lcm(n1, n2)), without computing the p-value."""
    statistic, _ = _ks_and_wasserstein(recent, baseline, scratch)
    n1, n2 = recent.size, baseline.size
    if max(n1, n2) > _KS_EXACT_MAX_N:
        return statistic
    lcm = (n1 // math.gcd(n1, n2)) * n2
    return int(np.round(statistic * lcm)) * 1.0 / lcm


def _ks_and_distance(
    recent: NDArray[np.float64], baseline: NDArray[np.float64], scratch: _Scratch
) -> tuple[KsResult, float]:
    """KS test (as scipy.stats.ks_2samp) and Wasserstein distance of two sorted samples."""
    statistic, distance = _ks_and_wasserstein(recent, baseline, scratch)
    n1, n2 = recent.size, baseline.size
    if max(n1, n2) <= _KS_EXACT_MAX_N:
        # Small samples: scipy itself (exact p-value, at most tens of milliseconds). Its exact
        # method also rounds the statistic to a multiple of 1 / lcm(n1, n2), so take both.
        # When the exact sum rounds to a probability just above 1 (e.g. 7 vs 7 values,
        # D = 1/7), scipy warns and uses the asymptotic formula: that value is the answer, the
        # warning is noise. (catch_warnings swaps the process-wide filter list; the filter is
        # narrow, so a concurrent thread can at worst miss this same message.)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore",
                message="ks_2samp: Exact calculation unsuccessful",
                category=RuntimeWarning,
            )
            result = _KS_2SAMP(recent, baseline)
        return KsResult(float(result.statistic), float(result.pvalue)), distance
    # scipy's method="asymp", two-sided: kstwo.sf(D, round(n1 n2 / (n1 + n2))).
    m, n = max(n1, n2), min(n1, n2)
    effective_n = int(np.round(m * n / (m + n)))
    return KsResult(statistic, _kstwo_sf(statistic, effective_n)), distance


# ---------------------------------------------------------------------------------------------
# Public statistics.
# ---------------------------------------------------------------------------------------------


def ks_test(recent: ArrayLike, baseline: ArrayLike) -> KsResult:
    r"""Two-sample Kolmogorov-Smirnov test, as ``scipy.stats.ks_2samp`` (two-sided, auto).

    .. math::

        D = \sup_x |F_{recent}(x) - F_{baseline}(x)|

    Non-finite values are dropped. Up to 10 000 values per side this *is* scipy's call (exact
    p-value); above that the statistic is computed from the merged sorted samples (identical to
    scipy's, including ties) and the p-value by scipy's asymptotic rule
    ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``, with the slow series branch vectorized.

    Returns
    -------
    KsResult
        ``(statistic, pvalue)``; ``(0.0, 1.0)`` when either side is empty.

    Examples
    --------
    >>> ks_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).statistic
    0.0
    """
    r = _sorted_finite(recent, "recent")
    b = _sorted_finite(baseline, "baseline")
    if r.size == 0 or b.size == 0:
        return KsResult(0.0, 1.0)
    return _ks_and_distance(r, b, _Scratch())[0]


def psi(
    baseline: ArrayLike,
    recent: ArrayLike,
    bins: int = DEFAULT_PSI_BINS,
    eps: float = DEFAULT_PSI_EPS,
) -> float:
    r"""Population stability index over baseline-quantile bins.

    Bin edges are the baseline quantiles at :math:`1/bins, \dots, (bins-1)/bins` (numpy's
    linear method), with repeated edges merged (ties in the baseline give fewer, wider bins).
    The outer bins are open: :math:`(-\infty, e_1)` and :math:`[e_{last}, +\infty)`; inner bins
    are :math:`[e_{k-1}, e_k)`, as ``numpy.digitize``. With :math:`b_k, r_k` the fractions of
    baseline / recent values in bin :math:`k`, each floored at `eps` (not renormalized):

    .. math::

        PSI = \sum_k (r_k - b_k) \ln(r_k / b_k) \ \ge 0

    Parameters
    ----------
    baseline, recent : array of float
        Samples; NaN and infinities are dropped.
    bins : int, default 10
        Number of quantile bins, >= 1.
    eps : float, default 1e-4
        Floor of each fraction, in (0, 1].

    Returns
    -------
    float
        0.0 when either sample is empty.

    Examples
    --------
    >>> round(psi(np.arange(100.0), np.arange(100.0)), 12)
    0.0
    """
    bins = check_positive_int(bins, "bins")
    eps = check_fraction(eps, "eps")
    if eps == 0.0:
        raise ValueError("eps must be > 0")
    b = _sorted_finite(baseline, "baseline")
    r = _sorted_finite(recent, "recent")
    if b.size == 0 or r.size == 0:
        return 0.0
    return _psi_sorted(b, r, bins, eps)


def wasserstein(recent: ArrayLike, baseline: ArrayLike) -> float:
    r"""Wasserstein-1 distance, as ``scipy.stats.wasserstein_distance(recent, baseline)``.

    .. math::

        W_1 = \int_{-\infty}^{\infty} |F_{recent}(x) - F_{baseline}(x)|\,dx

    Non-finite values are dropped; 0.0 when either side is empty. (Unscaled: `feature_drift`
    divides it by the baseline std.)

    Examples
    --------
    >>> wasserstein([0.0, 1.0, 3.0], [5.0, 6.0, 8.0])
    5.0
    """
    r = _sorted_finite(recent, "recent")
    b = _sorted_finite(baseline, "baseline")
    if r.size == 0 or b.size == 0:
        return 0.0
    return _ks_and_wasserstein(r, b, _Scratch())[1]


def shortfall(counts: Iterable[tuple[str, int]], minimum: int) -> str | None:
    """Why there is too little data: each ``(text, count)`` with ``count < minimum``, joined.

    Returns None when no count is below `minimum`.

    Examples
    --------
    >>> shortfall([("recent has 4 values", 4), ("baseline has 12 values", 12)], 10)
    'recent has 4 values, at least 10 needed'
    >>> shortfall([("recent has 12 values", 12)], 10) is None
    True
    """
    short = [text for text, count in counts if count < minimum]
    if not short:
        return None
    return f"{' and '.join(short)}, at least {minimum} needed"


def _skip_reason(recent_count: int, baseline_count: int, min_samples: int) -> str | None:
    return shortfall(
        (
            (f"{side} has {count} value{'' if count == 1 else 's'}", count)
            for side, count in (("recent", recent_count), ("baseline", baseline_count))
        ),
        min_samples,
    )


def feature_drift(
    feature: str,
    recent: ArrayLike,
    baseline: ArrayLike,
    warning_threshold: float = DEFAULT_WARNING_THRESHOLD,
    min_samples: int = MIN_SAMPLES,
) -> FeatureDrift:
    r"""Drift statistics of one feature.

    With NaN (NULL) and infinite values dropped, and :math:`F` the empirical CDFs:

    - ``ks_statistic`` :math:`= \sup_x |F_r(x) - F_b(x)|`, ``p_value`` its two-sided p-value,
      both as ``scipy.stats.ks_2samp(recent, baseline)`` (see `ks_test`);
    - ``psi`` as `psi` (10 baseline-decile bins, eps 1e-4);
    - ``wasserstein`` :math:`= W_1(r, b) / s_b`, or :math:`W_1` when :math:`s_b = 0` (or so
      small that the ratio overflows);
    - means, sample stds (ddof 1) and ``mean_change`` :math:`= \bar r - \bar b`;
    - ``drifted`` :math:`= D > warning\_threshold`.

    The feature is skipped (``checked=False`` with a `reason`) when either side has fewer than
    `min_samples` values.

    Parameters
    ----------
    feature : str
        Name, echoed in the result.
    recent, baseline : array of float
        The feature's values in the recent and baseline windows, any order.
    warning_threshold : float, default 0.15
        KS statistic above which the feature counts as drifted, in [0, 1].
    min_samples : int, default 10
        Minimum number of values on each side, >= 1.

    Returns
    -------
    FeatureDrift
    """
    warning_threshold = check_fraction(warning_threshold, "warning_threshold")
    min_samples = check_positive_int(min_samples, "min_samples")
    return _feature_drift(
        feature,
        recent,
        baseline,
        warning_threshold=warning_threshold,
        min_samples=min_samples,
        scratch=_Scratch(),
    )


def _feature_drift(
    feature: str,
    recent: ArrayLike,
    baseline: ArrayLike,
    *,
    warning_threshold: float,
    min_samples: int,
    scratch: _Scratch,
) -> FeatureDrift:
    r = _sorted_finite(recent, "recent", scratch)
    b = _sorted_finite(baseline, "baseline", scratch)
    recent_mean, recent_std = _mean_std(r, scratch)
    baseline_mean, baseline_std = _mean_std(b, scratch)
    mean_change = recent_mean - baseline_mean if r.size and b.size else 0.0
    reason = _skip_reason(r.size, b.size, min_samples)
    checked = reason is None
    # A skipped feature keeps every statistic at 0 (see FeatureDrift.checked).
    ks, psi_value, wasserstein_value = KsResult(0.0, 0.0), 0.0, 0.0
    if checked:
        ks, distance = _ks_and_distance(r, b, scratch)
        psi_value = _psi_sorted(b, r, DEFAULT_PSI_BINS, DEFAULT_PSI_EPS)
        scaled = distance / baseline_std if baseline_std > 0.0 else distance
        # A std so small (subnormal) that the ratio overflows is as good as 0.
        wasserstein_value = scaled if math.isfinite(scaled) else distance
    return FeatureDrift(
        feature=feature,
        checked=checked,
        reason=reason,
        recent_count=int(r.size),
        baseline_count=int(b.size),
        ks_statistic=ks.statistic,
        p_value=ks.pvalue,
        psi=psi_value,
        wasserstein=wasserstein_value,
        recent_mean=recent_mean,
        baseline_mean=baseline_mean,
        recent_std=recent_std,
        baseline_std=baseline_std,
        mean_change=mean_change,
        drifted=checked and ks.statistic > warning_threshold,
    )


def data_drift(
    recent: Mapping[str, ArrayLike],
    baseline: Mapping[str, ArrayLike],
    warning_threshold: float = DEFAULT_WARNING_THRESHOLD,
    min_samples: int = MIN_SAMPLES,
    *,
    detail: bool = True,
) -> DataDrift:
    r"""Drift of every feature and the overall data drift score.

    .. math::

        data\_drift\_score = \frac{1}{|C|} \sum_{f \in C} D_f, \qquad
        max\_feature\_drift = \max_{f \in C} D_f

    over the checked features :math:`C` (both 0.0 when :math:`C` is empty).

    Parameters
    ----------
    recent, baseline : mapping of feature name to array of float
        The same feature names on both sides (e.g. `FEATURES`).
    warning_threshold : float, default 0.15
        A feature drifts when its KS statistic exceeds it.
    min_samples : int, default 10
        Minimum values on each side for a feature to be checked.
    detail : bool, default True
        False: the score alone (`features` empty; `checked`, the scores and `features_drifted`
        the same to the bit), without the p-values, PSI and distances that cost most of a call:
        for a check that reads the status only.

    Raises
    ------
    ValueError
        If the two mappings do not have the same feature names.
    """
    unmatched = [name for name in recent if name not in baseline]
    unmatched += [name for name in baseline if name not in recent]
    if unmatched:
        raise ValueError(f"recent and baseline must have the same features; unmatched: {unmatched}")
    warning_threshold = check_fraction(warning_threshold, "warning_threshold")
    min_samples = check_positive_int(min_samples, "min_samples")
    scratch = _Scratch()
    if detail:
        features = tuple(
            _feature_drift(
                name,
                recent[name],
                baseline[name],
                warning_threshold=warning_threshold,
                min_samples=min_samples,
                scratch=scratch,
            )
            for name in recent
        )
        statistics = {f.feature: f.ks_statistic for f in features if f.checked}
    else:
        features = ()
        statistics = {}
        for name in recent:
            r = _sorted_finite(recent[name], "recent", scratch)
            b = _sorted_finite(baseline[name], "baseline", scratch)
            if _skip_reason(r.size, b.size, min_samples) is None:
                statistics[name] = _ks_statistic(r, b, scratch)
    scores = list(statistics.values())
    return DataDrift(
        features=features,
        checked=len(scores),
        data_drift_score=math.fsum(scores) / len(scores) if scores else 0.0,
        max_feature_drift=max(scores, default=0.0),
        features_drifted=tuple(name for name, d in statistics.items() if d > warning_threshold),
    )


def concept_drift(recent_accuracy: float, baseline_accuracy: float) -> float:
    """Concept drift score: ``|accuracy(recent) - accuracy(baseline)|``.

    Both accuracies must be in [0, 1].

    Examples
    --------
    >>> concept_drift(0.5, 0.75)
    0.25
    """
    recent_accuracy = check_fraction(recent_accuracy, "recent_accuracy")
    baseline_accuracy = check_fraction(baseline_accuracy, "baseline_accuracy")
    return abs(recent_accuracy - baseline_accuracy)


def drift_status(
    data_drift_score: float,
    concept_drift_score: float | None,
    *,
    enough_data: bool,
    warning_threshold: float = DEFAULT_WARNING_THRESHOLD,
    critical_threshold: float = DEFAULT_CRITICAL_THRESHOLD,
    reason_if_unknown: str | None = None,
) -> DriftVerdict:
    r"""Overall drift status.

    With :math:`s = \max(data, concept)` (concept ignored when None):
    ``"critical"`` if :math:`s \ge critical`, ``"warning"`` if :math:`s \ge warning`, else
    ``"healthy"``; ``"unknown"`` when not `enough_data`, with `reason_if_unknown` (or a generic
    reason) as the reason.

    Raises
    ------
    ValueError
        If a score is outside [0, 1] or not ``0 <= warning_threshold <= critical_threshold <= 1``.

    Examples
    --------
    >>> drift_status(0.2, 0.05, enough_data=True)
    DriftVerdict(status='warning', reason=None)
    >>> drift_status(0.2, None, enough_data=False, reason_if_unknown="recent has 3 rows")
    DriftVerdict(status='unknown', reason='recent has 3 rows')
    """
    warning_threshold = check_fraction(warning_threshold, "warning_threshold")
    critical_threshold = check_fraction(critical_threshold, "critical_threshold")
    if warning_threshold > critical_threshold:
        raise ValueError(
            f"warning_threshold ({warning_threshold}) must be <= critical_threshold "
            f"({critical_threshold})"
        )
    score = check_fraction(data_drift_score, "data_drift_score")
    if concept_drift_score is not None:
        score = max(score, check_fraction(concept_drift_score, "concept_drift_score"))
    if not enough_data:
        return DriftVerdict("unknown", reason_if_unknown or "not enough data to compare")
    if score >= critical_threshold:
        return DriftVerdict("critical", None)
    if score >= warning_threshold:
        return DriftVerdict("warning", None)
    return DriftVerdict("healthy", None)
