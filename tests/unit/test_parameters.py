"""The one parameter table against what documents it: the proto comments and the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlanalytics.parameters import MODEL_ID_MAX_LENGTH, PARAMETERS, Parameter

ROOT = Path(__file__).resolve().parents[2]
PROTOS = sorted((ROOT / "protos" / "mlanalytics" / "v1").glob("*_service.proto"))
#: Request fields that are not API parameters: the file name of a documentation page's asset.
NOT_PARAMETERS = {"asset"}
# A request field with the comment lines right above it.
_FIELD = re.compile(r"((?:[ \t]*//[^\n]*\n)+)[ \t]*(?:optional )?\w+ (\w+) = \d+;")
_REQUEST = re.compile(r"message \w+Request \{([^{}]*)\}")


def _request_fields() -> list[tuple[str, str, str]]:
    """(proto file, field name, comment) of every commented field of every request message."""
    found = []
    for proto in PROTOS:
        for body in _REQUEST.findall(proto.read_text()):
            for comment, name in _FIELD.findall(body + "\n"):
                if name in NOT_PARAMETERS:
                    continue
                found.append((proto.name, name, " ".join(comment.replace("//", " ").split())))
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
        assert {name for _, name, _ in fields} <= set(PARAMETERS)

    @pytest.mark.parametrize(("proto", "name", "comment"), _request_fields())
    def test_comment_states_the_tables_bounds_and_default(
        self, proto: str, name: str, comment: str
    ) -> None:
        for fact in _documented(PARAMETERS[name]):
            assert fact in comment, f"{proto} {name}: {comment!r} lacks {fact!r}"


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


class TestHelp:
    def test_help_names_bounds_choices_and_default(self) -> None:
        assert PARAMETERS["page_size"].help == "rows per page; 1..1000; default 100"
        assert PARAMETERS["window"].help == "the window; 1h, 24h, 7d, 30d; default 24h"
        assert PARAMETERS["end_time"].help.endswith("default now")

    def test_integer_spec_refuses_other_kinds(self) -> None:
        assert PARAMETERS["days"].integer_spec() == (7, 1, 30)
        with pytest.raises(ValueError, match="window is not an integer parameter"):
            PARAMETERS["window"].integer_spec()
