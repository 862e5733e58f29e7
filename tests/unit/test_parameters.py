"""The request parameters as the client reads them from the protos' options: help lines, kinds,
per-RPC defaults, and the README's sentence on windows."""

from __future__ import annotations

from pathlib import Path

from mlanalytics.parameters import INT32_MAX, parameter, request_parameters
from mlanalytics.v1 import (
    drift_service_pb2,
    performance_service_pb2,
    prediction_service_pb2,
)
from mlanalytics.v1.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
HISTORY = prediction_service_pb2.GetPredictionHistoryRequest.DESCRIPTOR
AB = performance_service_pb2.CompareModelsRequest.DESCRIPTOR
#: Request fields that are not API parameters: the file name of a documentation page's asset.
NOT_PARAMETERS = {"asset"}


def test_every_request_field_declares_its_rules() -> None:
    undeclared = [
        f"{method.full_name}: {field.name}"
        for service in SERVICES
        for method in service.methods
        for field in method.input_type.fields
        if parameter(field) is None and field.name not in NOT_PARAMETERS
    ]
    assert undeclared == []


def test_help_names_bounds_choices_and_default() -> None:
    history = request_parameters(HISTORY)
    assert list(history) == ["model_id", "page", "page_size", "start_time", "end_time"]
    assert history["page_size"].help == "rows per page; 1..1000; default 100"
    assert history["page"].help == "1-based page number; default 1"
    assert (history["page"].minimum, history["page"].maximum) == (1, INT32_MAX)
    assert history["end_time"].help.endswith("default now")
    assert history["model_id"].help.endswith("; at most 100 characters")
    assert (history["model_id"].kind, history["model_id"].required) == ("model_id", True)
    assert (history["start_time"].kind, history["start_time"].default) == ("time", None)


def test_each_rpc_declares_its_own_default() -> None:
    window = request_parameters(AB)["window"]
    assert (window.kind, window.default) == ("window", "7d")
    assert window.help == "the window; 1h, 24h, 7d, 30d; default 7d"
    rolling = request_parameters(performance_service_pb2.GetPerformanceComparisonRequest.DESCRIPTOR)
    assert rolling["window"].default == "24h"
    assert rolling["window"].choices == window.choices
    drift = request_parameters(drift_service_pb2.GetDriftStatusRequest.DESCRIPTOR)
    assert (drift["window_hours"].default, drift["window_hours"].bounds) == (24, "1..168")


def test_the_readme_names_the_declared_windows() -> None:
    choices = request_parameters(AB)["window"].choices
    readme = (ROOT / "README.md").read_text()
    assert f"`window` is one of `{', '.join(choices)}`" in readme
