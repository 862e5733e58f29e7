"""``mlanalytics``: the service from a terminal. Readable tables by default, ``--json`` for scripts.

    mlanalytics health                       # service health
    mlanalytics health models                # every model's health
    mlanalytics metrics rolling --model ppo_lstm_v3.2 --window 7d
    mlanalytics metrics series --model ppo_lstm_v3.2 --metric sharpe_ratio --step 1h
    mlanalytics drift features --model sac_transformer_v2.1 --json
    mlanalytics performance ab --a ppo_lstm_v3.2 --b a2c_conservative_v1.4   # is A better?
    mlanalytics watch health                 # print model-health changes as they happen
    mlanalytics watch drift --model sac_transformer_v2.1

``--json`` prints exactly the ``data`` object the REST API returns for the same call (for a watch,
one JSON line per snapshot). Errors print one line on stderr and exit with status 1 (2 for bad
command-line usage); Ctrl-C ends a watch with status 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, json_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from mlanalytics.client import DEFAULT_TARGET, AnalyticsClient
from mlanalytics.errors import AnalyticsError
from mlanalytics.parameters import parameter, request_parameters
from mlanalytics.v1 import common_pb2, metrics_service_pb2, options_pb2, performance_service_pb2
from mlanalytics.v1.methods import METHOD_NAMES, SUMMARIES
from mlanalytics.v1.services import SERVICES

Handler = Callable[[AnalyticsClient, argparse.Namespace], Message]

#: Request fields whose option has a shorter name: ``--model``, ``--a``, ``--b``.
_OPTION_NAMES = {"model_id": "model", "model_a": "a", "model_b": "b"}


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its words, its RPC and the client method that calls it (None for a watch,
    which prints each event). Its options are the RPC's request parameters."""

    words: tuple[str, ...]
    descriptor: MethodDescriptor
    method: Callable[..., Message] | None
    help: str

    @property
    def rpc(self) -> str:
        """``Service/Method`` of mlanalytics.v1."""
        return f"{self.descriptor.containing_service.name}/{self.descriptor.name}"


def _command_words(method: MethodDescriptor) -> str:
    """The RPC's ``(mlanalytics.v1.command)`` option: its words in the CLI ("" for none)."""
    options = descriptor_pb2.MethodOptions.FromString(method.GetOptions().SerializeToString())
    words: str = options.Extensions[options_pb2.command]
    return words


def _commands() -> tuple[Command, ...]:
    """A command per RPC that declares one and has a client method (a watch: the client's own),
    in the order of the services and their RPCs; its help is the RPC's summary. An RPC that
    declares a command without a method gets none: tests/unit/test_faces.py names it."""
    found = []
    for service in SERVICES:
        for rpc in service.methods:
            words = _command_words(rpc)
            name = METHOD_NAMES.get(rpc.full_name)
            if not words or (name is None and not rpc.server_streaming):
                continue
            method = None if name is None else getattr(AnalyticsClient, name)
            summary = SUMMARIES.get(rpc.full_name, "").replace("`", "")
            found.append(Command(tuple(words.split()), rpc, method, summary))
    return tuple(found)


#: Every command, in the order of the help.
COMMANDS: tuple[Command, ...] = _commands()


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name (``health models --json``).

    Subcommands get them without defaults (``SUPPRESS``), so that a value given before the
    subcommand is not overwritten by the subcommand's default.
    """
    parser = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    end_time = parameter(
        metrics_service_pb2.GetRollingMetricsRequest.DESCRIPTOR.fields_by_name["end_time"]
    )
    parser.add_argument(
        "--target", default=default(DEFAULT_TARGET), help=f"host:port (default {DEFAULT_TARGET})"
    )
    parser.add_argument("--end-time", default=default(""), help=end_time.help if end_time else "")
    parser.add_argument("--timeout", type=float, default=default(10.0), help="deadline in seconds")
    parser.add_argument(
        "--token",
        default=default(os.environ.get("MLANALYTICS_TOKEN")),
        help="bearer token (JWT) for a service that asks for one (default $MLANALYTICS_TOKEN)",
    )
    parser.add_argument(
        "--ca",
        type=Path,
        default=default(None),
        help="PEM file of the root certificates to trust: connect with TLS (a self-signed one)",
    )
    parser.add_argument(
        "--json", action="store_true", default=default(False), help="print the data as JSON"
    )
    return parser


def _add(commands: Any, name: str, command: Command) -> argparse.ArgumentParser:
    """The parser of ``command``: an option per request parameter of its RPC (``--end-time``,
    global, for those that take one)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=command.help,
        description=command.help,
        parents=[_global_options(defaults=False)],
    )
    declared = request_parameters(command.descriptor.input_type)
    fields = [field for field in declared if field != "end_time"]
    for field in fields:
        declared_field = declared[field]
        option = _OPTION_NAMES.get(field, field)
        flag = "--" + option.replace("_", "-")
        argument = parser.add_argument(flag, dest=field, metavar=option.upper())
        argument.help = declared_field.help
        if declared_field.kind == "integer":
            argument.type = int
        else:
            argument.required, argument.default = declared_field.required, ""
    if command.method is not None:
        parser.set_defaults(handler=_forward(command.method, fields, "end_time" in declared))
    return parser


