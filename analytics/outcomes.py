"""What actually happened after each prediction.

A prediction made at time ``t`` is judged against the market move from the bar it saw to the next
bar: ``p0`` is the close of the latest bar with ``time <= t`` and ``p1`` the close of the first bar
with ``time > t``. The move is the log return ``ln(p1 / p0)``; its sign beyond a small hold band is
the action that would have been right. Defined in
docs/DEFINITIONS.md#actual-outcome-of-a-prediction.
"""

from __future__ import annotations

from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import (
    as_datetime_array,
    as_datetime_scalar,
    as_float_array,
    check_non_negative,
    check_same_length,
)
from analytics.actions import LONG, SHORT

__all__ = ["DEFAULT_HOLD_BAND", "Outcomes", "resolve_outcomes"]

DEFAULT_HOLD_BAND: Final = 0.0002
"""Half-width of the HOLD band on the log return: 2 basis points."""


class Outcomes(NamedTuple):
    """Per-prediction outcomes, parallel to the prediction times.

    Attributes
    ----------
    actual_return : numpy.ndarray of float64
        ``ln(p1 / p0)``; ``0.0`` where pending.
    actual_action : numpy.ndarray of int8
        ``LONG`` (1) if ``actual_return > band``, ``SHORT`` (-1) if ``< -band``, else ``HOLD``
        (0); ``HOLD`` where pending.
    pending : numpy.ndarray of bool
        True where the outcome is not known as of ``end_time``.
    """

    actual_return: NDArray[np.float64]
    actual_action: NDArray[np.int8]
    pending: NDArray[np.bool_]


def resolve_outcomes(
    prediction_times: ArrayLike,
    bar_times: ArrayLike,
    bar_closes: ArrayLike,
    end_time: np.datetime64,
    band: float = DEFAULT_HOLD_BAND,
) -> Outcomes:
    r"""Forward log return and correct action of each prediction, as of `end_time`.

    For a prediction at time :math:`t`, with bars :math:`(\tau_j, c_j)` sorted by time:

    .. math::

        p_0 = c_j,\ j = \max\{j : \tau_j \le t\}, \qquad
        p_1 = c_k,\ k = \min\{k : \tau_k > t\}, \qquad
        r = \ln(p_1 / p_0)

    and the actual action is LONG if :math:`r > band`, SHORT if :math:`r < -band`, else HOLD
    (a return exactly at :math:`\pm band` is HOLD). The prediction is *pending* when there is no
    :math:`p_1` bar yet, when that bar's time is after `end_time`, or when there is no bar at or
    before :math:`t` at all (no :math:`p_0`).

    Parameters
    ----------
    prediction_times : array of datetime64
        Inference timestamps (UTC, naive), any order; converted to microseconds.
    bar_times : array of datetime64
        Bar timestamps of one symbol, sorted ascending. Duplicates are accepted (the last one is
        the latest bar with ``time <= t``), though the table's primary key excludes them.
    bar_closes : array of float
        Close prices, parallel to `bar_times`; finite and > 0.
    end_time : numpy.datetime64
        The "as of" instant: a bar with time after it is not known yet.
    band : float, default 0.0002
        Half-width of the HOLD band on the log return, >= 0.

    Returns
    -------
    Outcomes
        Parallel arrays ``actual_return``, ``actual_action``, ``pending``.

    Raises
    ------
    ValueError
        Mismatched `bar_times`/`bar_closes` lengths, unsorted `bar_times`, a close that is not a
        finite positive number, NaT, or a negative `band`.

    Notes
    -----
    Vectorized with one ``numpy.searchsorted`` over the bar times: O((n + m) log m). The return is
    computed as ``log1p((p1 - p0) / p0)``, which equals ``ln(p1 / p0)`` but keeps full relative
    precision for the tiny moves of a 5-minute bar.

    Examples
    --------
    >>> t = np.array(["2024-01-01T10:00", "2024-01-01T10:07", "2024-01-01T10:10"], "datetime64[us]")
    >>> bars = np.array(["2024-01-01T10:00", "2024-01-01T10:05"], "datetime64[us]")
    >>> out = resolve_outcomes(t, bars, [4000.0, 4010.0], np.datetime64("2024-01-01T10:05", "us"))
    >>> out.actual_action.tolist(), out.pending.tolist()
    ([1, 0, 0], [False, True, True])
    """
    times = as_datetime_array(prediction_times, "prediction_times")
    bars = as_datetime_array(bar_times, "bar_times")
    closes = as_float_array(bar_closes, "bar_closes")
    check_same_length(bar_times=bars, bar_closes=closes)
    end = as_datetime_scalar(end_time, "end_time")
    band = check_non_negative(band, "band")
    if bars.size > 1 and (bars[1:] < bars[:-1]).any():
        raise ValueError("bar_times must be sorted ascending")
    if closes.size and not (np.isfinite(closes).all() and closes.min() > 0.0):
        raise ValueError("bar_closes must be finite and > 0")

    n = times.shape[0]
    actual_return = np.zeros(n, dtype=np.float64)
    actual_action = np.zeros(n, dtype=np.int8)
    if bars.size == 0:
        return Outcomes(actual_return, actual_action, np.ones(n, dtype=np.bool_))

    # Index of the first bar strictly after t; the bar before it is the latest one at or before t.
    after = np.searchsorted(bars, times, side="right")
    known = (after > 0) & (after < bars.size)
    known[known] = bars[after[known]] <= end
    p1 = closes[after[known]]
    p0 = closes[after[known] - 1]
    actual_return[known] = np.log1p((p1 - p0) / p0)
    actual_action[actual_return > band] = LONG
    actual_action[actual_return < -band] = SHORT
    return Outcomes(actual_return, actual_action, ~known)
