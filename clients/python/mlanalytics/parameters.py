"""The request parameters of the API: one table that every side reads.

The server validates requests with it, the CLI prints its help from it, the OpenAPI document
shows it, and a test checks the proto comments and the README against it, so a default or a
bound is typed once. Definitions: docs/DEFINITIONS.md#request-parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

Kind = Literal["model_id", "time", "window", "integer"]

#: The named windows, in the order they are documented; each covers (end_time - W, end_time].
WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}

MODEL_ID_MAX_LENGTH = 100
INT32_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Parameter:
    """One request parameter: its name, kind, default and accepted values."""

    name: str
    kind: Kind
    description: str
    default: str | int | None = None  # None: required, or computed (``default_text``)
    default_text: str = ""  # how the default reads when it is computed ("now")
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    #: (RPC name, default) pairs: the RPCs where the default differs (same choices and bounds).
    rpc_defaults: tuple[tuple[str, str | int], ...] = ()

    def for_rpc(self, rpc: str) -> Parameter:
        """This parameter as the RPC ``rpc`` (e.g. "CompareModels") reads it: its own default."""
        default = dict(self.rpc_defaults).get(rpc, self.default)
        return replace(self, default=default, rpc_defaults=())

    @property
    def required(self) -> bool:
        return self.kind == "model_id"

    @property
    def bounds(self) -> str:
        """``"1..1000"``; empty without an upper bound of its own."""
        if self.minimum is None or self.maximum is None or self.maximum == INT32_MAX:
            return ""
        return f"{self.minimum}..{self.maximum}"

    def integer_spec(self) -> tuple[int, int, int]:
        """``(default, minimum, maximum)`` of an integer parameter."""
        if not (
            isinstance(self.default, int) and self.minimum is not None and self.maximum is not None
        ):
            raise ValueError(f"{self.name} is not an integer parameter")
        return self.default, self.minimum, self.maximum

    @property
    def help(self) -> str:
        """One line for a CLI or a document: what it is, what it accepts, its default."""
        accepts = ", ".join(self.choices) if self.choices else self.bounds
        default = self.default_text or ("" if self.default is None else str(self.default))
        parts = [self.description]
        if accepts:
            parts.append(accepts)
        if default:
            parts.append(f"default {default}")
        return "; ".join(parts)


_ALL = (
    Parameter(
        "model_id",
        "model_id",
        f"a model id such as 'ppo_lstm_v3.2', at most {MODEL_ID_MAX_LENGTH} characters",
    ),
    Parameter(
        "model_a",
        "model_id",
        f"model A of an A/B comparison: a model id, at most {MODEL_ID_MAX_LENGTH} characters",
    ),
    Parameter(
        "model_b",
        "model_id",
        f"model B, compared with model A: a model id, at most {MODEL_ID_MAX_LENGTH} characters",
    ),
    Parameter(
        "window",
        "window",
        "the window",
        default="24h",
        choices=tuple(WINDOWS),
        rpc_defaults=(("CompareModels", "7d"),),
    ),
    Parameter(
        "end_time", "time", "RFC 3339 instant ending the window (inclusive)", default_text="now"
    ),
    Parameter(
        "start_time",
        "time",
        "RFC 3339 instant starting the range (exclusive)",
        default_text="end_time - 7 days",
    ),
    Parameter("page", "integer", "1-based page number", default=1, minimum=1, maximum=INT32_MAX),
    Parameter("page_size", "integer", "rows per page", default=100, minimum=1, maximum=1000),
    Parameter(
        "limit",
        "integer",
        "how many of the latest predictions",
        default=100,
        minimum=1,
        maximum=1000,
    ),
    Parameter(
        "window_hours", "integer", "recent window in hours", default=24, minimum=1, maximum=168
    ),
    Parameter("baseline_days", "integer", "baseline in days", default=7, minimum=1, maximum=30),
    Parameter("days", "integer", "days of hourly buckets", default=7, minimum=1, maximum=30),
)

#: Every parameter by name.
PARAMETERS: dict[str, Parameter] = {p.name: p for p in _ALL}
