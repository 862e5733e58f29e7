"""Were the predicted actions right? (docs/DEFINITIONS.md#classification-metrics.)

Predicted and actual actions are int8 codes (see `analytics.actions`). Every count comes from one
``numpy.bincount`` over a combined (predicted, actual) code, so a million rows cost a few
milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import as_bool_array, as_code_array, as_float_array, check_same_length
from analytics.actions import ACTION_LABELS, action_index

__all__ = [
    "ActionStats",
    "ClassMetrics",
    "ClassificationReport",
    "action_stats",
    "classification_report",
    "confusion_matrix",
    "safe_ratio",
]

# Codes -1, 0, 1 shifted to 0, 1, 2 are SHORT, HOLD, LONG: entry k is the shifted code of
# ACTION_LABELS[k], so indexing a shifted-code matrix with it reorders it to ACTION_LABELS.
_LABEL_ORDER_OF_SHIFTED = np.array([2, 0, 1], dtype=np.intp)


class ClassMetrics(NamedTuple):
    """One-vs-rest metrics of one action.

    Attributes
    ----------
    label : str
        ``"LONG"``, ``"SHORT"`` or ``"HOLD"``.
    precision : float
        ``tp / predicted``; 0.0 when the action was never predicted.
    recall : float
        ``tp / support``; 0.0 when the action never happened.
    f1_score : float
        ``2 tp / (support + predicted)`` (the harmonic mean of the two); 0.0 when both are 0.
    support : int
        Number of rows whose actual action is `label`.
    predicted : int
        Number of rows whose predicted action is `label`.
    """

    label: str
    precision: float
    recall: float
    f1_score: float
    support: int
    predicted: int


@dataclass(frozen=True, slots=True, eq=False)
class ClassificationReport:
    """Classification metrics over the resolved predictions of a window.

    Attributes
    ----------
    resolved : int
        Number of resolved predictions (the rows given).
    correct : int
        Rows where the predicted action equals the actual action.
    accuracy : float
        ``correct / resolved``; 0.0 when `resolved` is 0.
    precision, recall, f1_score : float
        Macro averages of the per-class values over the labels present in predicted *or*
        actual, exactly as ``sklearn.metrics.precision_recall_fscore_support(average="macro",
        zero_division=0)``; 0.0 when `resolved` is 0.
    per_class : tuple of ClassMetrics
        Always three entries, in ``ACTION_LABELS`` order; zeros for a label that is absent.
    confusion_matrix : numpy.ndarray of int64, shape (3, 3)
        ``confusion_matrix[i][j]`` counts rows predicted ``ACTION_LABELS[i]`` whose actual action
        was ``ACTION_LABELS[j]`` (the transpose of scikit-learn's ``[actual][predicted]``).
    mse, mae : float
        Mean squared / absolute error of ``action_raw`` against the ideal signal ``y*`` (the
        actual action's code), over the rows whose ``action_raw`` is not NaN; 0.0 when none.
    """

    resolved: int
    correct: int
    accuracy: float
    precision: float
    recall: float
    f1_score: float
    per_class: tuple[ClassMetrics, ...]
    confusion_matrix: NDArray[np.int64]
    mse: float
    mae: float


class ActionStats(NamedTuple):
    """Statistics of all predictions of one predicted action (pending ones included).

    Attributes
    ----------
    label : str
        The predicted action.
    count : int
        Predictions of this action, resolved or pending.
    avg_confidence : float
        Mean ``confidence`` over those with a confidence (NaN = NULL skipped); 0.0 if none.
    avg_reward : float or None
        Mean non-NULL ``reward``; None when no prediction of this action has a reward.
    resolved : int
        Predictions of this action whose outcome is known.
    correct : int
        Resolved predictions of this action that were correct.
    success_rate : float
        ``correct / resolved``; 0.0 when none is resolved.
    """

    label: str
    count: int  # type: ignore[assignment]  # the field shadows tuple.count, deliberately
    avg_confidence: float
    avg_reward: float | None
    resolved: int
    correct: int
    success_rate: float


def safe_ratio(numerator: ArrayLike, denominator: ArrayLike) -> NDArray[np.float64]:
    """Elementwise ``numerator / denominator``, 0.0 where the denominator is 0.

    Every rate of docs/DEFINITIONS.md (win rate, success rate, accuracy) when SQL did the counting:
    e.g. the win rate is ``safe_ratio(#(r > 0), #(r != 0))``.

    Examples
    --------
    >>> safe_ratio([3, 1], [4, 0]).tolist()
    [0.75, 0.0]
    """
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def confusion_matrix(predicted: ArrayLike, actual: ArrayLike) -> NDArray[np.int64]:
    """Counts of (predicted, actual) action pairs.

    Parameters
    ----------
    predicted, actual : array of int8 action codes
        Same length.

    Returns
    -------
    numpy.ndarray of int64, shape (3, 3)
        ``[i][j]`` = number of rows predicted ``ACTION_LABELS[i]`` with actual
        ``ACTION_LABELS[j]``.

    Examples
    --------
    >>> confusion_matrix([1, 1, -1], [1, 0, -1]).tolist()
    [[1, 0, 1], [0, 1, 0], [0, 0, 0]]
    """
    pred = as_code_array(predicted, "predicted")
    act = as_code_array(actual, "actual")
    check_same_length(predicted=pred, actual=act)
    # One combined key per row: 3 * (predicted + 1) + (actual + 1), in 0..8.
    key = pred.astype(np.intp)
    key *= 3
    key += act
    key += 4
    shifted = np.bincount(key, minlength=9).reshape(3, 3)
    order = _LABEL_ORDER_OF_SHIFTED
    return shifted[np.ix_(order, order)].astype(np.int64)


def classification_report(
    predicted: ArrayLike, actual: ArrayLike, action_raw: ArrayLike
) -> ClassificationReport:
    r"""Accuracy, macro precision/recall/F1, per-class metrics, confusion matrix, MSE and MAE.

    With the confusion matrix :math:`M` (rows predicted, columns actual) and for each label
    :math:`k`: :math:`tp_k = M_{kk}`, :math:`pred_k = \sum_j M_{kj}`,
    :math:`support_k = \sum_i M_{ik}`,

    .. math::

        precision_k = tp_k / pred_k, \quad recall_k = tp_k / support_k, \quad
        F1_k = 2\,tp_k / (support_k + pred_k)

    (0 where the denominator is 0). The macro averages are the plain means over the labels
    :math:`k` with :math:`support_k + pred_k > 0`. :math:`accuracy = \sum_k tp_k / n`.
    :math:`mse = mean((a - y^*)^2)`, :math:`mae = mean(|a - y^*|)` with :math:`a` = `action_raw`
    and :math:`y^*` the actual action's code (+1 / -1 / 0).

    Parameters
    ----------
    predicted : array of int8 action codes
        Predicted action of each *resolved* prediction.
    actual : array of int8 action codes
        Actual action of each, same length.
    action_raw : array of float
        The model's continuous output in [-1, 1], same length; NaN (NULL) rows are left out of
        `mse` and `mae` only.

    Returns
    -------
    ClassificationReport
        All zeros (and an all-zero matrix) when no row is given.

    Examples
    --------
    >>> r = classification_report([1, -1, 0, 1], [1, -1, 1, 1], [0.8, -0.6, 0.1, 0.4])
    >>> r.accuracy, r.correct, round(r.mae, 6)
    (0.75, 3, 0.525)
    """
    pred = as_code_array(predicted, "predicted")
    act = as_code_array(actual, "actual")
    raw = as_float_array(action_raw, "action_raw")
    n = check_same_length(predicted=pred, actual=act, action_raw=raw)
    if np.isinf(raw).any():
        raise ValueError("action_raw must not contain infinite values (NaN is read as NULL)")
    matrix = confusion_matrix(pred, act)

    tp = np.diagonal(matrix).astype(np.float64)
    predicted_count = matrix.sum(axis=1)
    support = matrix.sum(axis=0)
    precision = safe_ratio(tp, predicted_count.astype(np.float64))
    recall = safe_ratio(tp, support.astype(np.float64))
    # scikit-learn's F-beta form, (1 + b^2) tp / (b^2 support + predicted), which is 0 when tp is 0.
    f1 = safe_ratio(2.0 * tp, (support + predicted_count).astype(np.float64))
    present = (support + predicted_count) > 0
    correct = int(np.trace(matrix))

    valid = ~np.isnan(raw)
    error = raw[valid] - act[valid] if not valid.all() else raw - act
    mse = float(np.mean(np.square(error))) if error.size else 0.0
    mae = float(np.mean(np.abs(error))) if error.size else 0.0

    per_class = tuple(
        ClassMetrics(
            label=label,
            precision=float(precision[k]),
            recall=float(recall[k]),
            f1_score=float(f1[k]),
            support=int(support[k]),
            predicted=int(predicted_count[k]),
        )
        for k, label in enumerate(ACTION_LABELS)
    )
    return ClassificationReport(
        resolved=n,
        correct=correct,
        accuracy=correct / n if n else 0.0,
        precision=float(np.mean(precision[present])) if n else 0.0,
        recall=float(np.mean(recall[present])) if n else 0.0,
        f1_score=float(np.mean(f1[present])) if n else 0.0,
        per_class=per_class,
        confusion_matrix=matrix,
        mse=mse,
        mae=mae,
    )


def action_stats(
    predicted: ArrayLike,
    confidence: ArrayLike,
    reward: ArrayLike,
    correct: ArrayLike,
    resolved: ArrayLike,
) -> tuple[ActionStats, ...]:
    r"""Per predicted action: count, mean confidence, mean reward, success rate.

    For each action :math:`k`, over the rows :math:`i` predicted :math:`k`:
    :math:`count_k = |\{i\}|`, :math:`avg\_confidence_k` = mean of non-NaN confidences,
    :math:`avg\_reward_k` = mean of non-NaN rewards (None if there are none),
    :math:`success\_rate_k = \#(correct_i \wedge resolved_i) / \#resolved_i` (0 if none).

    Parameters
    ----------
    predicted : array of int8 action codes
        Predicted action of *every* prediction in the window, pending ones included.
    confidence : array of float
        Confidence of each prediction, NaN for NULL.
    reward : array of float
        Reward of each prediction, NaN for NULL (bar not closed yet).
    correct : array of bool
        Whether the prediction was correct; only read where `resolved` is True.
    resolved : array of bool
        Whether the outcome is known (not pending).

    Returns
    -------
    tuple of ActionStats
        Three entries in ``ACTION_LABELS`` order.
    """
    pred = as_code_array(predicted, "predicted")
    conf = as_float_array(confidence, "confidence")
    rew = as_float_array(reward, "reward")
    ok = as_bool_array(correct, "correct")
    done = as_bool_array(resolved, "resolved")
    check_same_length(predicted=pred, confidence=conf, reward=rew, correct=ok, resolved=done)
    if np.isinf(conf).any() or np.isinf(rew).any():
        raise ValueError("confidence and reward must not contain infinite values (NaN is NULL)")

    index = action_index(pred)
    count = np.bincount(index, minlength=3)

    def sum_and_count(values: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
        has = ~np.isnan(values)
        return (
            # With weights bincount sums float64 (numpy's stubs say intp: astype is for mypy).
            np.bincount(index[has], weights=values[has], minlength=3).astype(np.float64),
            np.bincount(index[has], minlength=3),
        )

    conf_sum, conf_n = sum_and_count(conf)
    reward_sum, reward_n = sum_and_count(rew)
    resolved_n = np.bincount(index[done], minlength=3)
    correct_n = np.bincount(index[done & ok], minlength=3)
    avg_conf = safe_ratio(conf_sum, conf_n.astype(np.float64))
    success = safe_ratio(correct_n.astype(np.float64), resolved_n.astype(np.float64))
    return tuple(
        ActionStats(
            label=label,
            count=int(count[k]),
            avg_confidence=float(avg_conf[k]),
            avg_reward=float(reward_sum[k] / reward_n[k]) if reward_n[k] else None,
            resolved=int(resolved_n[k]),
            correct=int(correct_n[k]),
            success_rate=float(success[k]),
        )
        for k, label in enumerate(ACTION_LABELS)
    )
