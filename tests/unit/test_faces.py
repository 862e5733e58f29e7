"""Every RPC of the descriptor set has every face of the API, or this test names what it lacks.

What follows from the descriptors is derived and needs no check here: the REST paths of the
TypeScript client (``src/gen/paths.ts``), the CLI's options and help, the OpenAPI document, the
endpoint tables of the README and docs/DEFINITIONS.md (generated blocks, held to the protos by
tests/unit/test_directory.py), and the end-to-end call of every REST operation
(tests/e2e/test_openapi_truth.py walks the OpenAPI document). The faces written by hand are
checked here, each against the RPCs that are meant to have it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor

from bench.datasets import Dataset
from bench.run import _grpc_requests, endpoints
from mlanalytics.cli import COMMANDS
from server.api.directory import SERVICES

ROOT = Path(__file__).resolve().parents[2]
RPCS: list[MethodDescriptor] = [method for service in SERVICES for method in service.methods]

#: RPCs a face leaves out on purpose, and why.
_PAGES = "a page or file for a browser, not data"
_SCRAPE = "the Prometheus scrape, read by Prometheus"
_STREAM = "a stream: no request-response latency to measure"
NOT_MEANT: dict[str, dict[str, str]] = {
    "Python client method": {
        "GetOpenApiDocument": _PAGES,
        "GetSwaggerUi": _PAGES,
        "GetRedoc": _PAGES,
        "GetDocsAsset": _PAGES,
        "GetPrometheusMetrics": _SCRAPE,
    },
    "CLI command": {
        "GetOpenApiDocument": _PAGES,
        "GetSwaggerUi": _PAGES,
        "GetRedoc": _PAGES,
        "GetDocsAsset": _PAGES,
        "GetPrometheusMetrics": _SCRAPE,
    },
    "TypeScript client method": {
        "GetOpenApiDocument": _PAGES,
        "GetSwaggerUi": _PAGES,
        "GetRedoc": _PAGES,
        "GetDocsAsset": _PAGES,
        "GetPrometheusMetrics": _SCRAPE,
    },
    "bench entry": {
        "GetOpenApiDocument": _PAGES,
        "GetSwaggerUi": _PAGES,
        "GetRedoc": _PAGES,
        "GetDocsAsset": _PAGES,
        "GetPrometheusMetrics": _SCRAPE,
        "WatchModelHealth": _STREAM,
        "WatchDrift": _STREAM,
    },
}


def _template(path: str) -> re.Pattern[str]:
    """A REST path template as a pattern of the paths it names (query string aside)."""
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/?]+", re.escape(path)) + r"(\?|$)")


def _rest(method: MethodDescriptor) -> str:
    rule = method.GetOptions().Extensions[annotations_pb2.http]
    path: str = rule.get
    return path


def _has_python_method(method: MethodDescriptor) -> bool:
    text = (ROOT / "clients" / "python" / "mlanalytics" / "client.py").read_text()
    return re.search(rf"\._\w+\.{method.name}\b", text) is not None


def _has_cli_command(method: MethodDescriptor) -> bool:
    return method.full_name in {command.descriptor.full_name for command in COMMANDS}


def _has_typescript_method(method: MethodDescriptor) -> bool:
    text = (ROOT / "clients" / "typescript" / "src" / "client.ts").read_text()
    return f"PATHS.{method.name}" in text


def _has_bench_entry(method: MethodDescriptor) -> bool:
    data = Dataset("faces", 6, 40, "", datetime(2026, 3, 2, 12, tzinfo=UTC), 0)
    rest = _rest(method)
    grpc_path = f"/{method.containing_service.full_name}/{method.name}"
    return grpc_path in _grpc_requests(data) or (
        bool(rest) and any(_template(rest).match(path) for path in endpoints(data))
    )


FACES = {
    "Python client method": _has_python_method,
    "CLI command": _has_cli_command,
    "TypeScript client method": _has_typescript_method,
    "bench entry": _has_bench_entry,
}


def test_every_rpc_has_every_face_it_is_meant_to_have() -> None:
    missing = [
        f"{method.containing_service.name}.{method.name}: no {face}"
        for method in RPCS
        for face, has in FACES.items()
        if method.name not in NOT_MEANT.get(face, {}) and not has(method)
    ]
    assert missing == [], "\n".join(missing)


def test_what_is_left_out_names_real_rpcs_that_lack_it() -> None:
    by_name = {method.name: method for method in RPCS}
    for face, left_out in NOT_MEANT.items():
        for name in left_out:
            assert name in by_name, f"{face}: no RPC {name}"
            assert not FACES[face](by_name[name]), (
                f"{name} has a {face} now: drop it from NOT_MEANT"
            )


def test_every_rpc_has_a_rest_path_for_the_end_to_end_walk() -> None:
    assert [m.full_name for m in RPCS if not _rest(m)] == []


def test_the_checks_can_fail() -> None:
    fake = "NoSuchRpc"

    class Fake:
        name = fake
        full_name = f"mlanalytics.v1.HealthService.{fake}"

    assert not _has_python_method(Fake)  # type: ignore[arg-type]
    assert not _has_cli_command(Fake)  # type: ignore[arg-type]
    assert not _has_typescript_method(Fake)  # type: ignore[arg-type]
