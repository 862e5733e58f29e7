"""``mlanalytics``: the service from a terminal. Readable tables by default, ``--json`` for scripts.

    mlanalytics health                       # service health
    mlanalytics health models                # every model's health
    mlanalytics metrics rolling --model ppo_lstm_v3.2 --window 7d
    mlanalytics drift features --model sac_transformer_v2.1 --json
    mlanalytics serve                        # the whole local stack (make run)
    mlanalytics seed --dsn postgresql://...  # demo data into a writable database

``--json`` prints exactly the ``data`` object the REST API returns for the same call. Errors print
one line on stderr and exit with status 1 (2 for bad command-line usage).
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from mlanalytics.client import DEFAULT_TARGET, AnalyticsClient
from mlanalytics.errors import AnalyticsError

Handler = Callable[[AnalyticsClient, argparse.Namespace], Message]


def _add(
    commands: Any, name: str, handler: Handler, help_text: str, *options: str
) -> argparse.ArgumentParser:
    """A subcommand calling ``handler``, with the named options among the shared ones."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=help_text, description=help_text
    )
    parser.set_defaults(handler=handler)
    if "model" in options:
        parser.add_argument("--model", required=True, help="model_id, e.g. ppo_lstm_v3.2")
    if "window" in options:
        parser.add_argument("--window", default="", help="1h, 24h (default), 7d or 30d")
    if "drift" in options:
        parser.add_argument("--window-hours", type=int, help="recent window, 1..168 (default 24)")
        parser.add_argument("--baseline-days", type=int, help="baseline, 1..30 (default 7)")
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlanalytics", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help=f"host:port (default {DEFAULT_TARGET})"
    )
    parser.add_argument("--end-time", default="", help="RFC 3339 instant (default now)")
    parser.add_argument("--timeout", type=float, default=10.0, help="deadline in seconds")
    parser.add_argument("--json", action="store_true", help="print the data as JSON")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    health = _add(commands, "health", lambda c, a: c.service_health(), "service health")
    health_commands = health.add_subparsers(dest="subcommand", metavar="subcommand")
    _add(
        health_commands,
        "models",
        lambda c, a: c.models_health(end_time=a.end_time),
        "health of every model seen in the last 7 days",
    )
    _add(
        health_commands,
        "model",
        lambda c, a: c.model_health(a.model, end_time=a.end_time),
        "health of one model",
        "model",
    )
    _add(commands, "info", lambda c, a: c.service_info(), "service information and endpoints")

    metrics = commands.add_parser("metrics", help="rolling metrics").add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    _add(
        metrics,
        "summary",
        lambda c, a: c.metrics_summary(end_time=a.end_time),
        "24 h metrics of every model",
    )
    _add(
        metrics,
        "rolling",
        lambda c, a: c.rolling_metrics(a.model, window=a.window, end_time=a.end_time),
        "one model's rolling metrics",
        "model",
        "window",
    )
    _add(
        metrics,
        "model",
        lambda c, a: c.model_metrics(a.model, window=a.window, end_time=a.end_time),
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
        lambda c, a: c.prediction_accuracy(a.model, window=a.window, end_time=a.end_time),
        "accuracy, per-class metrics, confusion matrix",
        "model",
        "window",
    )
    history = _add(
        prediction_commands,
        "history",
        lambda c, a: c.prediction_history(
            a.model,
            page=a.page,
            page_size=a.page_size,
            start_time=a.start_time,
            end_time=a.end_time,
        ),
        "one page of predictions, newest first",
        "model",
    )
    history.add_argument("--page", type=int, help="1-based page (default 1)")
    history.add_argument("--page-size", type=int, help="rows per page, 1..1000 (default 100)")
    history.add_argument("--start-time", default="", help="RFC 3339 (default end time - 7 days)")
    comparison = _add(
        prediction_commands,
        "comparison",
        lambda c, a: c.prediction_comparison(a.model, limit=a.limit, end_time=a.end_time),
        "the latest predictions against what happened",
        "model",
    )
    comparison.add_argument("--limit", type=int, help="1..1000 (default 100)")

    drift = commands.add_parser("drift", help="input data drift").add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    _add(
        drift,
        "status",
        lambda c, a: c.drift_status(
            a.model,
            window_hours=a.window_hours,
            baseline_days=a.baseline_days,
            end_time=a.end_time,
        ),
        "drift status of one model",
        "model",
        "drift",
    )
    _add(
        drift,
        "features",
        lambda c, a: c.drift_features(
            a.model,
            window_hours=a.window_hours,
            baseline_days=a.baseline_days,
            end_time=a.end_time,
        ),
        "per-feature drift, worst first",
        "model",
        "drift",
    )

    performance = commands.add_parser("performance", help="trends and comparison").add_subparsers(
        dest="subcommand", required=True, metavar="subcommand"
    )
    trends = _add(
        performance,
        "trends",
        lambda c, a: c.performance_trends(a.model, days=a.days, end_time=a.end_time),
        "hourly performance of one model",
        "model",
    )
    trends.add_argument("--days", type=int, help="1..30 (default 7)")
    _add(
        performance,
        "comparison",
        lambda c, a: c.performance_comparison(window=a.window, end_time=a.end_time),
        "every model version side by side",
        "window",
    )

    commands.add_parser("serve", help="start the whole local stack (what `make run` does)")
    seed = commands.add_parser("seed", help="load or top up the demo data in a writable database")
    seed.add_argument("--dsn", required=True, help="libpq connection string")
    return parser


def to_json(message: Message) -> str:
    """The message as the REST API prints it: proto field names, zeros printed."""
    return json_format.MessageToJson(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def render(message: Message) -> str:
    """A readable view: scalar fields as ``name: value``, repeated messages as tables."""
    as_dict = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    lines: list[str] = []
    _render(as_dict, "", lines)
    return "\n".join(lines)


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


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `mlanalytics ... | head` ends quietly
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from devstack.run import run  # noqa: PLC0415 (the local stack needs the `local` extras)

        return run()
    if args.command == "seed":
        from devstack.__main__ import seed_command  # noqa: PLC0415 (as above)

        return seed_command(args.dsn)
    try:
        with AnalyticsClient(args.target, timeout=args.timeout) as client:
            result = args.handler(client, args)
    except AnalyticsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(to_json(result) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
