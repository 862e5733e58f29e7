"""Is model A really better than model B? (A paired t-test on the 5-minute bars both traded.)

Each model's reward at a bar is the sum of its non-NULL rewards whose time falls in the bar; bars
start on multiples of 5 minutes since the Unix epoch (``date_bin('5 minutes', t, 'epoch')`` in
PostgreSQL). Only bars where both models have a reward are compared, so the two series share the
market and the test sees the difference the model made.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from analytics._checks import (
    as_datetime_array,
    as_finite_array,
    as_float_array,
    check_fraction,
    check_positive_int,
    check_same_length,
)

__all__ = [
    "AB_MIN_COMMON_BARS",
    "AB_SIGNIFICANCE_LEVEL",
    "BAR_INTERVAL",
    "VERDICT_INSUFFICIENT_DATA",
    "VERDICT_MODEL_A",
    "VERDICT_MODEL_B",
    "VERDICT_NO_SIGNIFICANT_DIFFERENCE",
    "ABComparison",
    "BarRewards",
    "ConfidenceInterval",
    "ab_comparison",
    "bar_rewards",
    "paired_difference_test",
]

AB_MIN_COMMON_BARS: Final = 30
"""Fewest common bars for a verdict; below it the verdict is ``insufficient_data``."""

AB_SIGNIFICANCE_LEVEL: Final = 0.05
"""A difference is significant when the two-sided p-value is below this."""

BAR_INTERVAL: Final = np.timedelta64(5, "m")
"""Length of a bar: rewards are summed per 5-minute bar before pairing."""

VERDICT_MODEL_A: Final = "model_a"
VERDICT_MODEL_B: Final = "model_b"
VERDICT_NO_SIGNIFICANT_DIFFERENCE: Final = "no_significant_difference"
VERDICT_INSUFFICIENT_DATA: Final = "insufficient_data"

_CONFIDENCE: Final = 0.95
_BAR_US: Final = int(BAR_INTERVAL // np.timedelta64(1, "us"))


class ConfidenceInterval(NamedTuple):
    """A two-sided confidence interval."""

    lower: float
    upper: float


class BarRewards(NamedTuple):
    """One model's reward per bar, over the bars where it has a non-NULL reward.

    Attributes
    ----------
    bar_start : numpy.ndarray of datetime64[us]
        Bar starts, ascending, unique.
    reward : numpy.ndarray of float64
        Sum of the model's non-NULL rewards in the bar.
    """

    bar_start: NDArray[np.datetime64]
    reward: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ABComparison:
    """Paired comparison of two models on their common bars, ``d = r_a - r_b``.

    Attributes
    ----------
    common_bars : int
        Bars where both models have a non-NULL reward (:math:`n`).
    mean_difference : float or None
        ``mean(d)``; None when `common_bars` is 0.
    difference_ci95 : ConfidenceInterval or None
        ``mean(d) -/+ t(0.975, n - 1) * std(d, ddof=1) / sqrt(n)``; None with fewer than 2
        common bars. Zero width when every difference is equal.
    p_value : float or None
        Two-sided p-value of the one-sample t-test of ``mean(d) = 0``
        (``scipy.stats.ttest_1samp(d, 0)``); None with fewer than 2 common bars or when every
        difference is equal (the t statistic is not finite).
    verdict : str
        ``"model_a"`` / ``"model_b"`` (the larger mean reward) when the difference is
        significant, ``"no_significant_difference"`` otherwise, ``"insufficient_data"`` with
        fewer than 30 common bars. See `paired_difference_test` for equal differences.
    """

    common_bars: int
    mean_difference: float | None
    difference_ci95: ConfidenceInterval | None
    p_value: float | None
    verdict: str


def bar_rewards(times: ArrayLike, rewards: ArrayLike) -> BarRewards:
    r"""Sum a model's non-NULL rewards per 5-minute bar.

    Row :math:`i` falls in the bar starting at
    :math:`\lfloor t_i / 5\,\mathrm{min} \rfloor \cdot 5\,\mathrm{min}` (since the Unix epoch);
    a bar's reward is :math:`\sum_{i \in bar} r_i` over the rows with a non-NULL reward. A bar
    whose rows all have NULL rewards is absent.

    Parameters
    ----------
    times : array of datetime64
        Inference timestamps (UTC), any order.
    rewards : array of float
        Rewards, NaN for NULL.

    Returns
    -------
    BarRewards

    Raises
    ------
    ValueError
        Mismatched lengths, NaT times or infinite rewards.

    Examples
    --------
    >>> t = np.array(["2026-01-05T13:00:10", "2026-01-05T13:04:59", "2026-01-05T13:05"],
    ...              dtype="datetime64[us]")
    >>> bars = bar_rewards(t, [1.0, 2.0, float("nan")])
    >>> bars.bar_start.astype(str).tolist(), bars.reward.tolist()
    (['2026-01-05T13:00:00.000000'], [3.0])
    """
    return _sum_per_bar(*_model_rows(times, rewards, ""))


def _model_rows(
    times: ArrayLike, rewards: ArrayLike, suffix: str
) -> tuple[NDArray[np.datetime64], NDArray[np.float64]]:
    """Validated (times, rewards) of one model; `suffix` names the arguments (``_a``)."""
    t = as_datetime_array(times, f"times{suffix}")
    r = as_float_array(rewards, f"rewards{suffix}")
    check_same_length(**{f"times{suffix}": t, f"rewards{suffix}": r})
    if np.isinf(r).any():
        raise ValueError(f"rewards{suffix} must not contain infinite values (NaN is read as NULL)")
    return t, r


def _sum_per_bar(t: NDArray[np.datetime64], r: NDArray[np.float64]) -> BarRewards:
    keep = ~np.isnan(r)
    # Floor division rounds towards -inf, so times before 1970 fall in the right bar too.
    bar = t[keep].astype(np.int64) // _BAR_US
    values = r[keep]
    if bar.size == 0:
        return BarRewards(np.zeros(0, dtype="datetime64[us]"), np.zeros(0, dtype=np.float64))
    # Rows usually arrive in time order: then one O(n) check replaces the sort of np.unique.
    if (bar[1:] < bar[:-1]).any():
        order = np.argsort(bar)
        bar, values = bar[order], values[order]
    first = np.flatnonzero(np.concatenate(([True], bar[1:] != bar[:-1])))
    sums = np.add.reduceat(values, first)
    return BarRewards((bar[first] * _BAR_US).astype("datetime64[us]"), sums)


def paired_difference_test(
    differences: ArrayLike,
    *,
    min_common_bars: int = AB_MIN_COMMON_BARS,
    significance_level: float = AB_SIGNIFICANCE_LEVEL,
) -> ABComparison:
    r"""Paired t-test of per-bar reward differences ``d = r_a - r_b``.

    .. math::

        \bar d = \frac1n \sum d_i, \quad s = \sqrt{\tfrac{1}{n-1} \sum (d_i - \bar d)^2}, \quad
        t = \frac{\bar d}{s / \sqrt n}

        CI_{95} = \bar d \mp t_{0.975,\,n-1} \frac{s}{\sqrt n}, \quad
        p = 2\,(1 - F_{t,\,n-1}(|t|))

    as ``scipy.stats.ttest_1samp(d, 0)`` (computed here directly: scipy warns on nearly equal
    data, and a warning filter is process-wide state a threaded server cannot toggle safely).

    Verdict: ``"insufficient_data"`` when :math:`n <` `min_common_bars`; else the model with the
    larger mean (``"model_a"`` if :math:`\bar d > 0`, ``"model_b"`` if :math:`< 0`) when
    :math:`p <` `significance_level`; else ``"no_significant_difference"``.

    Equal differences (:math:`s = 0`, :math:`n \ge 2`): :math:`t` is not finite, so the p-value
    is None and the interval is the point :math:`[\bar d, \bar d]`. If :math:`\bar d \ne 0` one
    model beat the other by the same amount on every common bar, which is decisive: the verdict
    is that model (given enough bars). If :math:`\bar d = 0` the rewards were identical on every
    bar: ``"no_significant_difference"``.

    Parameters
    ----------
    differences : array of float
        Finite per-bar differences ``r_a - r_b`` (no NaN: pair the bars first).
    min_common_bars : int, default 30
        Fewest bars for a verdict.
    significance_level : float, default 0.05
        Threshold of the p-value, in [0, 1].

    Returns
    -------
    ABComparison
        `mean_difference`, `difference_ci95` and `p_value` are reported whenever they are
        defined, also under `min_common_bars` (the verdict then says they decide nothing).

    Raises
    ------
    ValueError
        If `differences` is not finite, or a threshold is out of range.

    Examples
    --------
    >>> c = paired_difference_test([1.0, 2.0, 3.0], min_common_bars=3)
    >>> c.mean_difference, round(c.p_value, 6), c.verdict  # t = 2 / (1 / sqrt 3)
    (2.0, 0.07418, 'no_significant_difference')
    """
    d = as_finite_array(differences, "differences", " (pair the bars where both have a reward)")
    min_common_bars = check_positive_int(min_common_bars, "min_common_bars", minimum=0)
    significance_level = check_fraction(significance_level, "significance_level")
    n = int(d.size)
    enough = n >= min_common_bars
    if n == 0:
        verdict = VERDICT_NO_SIGNIFICANT_DIFFERENCE if enough else VERDICT_INSUFFICIENT_DATA
        return ABComparison(0, None, None, None, verdict)

    low, high = float(d.min()), float(d.max())
    # Equal differences have that mean exactly (np.mean of 30 x 0.1 is 0.10000000000000003).
    mean = (low if low == high else float(np.mean(d))) + 0.0  # + 0.0 turns -0.0 into 0.0
    if n == 1:  # no spread, no test
        return ABComparison(1, mean, None, None, _verdict(mean, False, enough))

    # Exactly 0 for equal differences (np.std would return rounding noise there); a spread of
    # subnormal differences can underflow to 0 too, and is no measurable spread either.
    std = float(np.std(d, ddof=1)) if low != high else 0.0
    standard_error = std / math.sqrt(n)
    if standard_error == 0.0:
        return ABComparison(
            n, mean, ConfidenceInterval(mean, mean), None, _verdict(mean, mean != 0.0, enough)
        )
    interval, p_value = _t_test(mean, standard_error, n - 1)
    return ABComparison(
        common_bars=n,
        mean_difference=mean,
        difference_ci95=interval,
        p_value=p_value,
        verdict=_verdict(mean, p_value < significance_level, enough),
    )


def _t_test(estimate: float, standard_error: float, df: float) -> tuple[ConfidenceInterval, float]:
    """The 95 % interval ``estimate -/+ t(0.975, df) * standard_error`` and the two-sided p-value
    of ``estimate = 0`` under a t distribution with `df` degrees of freedom (standard_error > 0)."""
    half_width = float(stats.t.ppf(0.5 + _CONFIDENCE / 2.0, df)) * standard_error
    p_value = float(2.0 * stats.t.sf(abs(estimate / standard_error), df))
    return ConfidenceInterval(estimate - half_width, estimate + half_width), p_value


def _verdict(mean: float, significant: bool, enough: bool) -> str:
    if not enough:
        return VERDICT_INSUFFICIENT_DATA
    if not significant or mean == 0.0:
        return VERDICT_NO_SIGNIFICANT_DIFFERENCE
    return VERDICT_MODEL_A if mean > 0.0 else VERDICT_MODEL_B


def ab_comparison(
    times_a: ArrayLike,
    rewards_a: ArrayLike,
    times_b: ArrayLike,
    rewards_b: ArrayLike,
    *,
    min_common_bars: int = AB_MIN_COMMON_BARS,
    significance_level: float = AB_SIGNIFICANCE_LEVEL,
) -> ABComparison:
    """Paired A/B comparison of two models' rewards on the 5-minute bars both traded.

    Sums each model's rewards per bar (`bar_rewards`), keeps the bars where both have a
    non-NULL reward, and tests ``d = r_a - r_b`` there (`paired_difference_test`).

    Parameters
    ----------
    times_a, rewards_a : array of datetime64, array of float
        Model A's inference times and rewards (NaN for NULL), any order.
    times_b, rewards_b : array of datetime64, array of float
        The same for model B.
    min_common_bars : int, default 30
        Fewest common bars for a verdict.
    significance_level : float, default 0.05
        Threshold of the two-sided p-value.

    Returns
    -------
    ABComparison
        Swapping A and B negates `mean_difference` and the interval, keeps `p_value` and
        swaps ``"model_a"`` and ``"model_b"``.

    Raises
    ------
    ValueError
        Mismatched lengths within a model, NaT times, infinite rewards, or a threshold out of
        range.
    """
    a = _sum_per_bar(*_model_rows(times_a, rewards_a, "_a"))
    b = _sum_per_bar(*_model_rows(times_b, rewards_b, "_b"))
    _, in_a, in_b = np.intersect1d(
        a.bar_start, b.bar_start, assume_unique=True, return_indices=True
    )
    return paired_difference_test(
        a.reward[in_a] - b.reward[in_b],
        min_common_bars=min_common_bars,
        significance_level=significance_level,
    )
