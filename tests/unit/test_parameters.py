"""The one parameter table against what documents it: the proto comments and the README."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from mlanalytics.parameters import MODEL_ID_MAX_LENGTH, PARAMETERS, Parameter

ROOT = Path(__file__).resolve().parents[2]
PROTOS = sorted((ROOT / "protos" / "mlanalytics" / "v1").glob("*_service.proto"))
#: Request fields that are not API parameters: the file name of a documentation page's asset.
NOT_PARAMETERS = {"asset"}
# A request field with the comment lines right above it.
_FIELD = re.compile(r"((?:[ \t]*//[^\n]*\n)+)[ \t]*(?:optional )?\w+ (\w+) = \d+;")
_REQUEST = re.compile(r"message (\w+)Request \{([^{}]*)\}")
_RPC = re.compile(r"^\s*rpc (\w+)\((\w+)\)", re.MULTILINE)


def _rpcs() -> dict[str, str]:
    """Request message name -> the RPC that takes it, over every service."""
    return {request: rpc for proto in PROTOS for rpc, request in _RPC.findall(proto.read_text())}


def _request_fields() -> list[tuple[str, str, str, str]]:
    """(proto file, RPC, field name, comment) of every commented field of every request."""
    rpcs = _rpcs()
    found = []
    for proto in PROTOS:
        for message, body in _REQUEST.findall(proto.read_text()):
            for comment, name in _FIELD.findall(body + "\n"):
                if name in NOT_PARAMETERS:
                    continue
                rpc = rpcs[f"{message}Request"]
                found.append((proto.name, rpc, name, " ".join(comment.replace("//", " ").split())))
    return found


def _documented(parameter: Parameter) -> list[str]:
    """What a description of ``parameter`` must say."""
    if parameter.kind == "model_id":
        return [f"at most {MODEL_ID_MAX_LENGTH} characters"]
    if parameter.kind == "window":
        return [f'"{choice}"' for choice in parameter.choices] + [f'default "{parameter.default}"']
    if parameter.kind == "time":
        return [f"default {parameter.default_text}"]
    return ([parameter.bounds] if parameter.bounds else []) + [f"default {parameter.default}"]


class TestProtoComments:
    def test_every_request_parameter_is_in_the_table(self) -> None:
        fields = _request_fields()
        assert fields, "no request field found: the pattern no longer matches the protos"
        assert {name for _, _, name, _ in fields} <= set(PARAMETERS)

    def test_per_rpc_defaults_name_real_rpcs_that_take_the_parameter(self) -> None:
        taken = {(rpc, name) for _, rpc, name, _ in _request_fields()}
        overrides = [(rpc, p.name) for p in PARAMETERS.values() for rpc, _ in p.rpc_defaults]
        assert overrides, "the table has no per-RPC default: this test checks nothing"
        for rpc, name in overrides:
            assert (rpc, name) in taken, f"{name}'s default for {rpc}: no such RPC parameter"

    @pytest.mark.parametrize(("proto", "rpc", "name", "comment"), _request_fields())
    def test_comment_states_the_tables_bounds_and_default(
        self, proto: str, rpc: str, name: str, comment: str
    ) -> None:
        for fact in _documented(PARAMETERS[name].for_rpc(rpc)):
            assert fact in comment, f"{proto} {rpc} {name}: {comment!r} lacks {fact!r}"


class TestReadme:
    def test_the_api_table_states_each_default_and_bound(self) -> None:
        readme = (ROOT / "README.md").read_text()
        for p in PARAMETERS.values():
            if p.kind == "integer":
                expected = f"{p.name} ({p.default}, {p.bounds})" if p.bounds else f"{p.name} ("
                assert expected in readme, expected
            elif p.kind == "window":
                assert f"window ({p.default})" in readme
        assert f"`window` is one of `{', '.join(PARAMETERS['window'].choices)}`" in readme

    def test_the_api_table_states_each_per_rpc_default(self) -> None:
        lines = (ROOT / "README.md").read_text().splitlines()
        for p in PARAMETERS.values():
            for rpc, default in p.rpc_defaults:
                [row] = [line for line in lines if f"Service.{rpc} |" in line]
                assert f"{p.name} ({default})" in row, row


class TestHelp:
    def test_help_names_bounds_choices_and_default(self) -> None:
        assert PARAMETERS["page_size"].help == "rows per page; 1..1000; default 100"
        assert PARAMETERS["window"].help == "the window; 1h, 24h, 7d, 30d; default 24h"
        assert PARAMETERS["end_time"].help.endswith("default now")

    def test_a_per_rpc_default_changes_the_default_only(self) -> None:
        window = PARAMETERS["window"]
        assert window.for_rpc("CompareModels").default == "7d"
        assert window.for_rpc("CompareModels").help == "the window; 1h, 24h, 7d, 30d; default 7d"
        assert window.for_rpc("CompareModels").choices == window.choices
        assert window.for_rpc("GetRollingMetrics") == replace(window, rpc_defaults=())
        assert PARAMETERS["days"].for_rpc("CompareModels").default == 7

    def test_integer_spec_refuses_other_kinds(self) -> None:
        assert PARAMETERS["days"].integer_spec() == (7, 1, 30)
        with pytest.raises(ValueError, match="window is not an integer parameter"):
            PARAMETERS["window"].integer_spec()
