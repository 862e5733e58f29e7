"""``mlanalytics``: the service from a terminal. Readable tables by default, ``--json`` for scripts.

    mlanalytics health                       # service health
    mlanalytics health models                # every model's health
    mlanalytics metrics rolling --model ppo_lstm_v3.2 --window 7d
    mlanalytics drift features --model sac_transformer_v2.1 --json
    mlanalytics performance ab --a ppo_lstm_v3.2 --b a2c_conservative_v1.4   # is A better?
    mlanalytics watch health                 # print model-health changes as they happen
    mlanalytics watch drift --model sac_transformer_v2.1
    mlanalytics serve                        # the whole local stack (make run)
    mlanalytics seed --dsn postgresql://...  # demo data into a writable database

``--json`` prints exactly the ``data`` object the REST API returns for the same call (for a watch,
one JSON line per snapshot). Errors print one line on stderr and exit with status 1 (2 for bad
command-line usage); Ctrl-C ends a watch with status 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from mlanalytics.client import DEFAULT_TARGET, AnalyticsClient
from mlanalytics.errors import AnalyticsError
from mlanalytics.parameters import PARAMETERS
from mlanalytics.v1 import common_pb2, health_service_pb2

Handler = Callable[[AnalyticsClient, argparse.Namespace], Message]


#: CLI options that are request parameters: option name -> parameter name in the table.
_OPTIONS = {
    "model": "model_id",
    "a": "model_a",
    "b": "model_b",
    "window": "window",
    "window_hours": "window_hours",
    "baseline_days": "baseline_days",
    "page": "page",
    "page_size": "page_size",
    "start_time": "start_time",
    "limit": "limit",
    "days": "days",
}


def _global_options(defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name (``health models --json``).

    Subcommands get them without defaults (``SUPPRESS``), so that a value given before the
    subcommand is not overwritten by the subcommand's default.
    """
    parser = argparse.ArgumentParser(add_help=False)

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--target", default=default(DEFAULT_TARGET), help=f"host:port (default {DEFAULT_TARGET})"
    )
    parser.add_argument("--end-time", default=default(""), help=PARAMETERS["end_time"].help)
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