def _forward(method: Callable[..., Message], fields: list[str], end_time: bool) -> Handler:
    """A handler calling ``method`` with each option as the request parameter it names."""

    def handler(client: AnalyticsClient, args: argparse.Namespace) -> Message:
        parameters = {field: getattr(args, field) for field in fields}
        if end_time:
            parameters["end_time"] = args.end_time
        return method(client, **parameters)

    return handler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlanalytics",
        description=__doc__.splitlines()[0].replace("``", "") if __doc__ else None,
        parents=[_global_options(defaults=True)],
    )
    groups: dict[tuple[str, ...], Any] = {
        (): parser.add_subparsers(dest="command", required=True, metavar="command")
    }
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    for command in COMMANDS:
        *words, name = command.words
        group = tuple(words)
        if group not in groups:
            parent = parsers.get(group) or groups[()].add_parser(
                group[0],
                help=", ".join(
                    c.words[1] for c in COMMANDS if len(c.words) > 1 and c.words[:1] == group
                ),
            )
            groups[group] = parent.add_subparsers(
                dest="subcommand", required=group not in parsers, metavar="subcommand"
            )
        parsers[command.words] = _add(groups[group], name, command)
    return parser


def to_json(message: Message) -> str:
    """The message as the REST API prints it: proto field names, zeros printed."""
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def render(message: Message) -> str:
    """A readable view: scalar fields as ``name: value``, repeated messages as tables."""
    if isinstance(message, performance_service_pb2.ModelAbComparison):
        return render_ab(message)
    as_dict = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    lines: list[str] = []
    market = as_dict.pop("market", None)
    if isinstance(market, dict):
        lines.append(_market_line(market))
    _render(as_dict, "", lines)
    return "\n".join(lines)


def _market_line(market: dict[str, Any]) -> str:
    """``market: closed (America/Bogota Mon-Fri 08:00-13:00 +CO holidays), next open ...``."""
    state = "open" if market.get("open") else "closed"
    line = f"market: {state} ({market.get('calendar', '')})"
    for key in ("last_close", "next_open"):
        if key in market:
            line += f", {key.replace('_', ' ')} {market[key]}"
    return line


def _scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return ", ".join(_scalar(v) for v in value)
    return str(value)


