"""Benchmark the service through Envoy on the desk and scale data sets; write docs/PERFORMANCE.md.

    python -m bench.run [--dsn ADMIN_DSN] [--datasets desk,scale] [--seconds 5] [--out FILE]
    python -m bench.run --smoke      # seconds, a tiny data set: keeps this code from rotting

For each data set: the server (``python -m server``) and Envoy start against it; every endpoint's
first (uncached) call is timed, median of ``--cold-runs`` fresh starts; then, on desk, every
endpoint is loaded for ``--seconds`` with 8 keep-alive connections (wrk), a few RPCs over native
gRPC (h2load), and GET /health, which does no database work, as the floor that each endpoint is
reported against, so the numbers survive a noisy machine. Last, an uncacheable mix (every
request at an ``end_time`` of its own: 1000-row pages, 1000-entry comparisons, 30-day trends
and windows) checks that memory stays bounded when the response cache cannot help. The server's
peak RSS is read from /proc. Install the load drivers with ``apt-get install wrk nghttp2-client``.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import platform
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import psycopg
from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor

from bench import load
from bench.datasets import SIZES, Dataset, ensure
from devstack import envoy, processes
from mlanalytics.parameters import request_parameters
from mlanalytics.v1 import health_service_pb2, metrics_service_pb2, prediction_service_pb2
from mlanalytics.v1.services import SERVICES

log = logging.getLogger("bench")
ROOT = Path(__file__).resolve().parent.parent
CONNECTIONS = 8

# The targets of docs/DEFINITIONS.md#performance-targets.
DESK_P99_MS, DESK_RPS, DESK_COLD_MS = 20.0, 1000.0, 50.0
SCALE_MODEL_COLD_MS, SCALE_ALL_COLD_MS, RSS_MB = 250.0, 1000.0, 300.0
ALL_MODEL_PATHS = ("/api/metrics/summary", "/api/health/models", "/api/performance/comparison")


HTTP_BODY = "google.api.HttpBody"


def _sample(data: Dataset, rpc: MethodDescriptor, field: str) -> str | None:
    """The value a bench call gives ``field``, a parameter that must be named (the others keep
    their defaults); None for a parameter it knows no value for (that RPC gets no bench entry,
    and tests/unit/test_faces.py names it). Drift and anomalies ask about the drifting model."""
    model, drifting = data.model_id(3), data.model_id(1)
    about_drift = rpc.containing_service.name in ("DriftService", "AnomalyService")
    values = {
        "model_id": drifting if about_drift else model,
        "model_a": model,
        "model_b": drifting,
        "metric": "sharpe_ratio",
    }
    return values.get(field)


def endpoints(data: Dataset) -> list[str]:
    """Every REST path of the descriptors with its default parameters (required ones from
    `_sample`), then the heaviest variants.

    end_time is the data set's end, so that repeated runs ask the same questions.
    """
    when = data.end.isoformat().replace("+00:00", "Z")
    model, drifting = data.model_id(3), data.model_id(1)
    paths = []
    for service in SERVICES:
        for rpc in service.methods:
            path = rpc.GetOptions().Extensions[annotations_pb2.http].get
            if not path or rpc.server_streaming or rpc.output_type.full_name == HTTP_BODY:
                continue
            declared = request_parameters(rpc.input_type)
            named = {
                name: _sample(data, rpc, name)
                for name, parameter in declared.items()
                if parameter.required or "{" + name + "}" in path
            }
            if None in named.values():
                continue
            query = []
            for name, value in named.items():
                if "{" + name + "}" in path:
                    path = path.replace("{" + name + "}", str(value))
                else:
                    query.append(f"{name}={value}")
            if "end_time" in declared:
                query.append(f"end_time={when}")
            paths.append(path + ("?" + "&".join(query) if query else ""))
    return [
        *paths,
        # The largest answers: 30-day windows, a 1000-row page, 30 days of hourly buckets.
        f"/api/metrics/rolling?model_id={model}&window=30d&end_time={when}",
        f"/api/metrics/model/{model}?window=30d&end_time={when}",
        f"/api/predictions/history?model_id={model}&page_size=1000&end_time={when}",
        f"/api/drift/status?model_id={drifting}&window_hours=168&baseline_days=30&end_time={when}",
        f"/api/performance/trends/{model}?days=30&end_time={when}",
        f"/api/performance/comparison?window=30d&end_time={when}",
        # 30 days of 24 h Sharpe at 1 h steps: a month-long chart in one call (721 points).
        f"/api/metrics/series?model_id={model}&metric=sharpe_ratio&step=1h"
        f"&start_time={(data.end - timedelta(days=30)).isoformat().replace('+00:00', 'Z')}"
        f"&end_time={when}",
    ]


def uncacheable_paths(data: Dataset) -> list[str]:
    """The uncacheable mix: the heaviest answers per model, each with an ``{end_time}`` slot that
    the load driver fills with a moment of its own for every request."""
    paths = []
    for index in range(1, data.models + 1):
        model = data.model_id(index)
        paths += [
            f"/api/predictions/history?model_id={model}&page_size=1000&end_time={{end_time}}",
            f"/api/predictions/comparison?model_id={model}&limit=1000&end_time={{end_time}}",
            f"/api/performance/trends/{model}?days=30&end_time={{end_time}}",
            f"/api/metrics/model/{model}?window=30d&end_time={{end_time}}",
        ]
    return paths


def label(path: str) -> str:
    """The path with its non-default parameters (models and end_time left out)."""
    route, _, query = path.partition("?")
    hidden = ("end_time=", "model_id=", "model_a=", "model_b=")
    shown = [p for p in query.split("&") if p and not p.startswith(hidden)]
    return route + (" " + " ".join(shown) if shown else "")


@dataclass
class Stack:
    """The server and Envoy running against one data set."""

    server: processes.ServerProcess
    proxy: processes.EnvoyProcess

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy.port}"

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.server.process.pid}/status").read_text()
        kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
        return kib / 1024


@contextmanager
def stack(data: Dataset) -> Iterator[Stack]:
    server = processes.start_server(dsn=data.dsn, quiet=True)
    proxy = None
    try:
        proxy = processes.start_envoy(
            envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=server.port),
            quiet=True,
        )
        yield Stack(server, proxy)
    finally:
        if proxy:
            proxy.stop()
        server.stop(grace=30)


def first_calls(data: Dataset, runs: int) -> tuple[dict[str, float], float]:
    """Each endpoint's first (uncached) call in ms, median over ``runs`` fresh servers; peak RSS."""
    times: dict[str, list[float]] = {path: [] for path in endpoints(data)}
    rss = 0.0
    for _ in range(runs):
        with stack(data) as running:
            conn = http.client.HTTPConnection("127.0.0.1", running.proxy.port, timeout=60)
            conn.request("GET", "/health")  # open the connection first
            conn.getresponse().read()
            for path, values in times.items():
                started = time.perf_counter()
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                values.append((time.perf_counter() - started) * 1000)
                if response.status != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status}")
            conn.close()
            rss = max(rss, running.peak_rss_mb())
    return {path: median(values) for path, values in times.items()}, rss


