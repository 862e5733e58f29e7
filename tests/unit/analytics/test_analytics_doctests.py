"""The docstring examples of the analytics modules are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "analytics.ab",
    "analytics.actions",
    "analytics.calibration",
    "analytics.calendar",
    "analytics.classification",
    "analytics.drift",
    "analytics.health",
    "analytics.outcomes",
    "analytics.risk",
    "analytics.trading",
    "analytics.trends",
    "analytics.versions",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
