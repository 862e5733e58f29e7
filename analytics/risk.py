"""How bad are the bad bars, and is the Sharpe ratio real? (Tail risk and the probabilistic Sharpe.)

Over the non-NULL rewards ``r`` of a window, in time order, with ``Q(p) = numpy.quantile(r, p)``
(linear interpolation): Calmar ratio, 95 % value at risk and expected shortfall, tail ratio and
the probabilistic Sharpe ratio of Bailey and Lopez de Prado against a benchmark Sharpe of 0.
A value that does not exist is None, never NaN or infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from analytics._checks import as_float_array, check_finite, check_positive_int, drop_nan
from analytics.trading import _STD_NOISE, PERIODS_PER_YEAR, _max_drawdown

__all__ = [
    "MIN_PSR_REWARDS",
    "TAIL_PROBABILITY",
    "RiskMetrics",
    "probabilistic_sharpe_ratio",
    "risk_metrics",
]

TAIL_PROBABILITY: Final = 0.05
"""Left-tail probability of the value at risk and expected shortfall (95 % level)."""

MIN_PSR_REWARDS: Final = 3
"""Fewest rewards for which the probabilistic Sharpe ratio is defined."""


# Relative size below which the PSR radicand is taken for the rounding noise of an exact 0.
_RADICAND_NOISE: Final = 1e-12


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    """Tail risk and the probabilistic Sharpe ratio of a reward series.

    Attributes
    ----------
    calmar_ratio : float or None
        ``mean(r) * 14868 / max_drawdown``; None when there is no drawdown (or no reward).
    var_95 : float or None
        ``-Q(0.05)``: the per-bar loss exceeded on about 5 % of bars; None without rewards.
    cvar_95 : float or None
        ``-mean(r[r <= Q(0.05)])``: the mean loss on those bars; None without rewards.
    tail_ratio : float or None
        ``|Q(0.95)| / |Q(0.05)|``; None when ``Q(0.05) == 0`` or without rewards.
    probabilistic_sharpe : float or None
        Probability in [0, 1] that the true per-bar Sharpe ratio is above 0 (see
        `probabilistic_sharpe_ratio`); None with fewer than 3 rewards, zero standard deviation
        or a non-positive radicand.
    """

    calmar_ratio: float | None
    var_95: float | None
    cvar_95: float | None
    tail_ratio: float | None
    probabilistic_sharpe: float | None


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def probabilistic_sharpe_ratio(
    sharpe: float, count: int, skewness: float, kurtosis: float
) -> float | None:
    r"""Probabilistic Sharpe ratio against a benchmark Sharpe of 0, from the moments.

    .. math::

        PSR = \Phi\left(\frac{SR \sqrt{n - 1}}
                             {\sqrt{1 - \gamma_3 SR + \frac{\gamma_4 - 1}{4} SR^2}}\right)

    with :math:`SR` the per-bar (not annualised) Sharpe ratio ``mean / std(ddof=1)``,
    :math:`\gamma_3` the skewness (``scipy.stats.skew``, biased), :math:`\gamma_4` the Pearson
    kurtosis (``scipy.stats.kurtosis(fisher=False)``, biased; 3 for a normal distribution) and
    :math:`\Phi` the standard normal CDF (Bailey and Lopez de Prado, 2012).

    For moments of real data the radicand is never negative: :math:`\gamma_4 \ge 1 + \gamma_3^2`
    makes it at least :math:`(1 - \gamma_3 SR / 2)^2`. It reaches 0 only for a two-valued series
    with :math:`\gamma_3 SR = 2`, where the ratio is undefined; a radicand within
    :math:`10^{-12}` of the size of its terms is taken for such a 0 (rounding noise).

    Parameters
    ----------
    sharpe : float
        Per-bar Sharpe ratio.
    count : int
        Number of rewards :math:`n`.
    skewness, kurtosis : float
        :math:`\gamma_3` and :math:`\gamma_4` (Pearson, not excess).

    Returns
    -------
    float or None
        In [0, 1]; None when `count` < 3 or the radicand is <= 0 (up to rounding).

    Examples
    --------
    >>> round(probabilistic_sharpe_ratio(0.1, 101, 0.0, 3.0), 6)  # Phi(1 / sqrt(1.005))
    0.840741
    >>> probabilistic_sharpe_ratio(1.0, 50, 2.0, 2.0) is None  # radicand 1 - 2 + 0.25 < 0
    True
    """
    sharpe = check_finite(sharpe, "sharpe")
    count = check_positive_int(count, "count", minimum=0)
    skewness = check_finite(skewness, "skewness")
    kurtosis = check_finite(kurtosis, "kurtosis")
    if count < MIN_PSR_REWARDS:
        return None
    skew_term = skewness * sharpe
    kurtosis_term = (kurtosis - 1.0) / 4.0 * sharpe * sharpe
    radicand = 1.0 - skew_term + kurtosis_term
    # A radicand within rounding of its terms is 0 in exact arithmetic (see above): undefined.
    noise = _RADICAND_NOISE * (1.0 + abs(skew_term) + abs(kurtosis_term))
    if not radicand > noise or not math.isfinite(radicand):
        return None
    z = sharpe * math.sqrt(count - 1) / math.sqrt(radicand)
    # ndtr maps +-inf to 1 and 0, so only a NaN z (impossible here) could escape.
    return float(ndtr(z))


def _probabilistic_sharpe_of(r: NDArray[np.float64]) -> float | None:
    """`probabilistic_sharpe_ratio` of a validated reward array (no NaN, no infinity)."""
    n = int(r.size)
    if n < MIN_PSR_REWARDS:
        return None
    low, high = float(r.min()), float(r.max())
    if low == high:
        return None
    # SR, skewness and kurtosis are scale-free: dividing by max |r| keeps r^4 from under- or
    # overflowing whatever the reward units.
    x = r / max(abs(low), abs(high))
    mean = float(np.mean(x))
    d = x - mean
    d2 = d * d
    m2 = float(np.mean(d2))
    std = math.sqrt(m2 * n / (n - 1))
    # Same zero rule as sharpe_ratio: an std this small is the rounding noise of a constant series.
    if std <= _STD_NOISE * abs(mean):
        return None
    skewness = float(np.mean(d2 * d)) / m2**1.5
    kurtosis = float(np.mean(d2 * d2)) / (m2 * m2)
    return probabilistic_sharpe_ratio(mean / std, n, skewness, kurtosis)


def risk_metrics(rewards: ArrayLike, periods_per_year: int = PERIODS_PER_YEAR) -> RiskMetrics:
    r"""Calmar ratio, value at risk, expected shortfall, tail ratio and probabilistic Sharpe.

    Over the non-NULL rewards :math:`r_1..r_n` in time order, with :math:`Q(p)` the linear
    quantile (``numpy.quantile(r, p)``, type 7 of Hyndman and Fan):

    .. math::

        Calmar = \frac{\bar r \cdot P}{max\_drawdown}, \quad
        VaR_{95} = -Q(0.05), \quad
        CVaR_{95} = -\operatorname{mean}\{r_t : r_t \le Q(0.05)\}, \quad
        tail = \frac{|Q(0.95)|}{|Q(0.05)|}

    with ``max_drawdown`` as in `trading_metrics` and :math:`P` `periods_per_year`; the
    probabilistic Sharpe ratio as in `probabilistic_sharpe_ratio`, with
    :math:`SR = \bar r / s` (:math:`s` the ddof-1 std), :math:`\gamma_3 = m_3 / m_2^{3/2}`,
    :math:`\gamma_4 = m_4 / m_2^2` (:math:`m_k` the central moments, as ``scipy.stats.skew`` and
    ``scipy.stats.kurtosis(fisher=False)``).

    Parameters
    ----------
    rewards : array of float
        Per-bar rewards in time order; NaN (SQL NULL) entries are dropped.
    periods_per_year : int, default 14868
        Annualization factor :math:`P` of the Calmar ratio.

    Returns
    -------
    RiskMetrics
        Edge cases: with no reward every field is None. One reward is a sample of one: its
        quantiles are that reward, so VaR and CVaR are ``-r_1`` and the tail ratio is 1 (None if
        ``r_1 = 0``). Calmar is None without drawdown (also when the ratio would overflow); the
        tail ratio is None when ``Q(0.05) = 0`` (or when it would overflow); the probabilistic
        Sharpe is None with fewer than 3 rewards, a zero std (the rule of `sharpe_ratio`) or a
        non-positive radicand. A zero VaR is reported as ``0.0``, not ``-0.0``.

    Raises
    ------
    ValueError
        If `rewards` contains an infinity or `periods_per_year` < 1.

    Examples
    --------
    >>> m = risk_metrics([-3.0, -1.0, 0.0, 2.0, 4.0], periods_per_year=10)
    >>> m.calmar_ratio, round(m.var_95, 12), m.cvar_95, round(m.tail_ratio, 12)
    (1.0, 2.6, 3.0, 1.384615384615)
    """
    r = drop_nan(as_float_array(rewards, "rewards"), "rewards")
    periods_per_year = check_positive_int(periods_per_year, "periods_per_year")
    if r.size == 0:
        return RiskMetrics(None, None, None, None, None)

    drawdown = _max_drawdown(r)
    calmar = None
    if drawdown > 0.0:
        calmar = _finite_or_none(float(np.mean(r)) * periods_per_year / drawdown)

    low_q, high_q = (float(q) for q in np.quantile(r, [TAIL_PROBABILITY, 1.0 - TAIL_PROBABILITY]))
    # min(r) <= Q(0.05) always (linear interpolation never undershoots), so the tail is not empty.
    tail_mean = float(np.mean(r[r <= low_q]))
    tail_ratio = _finite_or_none(abs(high_q) / abs(low_q)) if low_q != 0.0 else None

    return RiskMetrics(
        calmar_ratio=calmar,
        var_95=-low_q + 0.0,  # + 0.0 turns -0.0 into 0.0
        cvar_95=-tail_mean + 0.0,
        tail_ratio=tail_ratio,
        probabilistic_sharpe=_probabilistic_sharpe_of(r),
    )
