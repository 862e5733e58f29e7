"""Generated inputs shared by the analytics tests: hypothesis strategies and seeded arrays."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray


def float_arrays(
    min_size: int, max_size: int, *, ties: bool = False, nan: bool = False
) -> st.SearchStrategy[NDArray[np.float64]]:
    """float64 arrays of finite values in [-1e6, 1e6]; ``ties`` mixes in small integers (so values
    repeat), ``nan`` mixes in NaN."""
    elements = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    if ties:
        elements = st.integers(-4, 4).map(float) | elements
    if nan:
        elements = elements | st.just(float("nan"))
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=elements)


def with_gaps(
    rng: np.random.Generator, values: NDArray[np.float64], fraction: float
) -> NDArray[np.float64]:
    """``values`` with about ``fraction`` of them replaced by NaN (SQL NULL)."""
    return np.where(rng.random(values.size) < fraction, np.nan, values)


def scalable_rewards(min_size: int, max_size: int) -> st.SearchStrategy[NDArray[np.float64]]:
    """Rewards in [-1, 1] whose statistics a power-of-two scale maps exactly: tiny values
    (``|x| < 1e-100``) are 0, so no power up to the fourth (the PSR's kurtosis) underflows."""
    elements = st.floats(-1.0, 1.0).map(lambda x: 0.0 if abs(x) < 1e-100 else x)
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=elements)


#: The power-of-two scales of the scale-free properties.
POWER_OF_TWO_SCALES = st.sampled_from([0.5, 4.0, 1024.0])
