"""The desk's own metrics: conditions over a window's rows and one aggregate of a column
(docs/DEFINITIONS.md#custom-metrics).

A custom metric is data, not code: ``aggregate`` of the values ``of`` one column over the rows
where every condition holds. NaN (SQL NULL) fails every condition, ``!=`` and ``not_in``
included, and is never aggregated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import as_float_array
from analytics.trading import trading_metrics

__all__ = ["AGGREGATES", "OPS", "custom_aggregate", "holds", "threshold_status"]

AGGREGATES: Final = (
    "count",
    "rate",
    "mean",
    "sum",
    "min",
    "max",
    "std",
    "quantile",
    "win_rate",
    "sharpe_ratio",
)
"""The aggregates, in the order they are documented."""

#: Aggregates that count rows and need no ``of`` column.
ROW_AGGREGATES: Final = frozenset({"count", "rate"})

OPS: Final = ("<", "<=", ">", ">=", "==", "!=", "in", "not_in")
"""The comparison operators of a condition."""


def holds(values: ArrayLike, op: str, operand: float | Sequence[float]) -> NDArray[np.bool_]:
    """Where ``values <op> operand`` holds; False wherever a value is NaN.

    ``in`` and ``not_in`` take a sequence of numbers, the other ops one number.

    >>> holds([1.0, float("nan"), 3.0], "!=", 1.0).tolist()
    [False, False, True]
    >>> holds([1.0, 2.0, 3.0], "not_in", [1.0, 3.0]).tolist()
    [False, True, False]
    """
    x = as_float_array(values, "values")
    known = ~np.isnan(x)
    if op in ("in", "not_in"):
        if not isinstance(operand, Sequence):
            raise ValueError(f"op {op} needs a list of values")
        member: NDArray[np.bool_] = np.isin(x, np.asarray(operand, dtype=np.float64))
        return known & (member if op == "in" else ~member)
    if isinstance(operand, Sequence):
        raise ValueError(f"op {op} needs one value")
    v = float(operand)
    with np.errstate(invalid="ignore"):
        result = {
            "<": x < v,
            "<=": x <= v,
            ">": x > v,
            ">=": x >= v,
            "==": x == v,
            "!=": x != v,
        }.get(op)
    if result is None:
        raise ValueError(f"unknown op {op!r}; known: {', '.join(OPS)}")
    matched: NDArray[np.bool_] = known & result
    return matched


def custom_aggregate(
    aggregate: str, values: ArrayLike, matching: int, total: int, q: float | None = None
) -> float | None:
    """The ``aggregate`` of a custom metric; None when it does not exist.

    Parameters
    ----------
    aggregate : str
        One of `AGGREGATES`.
    values : array of float
        The ``of`` values of the matching rows in time order (NaN for NULL: dropped); ignored
        by ``count`` and ``rate``.
    matching, total : int
        Rows where every condition holds, and all rows of the window.
    q : float, optional
        The quantile, 0 < q < 1 (``quantile`` only; ``numpy.quantile``'s linear method).

    Returns
    -------
    float or None
        ``count``: matching; ``rate``: matching / total (None without rows); ``sum``: 0 when
        empty; ``mean``, ``min``, ``max``, ``quantile``: None when empty; ``std`` (ddof 1):
        None under 2 values; ``win_rate`` and ``sharpe_ratio`` as `trading_metrics` (0 when
        empty).

    >>> custom_aggregate("quantile", [1.0, 2.0, 3.0, float("nan")], 4, 10, q=0.5)
    2.0
    >>> custom_aggregate("rate", [], 0, 0) is None
    True
    """
    if aggregate == "count":
        return float(matching)
    if aggregate == "rate":
        return matching / total if total else None
    x = as_float_array(values, "values")
    x = x[~np.isnan(x)]
    n = int(x.size)
    if aggregate == "sum":
        return float(np.sum(x)) if n else 0.0
    if aggregate in ("win_rate", "sharpe_ratio"):
        metrics = trading_metrics(x)
        return metrics.win_rate if aggregate == "win_rate" else metrics.sharpe_ratio
    if aggregate == "std":
        return float(np.std(x, ddof=1)) if n >= 2 else None
    if n == 0:
        return None
    if aggregate == "mean":
        return float(np.mean(x))
    if aggregate == "min":
        return float(np.min(x))
    if aggregate == "max":
        return float(np.max(x))
    if aggregate == "quantile":
        if q is None or not 0.0 < q < 1.0:
            raise ValueError(f"quantile needs 0 < q < 1, got {q!r}")
        return float(np.quantile(x, q))
    raise ValueError(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")


def threshold_status(
    value: float | None, better: str | None, warning: float | None, critical: float | None
) -> str:
    """``critical``, ``warning`` or ``ok`` of a value read against thresholds with ``better``
    (``higher``: below a threshold is bad; ``lower``: above it); ``undefined`` when the value
    does not exist and a threshold does; ``ok`` without thresholds.

    >>> threshold_status(0.47, "higher", 0.5, 0.45)
    'warning'
    """
    if warning is None and critical is None:
        return "ok"
    if value is None:
        return "undefined"

    def breached(threshold: float | None) -> bool:
        if threshold is None:
            return False
        return value < threshold if better == "higher" else value > threshold

    if breached(critical):
        return "critical"
    if breached(warning):
        return "warning"
    return "ok"
