"""Is the new model version worse than the one it replaced? (The rollback verdict.)

A version's rewards are summed per 5-minute bar exactly as in the A/B comparison
(`analytics.ab.bar_rewards`). When the baseline ran beside the candidate on enough common bars (a
canary or a shadow), the two are compared on those bars with the paired A/B test, ``d =
candidate - baseline``: both saw the same market, so the test sees the difference the version
made. Otherwise the candidate's bars are compared with the baseline's bars of the days before the
candidate's first row by Welch's t-test (unequal variances, Welch-Satterthwaite degrees of
freedom): a before/after comparison, which also sees any change of the market between the two
periods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import as_finite_array, check_fraction, check_positive_int
from analytics.ab import (
    AB_MIN_COMMON_BARS,
    AB_SIGNIFICANCE_LEVEL,
    VERDICT_INSUFFICIENT_DATA,
    VERDICT_MODEL_A,
    VERDICT_MODEL_B,
    BarRewards,
    ConfidenceInterval,
    _t_test,
    paired_difference_test,
)
from analytics.ab import _verdict as _ab_verdict
from analytics.trading import sharpe_ratio

__all__ = [
    "METHOD_PAIRED",
    "METHOD_WELCH",
    "VERDICT_CANDIDATE_BETTER",
    "VERDICT_ROLLBACK",
    "VERSION_MIN_BARS",
    "VERSION_SIGNIFICANCE_LEVEL",
    "DifferenceTest",
    "VersionComparison",
    "VersionSide",
    "compare_versions",
    "version_side",
    "welch_difference_test",
]

VERSION_MIN_BARS: Final = AB_MIN_COMMON_BARS
"""Fewest bars on each side (common bars for ``paired``) for a verdict."""

VERSION_SIGNIFICANCE_LEVEL: Final = AB_SIGNIFICANCE_LEVEL
"""A difference is significant when the two-sided p-value is below this."""

METHOD_PAIRED: Final = "paired"
METHOD_WELCH: Final = "welch"
VERDICT_ROLLBACK: Final = "rollback"
VERDICT_CANDIDATE_BETTER: Final = "candidate_better"


@dataclass(frozen=True, slots=True)
class VersionSide:
    """The bars one version is judged on.

    Attributes
    ----------
    data_points : int
        Bars (5-minute bars with a non-NULL reward).
    mean_reward : float or None
        Mean reward per bar; None without bars.
    sharpe_ratio : float
        ``mean / std(ddof=1) * sqrt(14868)`` over the bar rewards; 0 with fewer than 2 bars or
        zero spread (as `analytics.trading.sharpe_ratio`).
    win_rate : float
        Bars with reward > 0 over bars with reward != 0; 0 when none.
    """

    data_points: int
    mean_reward: float | None
    sharpe_ratio: float
    win_rate: float


@dataclass(frozen=True, slots=True)
class DifferenceTest:
    """A test of ``mean(candidate) - mean(baseline) = 0`` and its verdict.

    Attributes
    ----------
    mean_difference : float or None
        Candidate minus baseline mean reward per bar; None when a side has no bar.
    difference_ci95 : ConfidenceInterval or None
        Its 95 % interval; None when undefined (fewer than 2 bars on a side). A single point when
        the spread is 0.
    p_value : float or None
        Two-sided; None when undefined (fewer than 2 bars on a side, or zero spread).
    verdict : str
        ``"insufficient_data"``, ``"rollback"`` (significant and < 0), ``"candidate_better"``
        (significant and > 0) or ``"no_significant_difference"``.
    """

    mean_difference: float | None
    difference_ci95: ConfidenceInterval | None
    p_value: float | None
    verdict: str


@dataclass(frozen=True, slots=True)
class VersionComparison:
    """Candidate against baseline: the method, each side's bars and the test.

    Attributes
    ----------
    method : str
        ``"paired"`` (the common bars, when there are at least `min_bars`) or ``"welch"``.
    candidate, baseline : VersionSide
        The bars each side is judged on: the common bars for ``paired``; for ``welch`` the
        candidate's bars and the baseline's bars before the candidate. ``baseline`` is None when
        there is no baseline.
    common_bars : int
        Bars where both have a reward while the candidate runs.
    test : DifferenceTest
    """

    method: str
    candidate: VersionSide
    baseline: VersionSide | None
    common_bars: int
    test: DifferenceTest


def version_side(rewards: ArrayLike) -> VersionSide:
    """Bars, mean, Sharpe ratio and win rate of one version's per-bar rewards.

    >>> s = version_side([1.0, -1.0, 2.0, 0.0])
    >>> s.data_points, s.mean_reward, round(s.win_rate, 4)
    (4, 0.5, 0.6667)
    """
    r = as_finite_array(rewards, "rewards", " (per-bar sums of non-NULL rewards)")
    n = int(r.size)
    if n == 0:
        return VersionSide(0, None, 0.0, 0.0)
    mean = float(np.mean(r))
    std = float(np.std(r, ddof=1)) if n > 1 and r.min() != r.max() else 0.0
    realized = int(np.count_nonzero(r))
    wins = int(np.count_nonzero(r > 0))
    return VersionSide(
        data_points=n,
        mean_reward=mean,
        sharpe_ratio=sharpe_ratio(mean, std, n),
        win_rate=wins / realized if realized else 0.0,
    )


def welch_difference_test(
    candidate: ArrayLike,
    baseline: ArrayLike,
    *,
    min_bars: int = VERSION_MIN_BARS,
    significance_level: float = VERSION_SIGNIFICANCE_LEVEL,
) -> DifferenceTest:
    r"""Welch's t-test of two independent samples of per-bar rewards, candidate - baseline.

    .. math::

        \Delta = \bar c - \bar b, \quad
        s_\Delta = \sqrt{\frac{s_c^2}{n_c} + \frac{s_b^2}{n_b}}, \quad t = \Delta / s_\Delta

        \nu = \frac{s_\Delta^4}{\frac{(s_c^2/n_c)^2}{n_c - 1} + \frac{(s_b^2/n_b)^2}{n_b - 1}},
        \quad CI_{95} = \Delta \mp t_{0.975,\,\nu}\, s_\Delta, \quad
        p = 2\,(1 - F_{t,\,\nu}(|t|))

    with sample variances (ddof 1): as ``scipy.stats.ttest_ind(c, b, equal_var=False)``
    (computed here directly, as `analytics.ab.paired_difference_test` does).

    Verdict: ``"insufficient_data"`` when either side has fewer than `min_bars` bars; else
    ``"rollback"`` / ``"candidate_better"`` when :math:`p <` `significance_level` and
    :math:`\Delta < 0` / :math:`> 0`; else ``"no_significant_difference"``. Zero spread on both
    sides (:math:`s_\Delta = 0`): no p-value, a point interval, and a nonzero :math:`\Delta` is
    decisive, as in the paired test.

    Parameters
    ----------
    candidate, baseline : array of float
        Finite per-bar rewards of each version.
    min_bars : int, default 30
    significance_level : float, default 0.05

    Returns
    -------
    DifferenceTest

    Examples
    --------
    >>> w = welch_difference_test([1.0, 2.0, 3.0], [2.0, 4.0, 6.0], min_bars=3)
    >>> w.mean_difference, round(w.p_value, 4), w.verdict
    (-2.0, 0.2209, 'no_significant_difference')
    """
    c = as_finite_array(candidate, "candidate", " (per-bar rewards)")
    b = as_finite_array(baseline, "baseline", " (per-bar rewards)")
    min_bars = check_positive_int(min_bars, "min_bars", minimum=0)
    significance_level = check_fraction(significance_level, "significance_level")
    n_c, n_b = int(c.size), int(b.size)
    enough = n_c >= min_bars and n_b >= min_bars
    if n_c == 0 or n_b == 0:
        return DifferenceTest(None, None, None, _verdict(0.0, False, enough))
    difference = float(np.mean(c)) - float(np.mean(b)) + 0.0
    if n_c < 2 or n_b < 2:
        return DifferenceTest(difference, None, None, _verdict(difference, False, enough))
    var_c = float(np.var(c, ddof=1)) if c.min() != c.max() else 0.0
    var_b = float(np.var(b, ddof=1)) if b.min() != b.max() else 0.0
    part_c, part_b = var_c / n_c, var_b / n_b
    standard_error = math.sqrt(part_c + part_b)
    if standard_error == 0.0:
        point = ConfidenceInterval(difference, difference)
        return DifferenceTest(difference, point, None, _verdict(difference, True, enough))
    df = (part_c + part_b) ** 2 / (part_c**2 / (n_c - 1) + part_b**2 / (n_b - 1))
    interval, p_value = _t_test(difference, standard_error, df)
    return DifferenceTest(
        mean_difference=difference,
        difference_ci95=interval,
        p_value=p_value,
        verdict=_verdict(difference, p_value < significance_level, enough),
    )


_FROM_AB: Final = {VERDICT_MODEL_A: VERDICT_CANDIDATE_BETTER, VERDICT_MODEL_B: VERDICT_ROLLBACK}


def _verdict(difference: float, significant: bool, enough: bool) -> str:
    """The verdict rule of the A/B test (`analytics.ab`), with the candidate as model A."""
    verdict = _ab_verdict(difference, significant, enough)
    return _FROM_AB.get(verdict, verdict)


def compare_versions(
    candidate: BarRewards,
    baseline_alongside: BarRewards | None,
    baseline_before: BarRewards | None,
    *,
    min_bars: int = VERSION_MIN_BARS,
    significance_level: float = VERSION_SIGNIFICANCE_LEVEL,
) -> VersionComparison:
    """Candidate against baseline: paired on the common bars when there are enough, else Welch.

    Parameters
    ----------
    candidate : BarRewards
        The candidate's bars from its first row on (`analytics.ab.bar_rewards`).
    baseline_alongside : BarRewards or None
        The baseline's bars over the same span (None: no baseline).
    baseline_before : BarRewards or None
        The baseline's bars in the days before the candidate's first row (None: no baseline).
    min_bars : int, default 30
        Fewest common bars for ``paired``; fewest bars on each side for a ``welch`` verdict.
    significance_level : float, default 0.05

    Returns
    -------
    VersionComparison
        ``paired``: `analytics.ab.paired_difference_test` of ``d = candidate - baseline`` on the
        common bars (model A is the candidate). ``welch``: `welch_difference_test` of the
        candidate's bars against ``baseline_before``. Without a baseline: ``welch``,
        ``insufficient_data``, no numbers.
    """
    min_bars = check_positive_int(min_bars, "min_bars", minimum=0)
    if baseline_alongside is None or baseline_before is None:
        test = DifferenceTest(None, None, None, VERDICT_INSUFFICIENT_DATA)
        return VersionComparison(METHOD_WELCH, version_side(candidate.reward), None, 0, test)
    _, in_c, in_b = np.intersect1d(
        candidate.bar_start, baseline_alongside.bar_start, assume_unique=True, return_indices=True
    )
    common = int(in_c.size)
    if common >= min_bars:
        c: NDArray[np.float64] = candidate.reward[in_c]
        b: NDArray[np.float64] = baseline_alongside.reward[in_b]
        paired = paired_difference_test(
            c - b, min_common_bars=min_bars, significance_level=significance_level
        )
        test = DifferenceTest(
            paired.mean_difference,
            paired.difference_ci95,
            paired.p_value,
            _FROM_AB.get(paired.verdict, paired.verdict),
        )
        return VersionComparison(METHOD_PAIRED, version_side(c), version_side(b), common, test)
    welch = welch_difference_test(
        candidate.reward,
        baseline_before.reward,
        min_bars=min_bars,
        significance_level=significance_level,
    )
    return VersionComparison(
        METHOD_WELCH,
        version_side(candidate.reward),
        version_side(baseline_before.reward),
        common,
        welch,
    )
