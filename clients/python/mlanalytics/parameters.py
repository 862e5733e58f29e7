"""The request parameters of the API, read from the protos' ``(mlanalytics.v1.parameter)`` options.

The protos are the one place a parameter's default, bounds and choices are written; the CLI's
help and the OpenAPI document read them here, from the descriptors. Definitions:
docs/DEFINITIONS.md#request-parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from mlanalytics.v1 import options_pb2

Kind = Literal["model_id", "time", "window", "integer"]

INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Parameter:
    """One request parameter as one request message declares it."""

    name: str
    kind: Kind
    description: str
    default: str | int | None = None  # None: required, or computed (``default_text``)
    default_text: str = ""  # how the default reads when it is computed ("now")
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    max_length: int = 0
    required: bool = False

    @property
    def bounds(self) -> str:
        """``"1..1000"``; empty without an upper bound of its own."""
        if self.minimum is None or self.maximum is None or self.maximum == INT32_MAX:
            return ""
        return f"{self.minimum}..{self.maximum}"

    @property
    def accepts(self) -> str:
        """What values it takes, in words: its choices, bounds or length."""
        if self.choices:
            return ", ".join(self.choices)
        if self.max_length:
            return f"at most {self.max_length} characters"
        return self.bounds

    @property
    def help(self) -> str:
        """One line for a CLI or a document: what it is, what it accepts, its default."""
        default = self.default_text or ("" if self.default is None else str(self.default))
        parts = [self.description]
        if self.accepts:
            parts.append(self.accepts)
        if default:
            parts.append(f"default {default}")
        return "; ".join(parts)


def rules(field: FieldDescriptor) -> options_pb2.Parameter | None:
    """The field's ``(mlanalytics.v1.parameter)`` option, if it has one (from any pool)."""
    options = descriptor_pb2.FieldOptions.FromString(field.GetOptions().SerializeToString())
    if not options.HasExtension(options_pb2.parameter):
        return None
    found: options_pb2.Parameter = options.Extensions[options_pb2.parameter]
    return found


def parameter(field: FieldDescriptor) -> Parameter | None:
    """The parameter ``field`` declares; None for a field without the option."""
    declared = rules(field)
    if declared is None:
        return None
    if field.cpp_type == FieldDescriptor.CPPTYPE_INT32:
        return Parameter(
            field.name,
            "integer",
            declared.summary,
            default=int(declared.default) if declared.default else None,
            minimum=declared.gte if declared.HasField("gte") else None,
            maximum=declared.lte if declared.HasField("lte") else INT32_MAX,
        )
    choices = tuple(getattr(declared, "in"))  # `in` is a Python keyword
    kind: Kind = "window" if choices else "time" if declared.format else "model_id"
    return Parameter(
        field.name,
        kind,
        declared.summary,
        default=declared.default or None,
        default_text=declared.default_text,
        choices=choices,
        max_length=declared.max_len,
        required=declared.required,
    )


def request_parameters(request: Descriptor) -> dict[str, Parameter]:
    """The parameters of a request message, in field order."""
    found = {field.name: parameter(field) for field in request.fields}
    return {name: p for name, p in found.items() if p is not None}