@dataclass
class Report:
    data: Dataset
    cold: dict[str, float]
    rss_mb: float
    warm: dict[str, load.Load] = field(default_factory=dict)
    grpc: dict[str, load.Load] = field(default_factory=dict)
    uncacheable: load.Load | None = None
    uncacheable_rss_mb: float = 0.0  # peak RSS through the warm loads and the uncacheable mix


def _grpc_requests(data: Dataset) -> dict[str, bytes]:
    when = data.end.isoformat()
    return {
        "/mlanalytics.v1.HealthService/GetServiceHealth": b"",
        "/mlanalytics.v1.HealthService/ListModelHealth": health_service_pb2.ListModelHealthRequest(
            end_time=when
        ).SerializeToString(),
        "/mlanalytics.v1.MetricsService/GetRollingMetrics": (
            metrics_service_pb2.GetRollingMetricsRequest(
                model_id=data.model_id(3), window="24h", end_time=when
            ).SerializeToString()
        ),
        # A large answer (100 records): compare with its REST row to see the cost of transcoding.
        "/mlanalytics.v1.PredictionService/GetPredictionHistory": (
            prediction_service_pb2.GetPredictionHistoryRequest(
                model_id=data.model_id(3), end_time=when
            ).SerializeToString()
        ),
    }