def _render(value: dict[str, Any], prefix: str, lines: list[str]) -> None:
    width = max((len(prefix + k) for k in value), default=0)
    tables: list[tuple[str, list[dict[str, Any]]]] = []
    for key, item in value.items():
        if isinstance(item, dict):
            _render(item, f"{prefix}{key}.", lines)
        elif isinstance(item, list) and item and isinstance(item[0], dict):
            tables.append((prefix + key, item))
        else:
            lines.append(f"{(prefix + key).ljust(width)}  {_scalar(item)}")
    for name, rows in tables:
        columns = [k for k, v in rows[0].items() if not isinstance(v, dict | list)]
        cells = [[_scalar(row.get(c, "")) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
        lines += [
            "",
            f"{name}:",
            "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
        ]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]


def render_ab(ab: performance_service_pb2.ModelAbComparison) -> str:
    """The verdict on its own first line, the test's numbers, then the two models side by side."""
    lines = [_verdict_line(ab), ""]
    interval = ab.difference_ci95
    facts = {
        "window": f"{ab.window} ({ab.start_time.ToJsonString()} .. {ab.end_time.ToJsonString()}]",
        "common_bars": str(ab.common_bars),
        "mean_difference": _present(ab, "mean_difference"),
        "difference_ci95": (
            f"{_scalar(interval.lower)} .. {_scalar(interval.upper)}"
            if ab.HasField("difference_ci95")
            else "-"
        ),
        "p_value": _present(ab, "p_value"),
        "min_common_bars": str(ab.min_common_bars),
        "significance_level": _scalar(ab.significance_level),
    }
    width = max(map(len, facts))
    lines += [f"{name.ljust(width)}  {value}" for name, value in facts.items()]

    a, b = ab.model_a, ab.model_b
    rows = [("", "model_a", "model_b")]
    for field in performance_service_pb2.AbSide.DESCRIPTOR.fields:
        if field.message_type is None:
            rows.append((field.name, _present(a, field.name), _present(b, field.name)))
    shown = {row[0] for row in rows}  # probabilistic_sharpe is also a side's own field
    for field in common_pb2.PerformanceMetrics.DESCRIPTOR.fields:
        if field.name not in shown:
            rows.append(
                (field.name, _present(a.metrics, field.name), _present(b.metrics, field.name))
            )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines.append("")
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _verdict_line(ab: performance_service_pb2.ModelAbComparison) -> str:
    """``verdict: model_a (ppo_lstm_v3.2 earned more per bar: p_value 1e-07, 2016 common bars)``."""
    if ab.verdict == "insufficient_data":
        detail = f"{ab.common_bars} common bars; a verdict needs {ab.min_common_bars}"
    else:
        evidence = (
            f"p_value {_scalar(ab.p_value)}"
            if ab.HasField("p_value")
            else "the same difference on every bar"
        )
        detail = f"{evidence}, {ab.common_bars} common bars"
        if ab.verdict in ("model_a", "model_b"):
            winner = getattr(ab, ab.verdict).model_id
            detail = f"{winner} earned more per bar: {detail}"
    return f"verdict: {ab.verdict} ({detail})"


def _present(message: Message, name: str) -> str:
    """A scalar field as text; "-" for an optional field that is absent."""
    field = message.DESCRIPTOR.fields_by_name[name]
    if field.has_presence and not message.HasField(name):
        return "-"
    return _scalar(getattr(message, name))


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; ``mlanalytics ... | head`` ends quietly (exit status 141, as a shell
    pipeline would). SIGPIPE is not reset to its default: a process that calls ``main`` (a test)
    would then die of it on its next write to any closed socket."""
    try:
        return _main(argv)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit flush
        return 141


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        roots = args.ca.read_bytes() if args.ca else None
    except OSError as error:
        print(f"error: --ca {args.ca}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        client = AnalyticsClient(
            args.target, timeout=args.timeout, token=args.token, root_certificates=roots
        )
        with client:
            if args.command == "watch":
                return _watch(client, args)
            result = args.handler(client, args)
    except AnalyticsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(to_json(result) if args.json else render(result))
    return 0


def _watch(client: AnalyticsClient, args: argparse.Namespace) -> int:
    """Print each snapshot of a watch as it arrives (only what changed, as text), until Ctrl-C."""
    events: Iterator[Any]
    if args.subcommand == "health":
        events = client.watch_model_health()
        describe: Callable[[Any], dict[str, str]] = _health_lines
    else:
        events = client.watch_drift(
            args.model_id, window_hours=args.window_hours, baseline_days=args.baseline_days
        )
        describe = _drift_lines
    shown: dict[str, str] = {}
    # Ctrl-C ends the watch, also when a shell started this in the background with SIGINT
    # ignored (which Python would otherwise keep).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for event in events:
            if args.json:
                print(
                    json_format.MessageToJson(event, preserving_proto_field_name=True, indent=None),
                    flush=True,
                )
                continue
            lines = describe(event.data)
            changed = [line for key, line in lines.items() if shown.get(key) != line]
            changed += [f"{key}  gone" for key in shown if key not in lines]
            shown = lines
            stamp = event.timestamp.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
            for line in changed:
                print(f"{stamp}  {line}", flush=True)
    except KeyboardInterrupt:
        return 0
    return 0


def _health_lines(data: Any) -> dict[str, str]:
    """One line per model: status, score, issues."""
    return {
        m.model_id: f"{m.model_id}  {m.status}  score {m.health_score:.0f}"
        + (f"  ({'; '.join(m.issues)})" if m.issues else "")
        for m in data.models
    }


def _drift_lines(data: Any) -> dict[str, str]:
    """One line: the model's drift status, score and drifted features."""
    drifted = ", ".join(data.features_drifted) or "none"
    line = (
        f"{data.model_id}  {data.status}  data drift {data.data_drift_score:.3f}"
        f"  drifted: {drifted}"
    )
    return {data.model_id: line + (f"  ({data.reason})" if data.reason else "")}


if __name__ == "__main__":
    sys.exit(main())
