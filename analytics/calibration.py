"""Can a model's confidence be trusted? (Brier score, expected calibration error, reliability.)

Over resolved predictions: a model is calibrated when, among the predictions it makes with
confidence about ``c``, a fraction about ``c`` is correct. Confidences are binned into equal-width
bins on [0, 1]; bin ``b`` of ``B`` is ``[b / B, (b + 1) / B)``, the last one closed so that a
confidence of exactly 1 counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from analytics._checks import as_bool_array, as_float_array, check_positive_int, check_same_length

__all__ = ["CALIBRATION_BINS", "Calibration", "ReliabilityBin", "confidence_calibration"]

CALIBRATION_BINS: Final = 10
"""Number of equal-width confidence bins of the calibration error and the reliability table."""


class ReliabilityBin(NamedTuple):
    """One non-empty confidence bin: ``lower <= confidence < upper`` (``<= 1`` in the last)."""

    lower: float
    upper: float
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, deliberately
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True, slots=True)
class Calibration:
    """Calibration of the confidence of resolved predictions.

    Attributes
    ----------
    count : int
        Predictions with a confidence in [0, 1] (:math:`N`).
    excluded : int
        Predictions left out: confidence NULL (NaN), infinite or outside [0, 1].
    brier_score : float or None
        ``mean((confidence - correct)^2)`` in [0, 1]; None when `count` is 0.
    expected_calibration_error : float or None
        ``sum_b n_b / N * |accuracy_b - mean_confidence_b|`` in [0, 1]; None when `count` is 0.
    reliability : tuple of ReliabilityBin
        The non-empty bins in ascending order; empty when `count` is 0.
    """

    count: int
    excluded: int
    brier_score: float | None
    expected_calibration_error: float | None
    reliability: tuple[ReliabilityBin, ...]


def confidence_calibration(
    confidence: ArrayLike, correct: ArrayLike, bins: int = CALIBRATION_BINS
) -> Calibration:
    r"""Brier score, expected calibration error and reliability table of confidences.

    Over the :math:`N` predictions with a confidence :math:`c_i \in [0, 1]` and outcome
    :math:`y_i \in \{0, 1\}` (1 = correct):

    .. math::

        Brier = \frac1N \sum_i (c_i - y_i)^2, \quad
        ECE = \sum_b \frac{n_b}{N} \left| acc_b - conf_b \right|
            = \frac1N \sum_b \Big| \sum_{i \in b} y_i - \sum_{i \in b} c_i \Big|

    with :math:`acc_b` and :math:`conf_b` the mean of :math:`y` and :math:`c` in bin :math:`b`
    of `bins` equal-width bins :math:`[b / B, (b + 1) / B)` (the last one includes 1). The bin
    edges are the floats nearest to :math:`b / B` (0.3, not 0.30000000000000004), so a
    confidence equal to a printed edge falls in the bin that starts there.

    Parameters
    ----------
    confidence : array of float
        The model's confidence per resolved prediction; NaN (SQL NULL), infinities and values
        outside [0, 1] are counted in `excluded` and otherwise ignored.
    correct : array of bool
        Whether each prediction was correct.
    bins : int, default 10
        Number of bins :math:`B`.

    Returns
    -------
    Calibration
        With :math:`N = 0` the scores are None and the table empty (`excluded` still counts).

    Raises
    ------
    ValueError
        Mismatched lengths, a non-boolean `correct`, or `bins` < 1.

    Examples
    --------
    >>> c = confidence_calibration([0.9, 0.9, 0.2, 1.0, 1.5], [True, False, False, True, True])
    >>> c.count, c.excluded, round(c.brier_score, 6), round(c.expected_calibration_error, 6)
    (4, 1, 0.215, 0.25)
    >>> [(b.lower, b.count, round(b.mean_confidence, 6), b.accuracy) for b in c.reliability]
    [(0.2, 1, 0.2, 0.0), (0.9, 3, 0.933333, 0.6666666666666666)]
    """
    conf = as_float_array(confidence, "confidence")
    ok = as_bool_array(correct, "correct")
    check_same_length(confidence=conf, correct=ok)
    bins = check_positive_int(bins, "bins")
    # NaN compares False, so NULL, +-inf and out-of-range values all fail this test.
    usable = (conf >= 0.0) & (conf <= 1.0)
    c = conf[usable]
    y = ok[usable].astype(np.float64)
    n = int(c.size)
    excluded = int(conf.size) - n
    if n == 0:
        return Calibration(0, excluded, None, None, ())

    edges = np.arange(bins + 1, dtype=np.float64) / bins
    # edges[b] <= c < edges[b + 1]; c = 1.0 would be bin B, which is folded into the last one.
    slot = np.minimum(np.searchsorted(edges, c, side="right") - 1, bins - 1)
    counts = np.bincount(slot, minlength=bins)
    # With weights bincount sums float64 (numpy's stubs say intp: astype is for mypy).
    confidence_sums = np.bincount(slot, weights=c, minlength=bins).astype(np.float64)
    correct_sums = np.bincount(slot, weights=y, minlength=bins).astype(np.float64)

    brier = float(np.mean(np.square(c - y)))
    ece = float(np.sum(np.abs(correct_sums - confidence_sums))) / n
    reliability = tuple(
        ReliabilityBin(
            lower=float(edges[b]),
            upper=float(edges[b + 1]),
            count=int(counts[b]),
            mean_confidence=float(confidence_sums[b] / counts[b]),
            accuracy=float(correct_sums[b] / counts[b]),
        )
        for b in np.flatnonzero(counts)
    )
    return Calibration(n, excluded, brier, ece, reliability)
