"""Argument validation shared by the analytics modules (private).

Every public function converts its inputs through these helpers, so a bad argument always raises
`ValueError` naming the argument, before any arithmetic runs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_bool_array",
    "as_code_array",
    "as_datetime_array",
    "as_datetime_scalar",
    "as_finite_array",
    "as_float_array",
    "as_int_array",
    "check_finite",
    "check_fraction",
    "check_non_negative",
    "check_positive_int",
    "check_same_length",
    "drop_nan",
]


def _one_dimensional(values: ArrayLike, name: str, dtype: Any = None) -> NDArray[Any]:
    try:
        array = np.asarray(values) if dtype is None else np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def as_float_array(values: ArrayLike, name: str) -> NDArray[np.float64]:
    """A 1-D float64 view or copy of `values` (None becomes NaN)."""
    return _one_dimensional(values, name, np.float64)


def as_finite_array(values: ArrayLike, name: str, hint: str = "") -> NDArray[np.float64]:
    """A 1-D float64 array of finite values (no NaN: NULLs must be dropped or paired first);
    `hint` follows the error message."""
    array = as_float_array(values, name)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite{hint}")
    return array


def _of_kind(
    values: ArrayLike, name: str, *, kinds: str, empty: Any, must: str, hint: str = ""
) -> NDArray[Any]:
    """A 1-D array of a dtype kind in `kinds` (else "`name` must `must`, got dtype ..." and
    `hint`); an empty input of any dtype (``[]`` is float64) becomes an empty `empty` array."""
    array = _one_dimensional(values, name)
    if array.size == 0:
        return np.zeros(0, dtype=empty)
    if array.dtype.kind not in kinds:
        raise ValueError(f"{name} must {must}, got dtype {array.dtype}{hint}")
    return array


def as_int_array(values: ArrayLike, name: str) -> NDArray[np.int64]:
    """A 1-D int64 array; floats, booleans and strings are rejected."""
    array = _of_kind(values, name, kinds="iu", empty=np.int64, must="hold integers")
    return array.astype(np.int64, copy=False)


def as_code_array(values: ArrayLike, name: str) -> NDArray[np.int8]:
    """A 1-D int8 array of action codes, each one of -1, 0, 1."""
    array = _of_kind(
        values,
        name,
        kinds="iu",
        empty=np.int8,
        must="hold integer action codes (1, -1, 0)",
        hint="; convert labels with encode_actions()",
    )
    if array.size == 0:  # min and max need a value
        return array
    # Integers, so min/max bounds are enough to prove every value is -1, 0 or 1.
    low, high = int(array.min()), int(array.max())
    if low < -1 or high > 1:
        bad = low if low < -1 else high
        raise ValueError(f"{name} must hold action codes 1, -1 or 0, found {bad}")
    return array.astype(np.int8, copy=False)


def as_bool_array(values: ArrayLike, name: str) -> NDArray[np.bool_]:
    """A 1-D boolean array; other dtypes are rejected rather than guessed."""
    return _of_kind(values, name, kinds="b", empty=np.bool_, must="be a boolean array")


def as_datetime_array(values: ArrayLike, name: str) -> NDArray[np.datetime64]:
    """A 1-D ``datetime64[us]`` array without NaT."""
    array = _of_kind(values, name, kinds="M", empty="datetime64[us]", must="be a datetime64 array")
    array = array.astype("datetime64[us]", copy=False)
    if np.isnat(array).any():
        raise ValueError(f"{name} must not contain NaT")
    return array


def as_datetime_scalar(value: Any, name: str) -> np.datetime64:
    """A ``datetime64[us]`` scalar (not NaT)."""
    try:
        scalar = np.datetime64(value, "us")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numpy datetime64: {exc}") from None
    if np.isnat(scalar):
        raise ValueError(f"{name} must not be NaT")
    return scalar


def check_same_length(**arrays: NDArray[Any]) -> int:
    """The common length of `arrays`; raises naming every argument when they differ."""
    lengths = {name: int(array.shape[0]) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={length}" for name, length in lengths.items())
        raise ValueError(f"arrays must have the same length, got {listed}")
    return next(iter(lengths.values()), 0)


def drop_nan(values: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    """`values` without NaN (SQL NULL); infinities are rejected as corrupt input."""
    nan = np.isnan(values)
    if np.isinf(values).any():
        raise ValueError(f"{name} must not contain infinite values (NaN is read as NULL)")
    return values[~nan] if nan.any() else values


def check_finite(value: float, name: str) -> float:
    """`value` as a finite float."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def check_non_negative(value: float, name: str) -> float:
    """`value` as a finite float >= 0."""
    number = check_finite(value, name)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number}")
    return number


def check_fraction(value: float, name: str) -> float:
    """`value` as a finite float in [0, 1]."""
    number = check_finite(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {number}")
    return number


def check_positive_int(value: int, name: str, minimum: int = 1) -> int:
    """`value` as an int >= `minimum` (booleans are not integers here)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
