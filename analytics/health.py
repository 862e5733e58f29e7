"""Is a model healthy? (docs/DEFINITIONS.md#model-health, over the last 24 hours.)

A 0..100 score (win rate, latency and recency points) and a status from threshold rules. Every
rule that fires adds one human-readable issue naming the measured value and the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from analytics._checks import (
    check_finite,
    check_fraction,
    check_non_negative,
    check_positive_int,
)

__all__ = [
    "LATENCY_CRITICAL_MS",
    "LATENCY_POINTS",
    "LATENCY_WARNING_MS",
    "MIN_PREDICTIONS",
    "RECENCY_POINTS",
    "SILENCE_CRITICAL_MIN",
    "SILENCE_WARNING_MIN",
    "WIN_POINTS_MAX",
    "WIN_POINTS_PER_WIN_RATE",
    "WIN_RATE_CRITICAL",
    "WIN_RATE_WARNING",
    "HealthAssessment",
    "assess_health",
    "with_critical_drift",
]

WIN_POINTS_MAX: Final = 40.0
WIN_POINTS_PER_WIN_RATE: Final = 80.0
LATENCY_POINTS: Final[tuple[tuple[float, int], ...]] = ((50.0, 30), (100.0, 20), (200.0, 10))
"""(upper bound in ms, inclusive; points) from best to worst; slower earns 0 points."""
RECENCY_POINTS: Final[tuple[tuple[float, int], ...]] = ((10.0, 30), (30.0, 20), (60.0, 10))
"""(minutes since the last prediction, inclusive; points); longer earns 0 points."""

WIN_RATE_CRITICAL: Final = 0.45
WIN_RATE_WARNING: Final = 0.50
LATENCY_CRITICAL_MS: Final = 200.0
LATENCY_WARNING_MS: Final = 100.0
SILENCE_CRITICAL_MIN: Final = 60.0
SILENCE_WARNING_MIN: Final = 30.0
MIN_PREDICTIONS: Final = 10


@dataclass(frozen=True, slots=True)
class HealthAssessment:
    """Health of one model.

    Attributes
    ----------
    status : str
        ``"healthy"``, ``"warning"`` or ``"critical"``.
    health_score : float
        ``win_points + latency_points + recency_points``, in [0, 100].
    win_points : float
        ``min(40, 80 * win_rate)``.
    latency_points : int
        30 / 20 / 10 / 0 for an average latency <= 50 / <= 100 / <= 200 / > 200 ms; 0 without
        latency data.
    recency_points : int
        30 / 20 / 10 / 0 for a last prediction <= 10 / <= 30 / <= 60 / > 60 minutes ago; 0 if
        the model never predicted.
    issues : tuple of str
        One message per rule that fired, critical ones first.
    """

    status: str
    health_score: float
    win_points: float
    latency_points: int
    recency_points: int
    issues: tuple[str, ...]


def _points(value: float | None, table: tuple[tuple[float, int], ...]) -> int:
    if value is None:
        return 0
    return next((points for bound, points in table if value <= bound), 0)


def _show(value: float, threshold: float, decimals: int) -> str:
    """`value` with `decimals` digits, or more if it would otherwise read as the threshold."""
    text = f"{value:.{decimals}f}"
    while float(text) == threshold and value != threshold and decimals < 6:
        decimals += 1
        text = f"{value:.{decimals}f}"
    return text


def _flag_excess(value: float, limits: tuple[tuple[float, list[str]], ...], message: str) -> None:
    """Add ``message.format(value, limit)`` to the issue list of the first limit `value` exceeds
    (`limits` go from the most severe), `value` shown with no decimals (see `_show`)."""
    for limit, issues in limits:
        if value > limit:
            issues.append(message.format(_show(value, limit, 0), limit))
            return


def assess_health(
    prediction_count: int,
    win_rate: float,
    avg_latency_ms: float | None,
    minutes_since_last: float | None,
    *,
    trades: int | None = None,
    min_trades: int = 0,
) -> HealthAssessment:
    r"""Health score, status and issues of one model over the last 24 hours.

    .. math::

        score = \min(40, 80\,w) + L(latency) + R(minutes)

    with :math:`L` = 30 / 20 / 10 / 0 for latency <= 50 / <= 100 / <= 200 / above (0 if None)
    and :math:`R` = 30 / 20 / 10 / 0 for <= 10 / <= 30 / <= 60 / more minutes (0 if None).

    Status rules (each one that fires adds an issue):

    ==========  ===========================================================================
    critical    win rate < 0.45; avg latency > 200 ms; silent > 60 min, or never predicted
    warning     win rate < 0.50; avg latency > 100 ms; silent > 30 min; < 10 predictions
    ==========  ===========================================================================

    A quantity that breaks its critical threshold is reported once, as critical. With no
    prediction in the window the win-rate and count rules are replaced by the single issue
    ``"no predictions in the last 24 h"``, which is critical. With fewer than `min_trades`
    `trades`, the win-rate rules give no verdict: the warning
    ``"too few trades (N < min_trades) for a win-rate verdict"`` stands in their place, so a
    win rate over a handful of trades never makes a model critical.

    Parameters
    ----------
    prediction_count : int
        Predictions in the last 24 h, >= 0.
    win_rate : float
        Win rate over those (bars with realized P&L), in [0, 1]; 0 when there are none.
    avg_latency_ms : float or None
        Mean latency in ms, >= 0; None without latency data.
    minutes_since_last : float or None
        Minutes since the model's last prediction (ever); None if it never predicted. A
        negative value (clock skew between database and server) is read as 0. The service
        passes market minutes (docs/DEFINITIONS.md#model-health).
    trades : int or None
        Trades (bars with realized P&L) the win rate is over; None: not checked.
    min_trades : int
        Trades a win-rate verdict needs, >= 0.

    Returns
    -------
    HealthAssessment

    Examples
    --------
    >>> h = assess_health(120, 0.42, 250.0, 185.0)
    >>> h.status, h.health_score
    ('critical', 33.6)
    >>> for issue in h.issues:
    ...     print(issue)
    win rate 42.0% below 45%
    avg latency 250 ms above 200 ms
    silent for 185 min (over 60 min)
    """
    prediction_count = check_positive_int(prediction_count, "prediction_count", minimum=0)
    min_trades = check_positive_int(min_trades, "min_trades", minimum=0)
    if trades is not None:
        trades = check_positive_int(trades, "trades", minimum=0)
    win_rate = check_fraction(win_rate, "win_rate")
    latency = (
        None if avg_latency_ms is None else check_non_negative(avg_latency_ms, "avg_latency_ms")
    )
    minutes = None
    if minutes_since_last is not None:
        minutes = max(check_finite(minutes_since_last, "minutes_since_last"), 0.0)

    win_points = min(WIN_POINTS_MAX, WIN_POINTS_PER_WIN_RATE * win_rate)
    latency_points = _points(latency, LATENCY_POINTS)
    recency_points = _points(minutes, RECENCY_POINTS)

    critical: list[str] = []
    warning: list[str] = []
    if prediction_count == 0:
        critical.append("no predictions in the last 24 h")
    else:
        shown = _show(100.0 * win_rate, 100.0 * WIN_RATE_CRITICAL, 1)
        if trades is not None and trades < min_trades:
            warning.append(f"too few trades ({trades} < {min_trades}) for a win-rate verdict")
        elif win_rate < WIN_RATE_CRITICAL:
            critical.append(f"win rate {shown}% below {100 * WIN_RATE_CRITICAL:g}%")
        elif win_rate < WIN_RATE_WARNING:
            shown = _show(100.0 * win_rate, 100.0 * WIN_RATE_WARNING, 1)
            warning.append(f"win rate {shown}% below {100 * WIN_RATE_WARNING:g}%")
        if prediction_count < MIN_PREDICTIONS:
            warning.append(
                f"only {prediction_count} prediction{'' if prediction_count == 1 else 's'} "
                f"in 24 h (fewer than {MIN_PREDICTIONS})"
            )
    if latency is not None:
        limits = ((LATENCY_CRITICAL_MS, critical), (LATENCY_WARNING_MS, warning))
        _flag_excess(latency, limits, "avg latency {} ms above {:g} ms")
    if minutes is None:
        critical.append("no prediction on record")
    else:
        limits = ((SILENCE_CRITICAL_MIN, critical), (SILENCE_WARNING_MIN, warning))
        _flag_excess(minutes, limits, "silent for {} min (over {:g} min)")

    status = "critical" if critical else "warning" if warning else "healthy"
    return HealthAssessment(
        status=status,
        health_score=win_points + latency_points + recency_points,
        win_points=win_points,
        latency_points=latency_points,
        recency_points=recency_points,
        issues=tuple(critical + warning),
    )


def with_critical_drift(assessment: HealthAssessment, drifted: Sequence[str]) -> HealthAssessment:
    """``assessment`` with the warning of a ``critical`` drift status: a last issue naming the
    drifted features (``drifted``, in schema order; concept drift when none), and a status of at
    least ``warning``. The score is unchanged (it has no drift points).

    >>> h = with_critical_drift(assess_health(120, 0.58, 20.0, 3.0), ["vol_5m", "spread_bps"])
    >>> h.status, h.health_score, h.issues
    ('warning', 100.0, ('drift critical: features vol_5m, spread_bps drifted',))
    >>> with_critical_drift(assess_health(120, 0.58, 20.0, 3.0), []).issues
    ('drift critical: concept drift (accuracy moved)',)
    """
    if drifted:
        noun = "feature" if len(drifted) == 1 else "features"
        issue = f"drift critical: {noun} {', '.join(drifted)} drifted"
    else:
        issue = "drift critical: concept drift (accuracy moved)"
    status = "warning" if assessment.status == "healthy" else assessment.status
    return replace(assessment, status=status, issues=(*assessment.issues, issue))