def measure(data: Dataset, *, seconds: float, cold_runs: int, warm: bool) -> Report:
    log.info("%s: first calls (%d fresh starts)", data.name, cold_runs)
    cold, rss = first_calls(data, cold_runs)
    report = Report(data, cold, rss)
    if not warm:
        return report
    with stack(data) as running:
        for path in endpoints(data):
            log.info("%s: loading %s", data.name, path.split("?")[0])
            report.warm[path] = load.http_load(
                running.url + path, connections=CONNECTIONS, seconds=seconds
            )
        if load.have("h2load"):
            for rpc, message in _grpc_requests(data).items():
                report.grpc[rpc] = load.h2load_grpc(
                    running.url + rpc,
                    message,
                    connections=CONNECTIONS,
                    requests=max(200, int(seconds * 1000)),
                )
        report.rss_mb = max(report.rss_mb, running.peak_rss_mb())
        log.info("%s: uncacheable mix", data.name)
        report.uncacheable = load.http_mix(
            running.url,
            uncacheable_paths(data),
            data.end,
            connections=CONNECTIONS,
            seconds=seconds * 4,
        )
        report.uncacheable_rss_mb = running.peak_rss_mb()
        report.rss_mb = max(report.rss_mb, report.uncacheable_rss_mb)
    return report


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 2**20
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, {platform.system()} {platform.release()}"
    )


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown(reports: list[Report], command: str, postgres: str) -> str:
    targets = (
        f"Targets: desk, every endpoint p99 <= {DESK_P99_MS:.0f} ms and"
        f" >= {DESK_RPS:.0f} req/s warm, first call <= {DESK_COLD_MS:.0f} ms; scale, per-model"
        f" first calls <= {SCALE_MODEL_COLD_MS:.0f} ms and all-model ones"
        f" (summary, health, comparison) <= {SCALE_ALL_COLD_MS:.0f} ms; RSS <= {RSS_MB:.0f} MB."
    )
    lines = [
        "# Performance",
        "",
        f"{postgres}; Envoy 1.40 (`--concurrency` default); server as `python -m server`"
        " with its defaults (response cache 2 s).",
        "Through Envoy on its public port; 8 keep-alive connections (wrk -t2 -c8 for REST,"
        " h2load -c8 for native gRPC), on the same machine as the server: the load driver's CPU"
        " is taken from it. First call: the first, uncached call of each endpoint after a fresh"
        " start, median of fresh starts. The machine is shared and noisy: compare the ratios to"
        " the floor (GET /health, no database work) rather than the absolute numbers.",
        "",
        targets,
        "",
    ]
    measured = f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}` on {_machine()}."
    for report in sorted(reports, key=lambda r: list(SIZES).index(r.data.name)):
        data = report.data
        lines += [
            f"## {data.name}: {data.models} models x {data.days} days, {data.rows:,} rows",
            "",
            measured,
            "",
        ]
        floor = report.warm.get("/health")
        scale = data.name == "scale"
        header = "| endpoint | first call ms | target met |"
        rule = "|---|---:|---|"
        if report.warm:
            header = "| endpoint | first call ms | p50 ms | p99 ms | req/s | x floor | target met |"
            rule = "|---|---:|---:|---:|---:|---:|---|"
        lines += [header, rule]
        for path, cold in report.cold.items():
            name = path.split("?")[0]
            if scale:
                limit = SCALE_ALL_COLD_MS if name in ALL_MODEL_PATHS else SCALE_MODEL_COLD_MS
                ok = cold <= limit
            else:
                ok = cold <= DESK_COLD_MS
            row = f"| `{label(path)}` | {cold:.1f} |"
            warm = report.warm.get(path)
            if warm is not None and floor is not None:
                ok = (
                    ok and warm.p99_ms <= DESK_P99_MS and warm.rps >= DESK_RPS and not warm.failures
                )
                row += (
                    f" {warm.p50_ms:.1f} | {warm.p99_ms:.1f} | {warm.rps:.0f} |"
                    f" {warm.rps / floor.rps:.2f} |"
                )
            lines.append(f"{row} {_mark(ok)} |")
        if report.grpc:
            lines += [
                "",
                "Native gRPC through Envoy (h2load):",
                "",
                "| RPC | p50 ms | p99 ms | req/s |",
                "|---|---:|---:|---:|",
            ]
            lines += [
                f"| `{rpc}` | {g.p50_ms:.1f} | {g.p99_ms:.1f} | {g.rps:.0f} |"
                for rpc, g in report.grpc.items()
            ]
        mix = report.uncacheable
        if mix is not None:
            lines += [
                "",
                f"Uncacheable mix ({mix.driver}, {CONNECTIONS} connections, every request at an"
                " end_time of its own: 1000-row history pages, 1000-entry comparisons, 30-day"
                f" trends and model metrics): {mix.requests:,} requests, {mix.rps:.0f} req/s,"
                f" p99 {mix.p99_ms:.0f} ms, {mix.failures} failures; server peak RSS through it"
                f" {report.uncacheable_rss_mb:.0f} MB (target <= {RSS_MB:.0f} MB:"
                f" {_mark(report.uncacheable_rss_mb <= RSS_MB)}).",
            ]
        drivers = sorted({w.driver for w in report.warm.values()})
        lines += [
            "",
            f"Server peak RSS: {report.rss_mb:.0f} MB (target <= {RSS_MB:.0f} MB:"
            f" {_mark(report.rss_mb <= RSS_MB)})."
            + (f" Load driver: {', '.join(drivers)}." if drivers else ""),
            "",
        ]
    return "\n".join(lines)


def with_other_sections(text: str, old: str, measured: Sequence[str]) -> str:
    """``text`` followed by the sections of ``old`` that this run did not write: the data sets it
    did not measure, and the other benchmarks' (e.g. bench/anomalies.py's), in their order."""
    head, *new = re.split(r"(?m)^(?=## )", text)
    ours = tuple(f"## {name}:" for name in measured)
    kept = [s for s in re.split(r"(?m)^(?=## )", old)[1:] if not s.startswith(ours)]
    order = [f"## {name}:" for name in SIZES]

    def place(section: str) -> int:  # data sets in their order, then the others as they were
        return next((i for i, p in enumerate(order) if section.startswith(p)), len(order))

    sections = sorted([*new, *kept], key=place)
    return "\n".join(part.rstrip("\n") + "\n" for part in [head, *sections])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="superuser DSN; the data sets get databases of their own",
    )
    parser.add_argument("--datasets", default="desk,scale")
    parser.add_argument("--seconds", type=float, default=5.0, help="load per endpoint")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    parser.add_argument("--smoke", action="store_true", help="tiny data, short runs")
    parser.add_argument(
        "--database", help="the data set's database (one data set only; default: its own name)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = ["smoke"] if args.smoke else args.datasets.split(",")
    if args.database and len(names) > 1:
        parser.error("--database names the database of one data set")
    seconds = 2.0 if args.smoke else args.seconds  # smoke: long enough to answer on a busy machine
    cold_runs = 1 if args.smoke else args.cold_runs
    reports = []
    for name in names:
        data = ensure(args.dsn, name, args.database)
        reports.append(measure(data, seconds=seconds, cold_runs=cold_runs, warm=name != "scale"))
    with psycopg.connect(args.dsn) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(reports, command.strip(), f"PostgreSQL {version}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = args.out.read_text() if args.out.exists() else ""
    args.out.write_text(with_other_sections(text, old, names))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
