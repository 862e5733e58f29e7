"""Trading actions as small integer codes.

An action is stored as the int8 code equal to its ideal signal ``y*``
(docs/DEFINITIONS.md#actual-outcome-of-a-prediction):
``LONG = 1``, ``SHORT = -1``, ``HOLD = 0``. Arrays of codes make every metric a vectorized
integer operation; the labels ``"LONG" | "SHORT" | "HOLD"`` only appear at the edges (database
strings in, response strings out). Everything that reports per action does so in
`ACTION_LABELS` order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics._checks import as_code_array

__all__ = [
    "ACTION_CODES",
    "ACTION_LABELS",
    "HOLD",
    "LONG",
    "SHORT",
    "action_index",
    "decode_actions",
    "encode_actions",
]

LONG: Final = 1
SHORT: Final = -1
HOLD: Final = 0

ACTION_LABELS: tuple[str, ...] = ("LONG", "SHORT", "HOLD")
ACTION_CODES: tuple[int, ...] = (LONG, SHORT, HOLD)

# Position in ACTION_LABELS of code c, looked up at c + 1: SHORT -> 1, HOLD -> 2, LONG -> 0.
_INDEX_OF_CODE_PLUS_ONE: Final = np.array([1, 2, 0], dtype=np.intp)


def encode_actions(
    labels: Sequence[str] | NDArray[np.str_] | NDArray[np.object_],
) -> NDArray[np.int8]:
    """Convert action labels to int8 codes.

    Parameters
    ----------
    labels : sequence of str
        ``"LONG"``, ``"SHORT"`` or ``"HOLD"`` (exact, upper case, as stored in
        ``dw.fact_rl_inference.action_discretized``).

    Returns
    -------
    numpy.ndarray of int8
        ``1`` for LONG, ``-1`` for SHORT, ``0`` for HOLD.

    Raises
    ------
    ValueError
        If any label is not one of the three, naming the first bad one and its position.

    Examples
    --------
    >>> encode_actions(["LONG", "HOLD", "SHORT"]).tolist()
    [1, 0, -1]
    """
    array = np.asarray(labels, dtype=object if isinstance(labels, Sequence) else None)
    if array.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {array.shape}")
    if array.size and array.dtype.kind not in "UO":
        raise ValueError(f"labels must be strings, got dtype {array.dtype}")
    codes = np.zeros(array.shape[0], dtype=np.int8)
    unmatched = np.ones(array.shape[0], dtype=np.bool_)
    for label, code in zip(ACTION_LABELS, ACTION_CODES, strict=True):
        match = np.asarray(array == label, dtype=np.bool_)
        codes[match] = code
        unmatched &= ~match
    if unmatched.any():
        position = int(np.argmax(unmatched))
        raise ValueError(
            f"labels[{position}] is {array[position]!r}, expected one of {', '.join(ACTION_LABELS)}"
        )
    return codes


def decode_actions(codes: ArrayLike) -> NDArray[np.str_]:
    """Convert int8 action codes back to their labels.

    Examples
    --------
    >>> decode_actions([1, -1, 0]).tolist()
    ['LONG', 'SHORT', 'HOLD']
    """
    return np.asarray(ACTION_LABELS)[action_index(codes)]


def action_index(codes: ArrayLike) -> NDArray[np.intp]:
    """Position of each action code in `ACTION_LABELS` (LONG -> 0, SHORT -> 1, HOLD -> 2).

    Raises
    ------
    ValueError
        If a code is not 1, -1 or 0.
    """
    checked = as_code_array(codes, "codes")
    return _INDEX_OF_CODE_PLUS_ONE[checked.astype(np.intp) + 1]