def _add(
    commands: Any,
    name: str,
    method: Callable[..., Message] | None,
    help_text: str,
    *options: str,
    rpc: str = "",
    end_time: bool = True,
) -> argparse.ArgumentParser:
    """A subcommand calling the client's ``method`` with the named request-parameter options
    (their defaults as the RPC ``rpc`` reads them), and ``--end-time`` if ``end_time``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text, parents=[_global_options(defaults=False)]
    )
    if method is not None:
        parser.set_defaults(handler=_forward(method, options, end_time))
    for option in options:
        parameter = PARAMETERS[_OPTIONS[option]].for_rpc(rpc)
        flag = "--" + option.replace("_", "-")
        if parameter.kind == "integer":
            parser.add_argument(flag, type=int, help=parameter.help)
        else:
            parser.add_argument(flag, required=parameter.required, default="", help=parameter.help)
    return parser


def _forward(method: Callable[..., Message], options: tuple[str, ...], end_time: bool) -> Handler:
    """A handler calling ``method`` with each option as the request parameter it names."""

    def handler(client: AnalyticsClient, args: argparse.Namespace) -> Message:
        parameters = {_OPTIONS[option]: getattr(args, option) for option in options}
        if end_time:
            parameters["end_time"] = args.end_time
        return method(client, **parameters)

    return handler


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlanalytics",
        description=__doc__.splitlines()[0] if __doc__ else None,
        parents=[_global_options(defaults=True)],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    health = _add(
        commands, "health", AnalyticsClient.service_health, "service health", end_time=False
    )
    health_commands = health.add_subparsers(dest="subcommand", metavar="subcommand")
    _add(
        health_commands,
        "models",
        AnalyticsClient.models_health,
        "health of every model seen in the last 7 days",
    )
    _add(health_commands, "model", AnalyticsClient.model_health, "health of one model", "model")
    _add(
        commands,
        "info",
        AnalyticsClient.service_info,
        "service information and endpoints",
        end_time=False,
    )

    metrics = commands.add_parser("metrics", help="rolling metrics").add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    _add(metrics, "summary", AnalyticsClient.metrics_summary, "24 h metrics of every model")
    _add(
        metrics,
        "rolling",
        AnalyticsClient.rolling_metrics,
        "one model's rolling metrics",
        "model",
        "window",
    )
    _add(
        metrics,
        "model",
        AnalyticsClient.model_metrics,
        "rolling metrics, drift and accuracy of one model",
        "model",
        "window",
    )

    predictions = commands.add_parser("predictions", help="predictions against outcomes")
    prediction_commands = predictions.add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    _add(
        prediction_commands,
        "accuracy",
        AnalyticsClient.prediction_accuracy,
        "accuracy, per-class metrics, confusion matrix",
        "model",
        "window",
    )
    _add(
        prediction_commands,
        "history",
        AnalyticsClient.prediction_history,
        "one page of predictions, newest first",
        "model",
        "page",
        "page_size",
        "start_time",
    )
    _add(
        prediction_commands,
        "comparison",
        AnalyticsClient.prediction_comparison,
        "the latest predictions against what happened",
        "model",
        "limit",
    )

    drift = commands.add_parser("drift", help="input data drift").add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    drift_options = ("model", "window_hours", "baseline_days")
    _add(drift, "status", AnalyticsClient.drift_status, "drift status of one model", *drift_options)
    _add(
        drift,
        "features",
        AnalyticsClient.drift_features,
        "per-feature drift, worst first",
        *drift_options,
    )

    performance = commands.add_parser(
        "performance", help="trends, comparison and A/B"
    ).add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    _add(
        performance,
        "trends",
        AnalyticsClient.performance_trends,
        "hourly performance of one model",
        "model",
        "days",
    )
    _add(
        performance,
        "comparison",
        AnalyticsClient.performance_comparison,
        "every model version side by side",
        "window",
    )
    _add(
        performance,
        "ab",
        AnalyticsClient.compare_models,
        "is model A really better than model B? the verdict, then both models' metrics",
        "a",
        "b",
        "window",
        rpc="CompareModels",
    )

    watch = commands.add_parser("watch", help="print changes as they happen (until Ctrl-C)")
    watch_commands = watch.add_subparsers(dest="subcommand", required=True, metavar="subcommand")
    _add(watch_commands, "health", None, "model-health changes: status and issues")
    _add(
        watch_commands,
        "drift",
        None,
        "drift changes of one model: status and drifted features",
        *drift_options,
    )

    commands.add_parser("serve", help="start the whole local stack (what `make run` does)")
    seed = commands.add_parser("seed", help="load or top up the demo data in a writable database")
    seed.add_argument("--dsn", required=True, help="libpq connection string")
    seed.add_argument(
        "--calendar",
        choices=("session", "always"),
        help="rows only inside market sessions, or around the clock (default: MARKET_CALENDAR)",
    )
    return parser


def to_json(message: Message) -> str:
    """The message as the REST API prints it: proto field names, zeros printed."""
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def render(message: Message) -> str:
    """A readable view: scalar fields as ``name: value``, repeated messages as tables."""
    if isinstance(message, health_service_pb2.ModelAbComparison):
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


def render_ab(ab: health_service_pb2.ModelAbComparison) -> str:
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
    for field in health_service_pb2.AbSide.DESCRIPTOR.fields:
        if field.message_type is None:
            rows.append((field.name, _present(a, field.name), _present(b, field.name)))
    for field in common_pb2.PerformanceMetrics.DESCRIPTOR.fields:
        rows.append((field.name, _present(a.metrics, field.name), _present(b.metrics, field.name)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines.append("")
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _verdict_line(ab: health_service_pb2.ModelAbComparison) -> str:
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
    if args.command == "serve":
        from devstack.run import run  # noqa: PLC0415 (the local stack needs the `local` extras)

        return run()
    if args.command == "seed":
        from devstack.__main__ import seed_command  # noqa: PLC0415 (as above)

        return seed_command(args.dsn, args.calendar)
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
            args.model, window_hours=args.window_hours, baseline_days=args.baseline_days
        )
        describe = _drift_lines
    shown: dict[str, str] = {}
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
