"""What risk_metrics and trading_metrics share: the checks of their arguments, and finite values
(or absent ones) for any finite rewards."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from numpy.typing import NDArray

from analytics import risk_metrics, trading_metrics
from strategies import float_arrays

#: Both metric functions, each called as ``metrics(rewards, periods_per_year=...)``.
EACH_FUNCTION = pytest.mark.parametrize(
    "metrics", [risk_metrics, trading_metrics], ids=["risk", "trading"]
)


@EACH_FUNCTION
@pytest.mark.parametrize(
    ("rewards", "periods_per_year", "message"),
    [
        pytest.param([1.0, float("inf")], 1, "rewards must not contain infinite", id="inf"),
        pytest.param([1.0, float("-inf")], 1, "rewards must not contain infinite", id="-inf"),
        pytest.param([[1.0, 2.0]], 1, "rewards must be one-dimensional", id="2-d"),
        pytest.param([1.0], 0, "periods_per_year must be >= 1", id="no-periods"),
    ],
)
def test_bad_arguments(
    metrics: Callable[..., Any], rewards: Any, periods_per_year: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        metrics(rewards, periods_per_year=periods_per_year)


@EACH_FUNCTION
@settings(max_examples=100, deadline=None)
@given(rewards=float_arrays(0, 60))
def test_never_nan_or_inf(metrics: Callable[..., Any], rewards: NDArray[np.float64]) -> None:
    got = dataclasses.asdict(metrics(rewards))
    assert all(math.isfinite(v) for v in got.values() if v is not None)
