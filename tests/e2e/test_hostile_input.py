"""Hostile input through the real Envoy and straight to the server: never a 5xx, always JSON.

A property test sends thousands of requests over every documented path and parameter, with
values a fuzzer or an attacker would pick: arbitrary Unicode, raw bytes (percent-encoded, so
most are not UTF-8 once decoded), huge values, numbers out of every range, broken escapes.
Whatever comes back must be below 500 and a small JSON body; the server's log must hold no
traceback and at most one rate-limited warning line per 10 seconds. Raw gRPC messages of random
bytes go to every method, over the public port and the direct one: INVALID_ARGUMENT whenever
the bytes are not a valid request, never INTERNAL.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.api import annotations_pb2
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devstack import processes
from mlanalytics.v1.services import SERVICES
from server.api.directory import endpoints
from server.app import Service


def _rest_endpoints() -> list[tuple[str, list[str], str]]:
    """Every REST path: its query parameters, and what a 200 carries: ``json`` (the envelope),
    ``body`` (a raw HTTP body: metrics, documentation pages) or ``stream`` (Server-Sent Events)."""
    found = []
    for service in SERVICES:
        method: MethodDescriptor
        for method in service.methods:
            path = method.GetOptions().Extensions[annotations_pb2.http].get
            if not path:
                continue
            own = [f.name for f in method.input_type.fields if "{" + f.name + "}" not in path]
            kind = (
                "stream"
                if method.server_streaming
                else "body"
                if method.output_type.full_name == "google.api.HttpBody"
                else "json"
            )
            found.append((path, own, kind))
    return found


ENDPOINTS = _rest_endpoints()
KINDS = {path: kind for path, _, kind in ENDPOINTS}
KNOWN_NAMES = sorted({name for e in endpoints() for name in e.query_parameters})
REQUESTS_PER_EXAMPLE = 10
EXAMPLES = 520  # x 10 requests: >= 5,000 per run
LARGEST_ERROR_BODY = 2048  # bytes: Envoy's and the server's errors quote values shortened


def _quoted(value: str | bytes) -> str:
    return urllib.parse.quote(value, safe="")


# Percent-encoded values: Unicode text, raw bytes, huge runs, numbers, plausible values; and a
# few escapes that are broken or mean something to a URL parser, sent as they are.
VALUES = st.one_of(
    st.text(max_size=40).map(_quoted),
    st.binary(max_size=16).map(_quoted),
    st.builds(lambda c, n: _quoted(c * n), st.sampled_from("x9é%\x00 "), st.integers(200, 9000)),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", "1e5", "NaN", "-0", "0x10", "1.5", "+1", "%2B1", "9" * 40]),
    st.sampled_from(
        ["24h", "7d", "30d", "ppo_lstm_v3.2", "2026-03-02T12:00:00Z", "2026-03-02T17:00:00+05:00"]
    ),
    st.sampled_from(["%", "%zz", "%C3", "%%", "%FF%FE", "%ED%A0%80", "%C0%AF", "..", "%2F", ";"]),
)
NAMES = st.one_of(
    st.sampled_from(KNOWN_NAMES), st.text(min_size=1, max_size=12).map(_quoted), VALUES
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str]:
    """A GET target: a documented path (its path parameter hostile too) and a hostile query;
    with the kind of answer the path gives."""
    template, own, kind = draw(st.sampled_from(ENDPOINTS))
    path = template.replace("{model_id}", draw(VALUES)) if "{model_id}" in template else template
    names = st.one_of(st.sampled_from(own), NAMES) if own else NAMES
    query = draw(st.lists(st.tuples(names, VALUES), max_size=4))
    if not query:
        return path, kind
    return path + "?" + "&".join(f"{name}={value}" for name, value in query), kind


class Client:
    """Keep-alive GETs to Envoy's public port, reconnecting when Envoy closes the connection."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, target: str) -> tuple[int, str, bytes]:
        """Status, content type and body; of an event stream, only its first event."""
        try:
            self._conn.request("GET", target)
            response = self._conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._reconnect()  # Envoy closes after some errors (431): ask again on a new one
            self._conn.request("GET", target)
            response = self._conn.getresponse()
        content_type = response.getheader("content-type", "")
        if content_type.startswith("text/event-stream"):
            body = b""
            while b"\n\n" not in body:  # the first event: the state now
                line = response.readline()
                if not line:
                    break
                body += line
            self._reconnect()  # a stream never ends by itself
            return response.status, content_type, body
        body = response.read()
        if response.getheader("connection", "").lower() == "close":
            self._reconnect()
        return response.status, content_type, body

    def _reconnect(self) -> None:
        self._conn.close()
        self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=30)

    def close(self) -> None:
        self._conn.close()


def assert_well_formed(target: str, kind: str, status: int, content_type: str, body: bytes) -> None:
    """Below 500; errors a short JSON; a 200 what its path promises."""
    shown = (target[:300], status, content_type, body[:300])
    assert status < 500, shown
    if status >= 400 or kind == "json":
        assert content_type.startswith("application/json"), shown
        parsed: Any = json.loads(body)  # raises on a non-JSON body
        if status >= 400:
            assert isinstance(parsed["code"], int), shown
            assert isinstance(parsed["message"], str), shown
            assert len(body) <= LARGEST_ERROR_BODY, shown
    elif kind == "stream":
        assert content_type.startswith("text/event-stream"), shown
        event = body.decode()
        assert event.startswith("data: "), shown
        json.loads(event.removeprefix("data: "))
    else:  # a raw body: metrics, a documentation page
        assert body, shown


@pytest.fixture
def server_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.INFO):
        yield caplog


def assert_quiet_log(caplog: pytest.LogCaptureFixture, seconds: float) -> None:
    """No traceback, no error; at most one warning per 10 s about client errors."""
    records = caplog.records
    assert [r.getMessage() for r in records if r.exc_info or r.levelno >= logging.ERROR] == []
    warnings = [r for r in records if r.levelno == logging.WARNING and "malformed" in r.msg]
    assert len(warnings) <= 1 + seconds / 10, [r.getMessage() for r in warnings]


def test_hostile_rest_requests_get_4xx_json(
    proxy: processes.EnvoyProcess, server_log: pytest.LogCaptureFixture
) -> None:
    client = Client(proxy.port)
    statuses: Counter[int] = Counter()
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(requests(), min_size=REQUESTS_PER_EXAMPLE, max_size=REQUESTS_PER_EXAMPLE))
    def check(targets: list[tuple[str, str]]) -> None:
        for target, kind in targets:
            status, content_type, body = client.get(target)
            statuses[status] += 1
            assert_well_formed(target, kind, status, content_type, body)

    try:
        check()
    finally:
        client.close()
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    print(f"\n{total} hostile requests in {elapsed:.1f} s: {dict(sorted(statuses.items()))}")
    assert total >= 5000
    assert_quiet_log(server_log, elapsed)


@pytest.mark.parametrize(
    ("target", "field"),
    [
        ("/api/health/models?end_time=%FF%FE", "end_time"),
        ("/api/health/model/%C3%28", "model_id"),
        ("/api/metrics/rolling?model_id=m&window=%ED%A0%80", "window"),
        ("/api/predictions/history?model_id=%80&page=2", "model_id"),
    ],
)
def test_non_utf8_values_are_400_naming_the_parameter(
    proxy: processes.EnvoyProcess, server_log: pytest.LogCaptureFixture, target: str, field: str
) -> None:
    client = Client(proxy.port)
    try:
        status, content_type, body = client.get(target)
    finally:
        client.close()
    assert status == 400, body
    assert content_type.startswith("application/json")
    reply = json.loads(body)
    assert reply["code"] == 3
    assert reply["message"].startswith(f"invalid request: {field}: must be UTF-8 text")
    [detail] = reply["details"]
    assert detail["field_violations"][0]["field"] == field
    assert "Exception" not in reply["message"]
    assert_quiet_log(server_log, 0)


# --- native gRPC --------------------------------------------------------------------------------

UNARY = {
    f"/{service.full_name}/{method.name}": method.input_type.full_name
    for service in SERVICES
    for method in service.methods
    if not method.server_streaming
} | {"/grpc.health.v1.Health/Check": "grpc.health.v1.HealthCheckRequest"}
STREAMING = {  # server streaming: a valid request streams until its deadline
    f"/{service.full_name}/{method.name}": method.input_type.full_name
    for service in SERVICES
    for method in service.methods
    if method.server_streaming
} | {"/grpc.health.v1.Health/Watch": "grpc.health.v1.HealthCheckRequest"}
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"  # bidirectional
_TYPES: dict[str, Any] = {
    "grpc.health.v1.HealthCheckRequest": health_pb2.HealthCheckRequest,
    "grpc.reflection.v1alpha.ServerReflectionRequest": reflection_pb2.ServerReflectionRequest,
}


def _parses(type_name: str, data: bytes) -> bool:
    """Whether ``data`` is a valid message of ``type_name`` (as the server will parse it)."""
    from google.protobuf import symbol_database

    message_type = _TYPES.get(type_name) or symbol_database.Default().GetSymbol(type_name)
    try:
        message_type.FromString(data)
    except Exception:
        return False
    return True


@pytest.fixture(params=["direct", "envoy"])
def raw_channel(
    request: pytest.FixtureRequest, service: Service, proxy: processes.EnvoyProcess
) -> Iterator[grpc.Channel]:
    port = service.port if request.param == "direct" else proxy.port
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel


def test_random_bytes_to_every_method_are_invalid_argument(
    raw_channel: grpc.Channel, server_log: pytest.LogCaptureFixture
) -> None:
    codes: Counter[str] = Counter()
    started = time.monotonic()
    methods = [*UNARY, *STREAMING, REFLECTION]

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.sampled_from(methods), st.binary(min_size=1, max_size=64))
    def check(method: str, data: bytes) -> None:
        type_name = (
            UNARY.get(method)
            or STREAMING.get(method)
            or "grpc.reflection.v1alpha.ServerReflectionRequest"
        )
        valid = _parses(type_name, data)
        if method in STREAMING:
            assume(not valid)  # a valid request streams until its deadline
        try:
            # No serializers: the bytes go out as they are.
            if method in STREAMING:
                list(raw_channel.unary_stream(method, None, None)(data, timeout=10))
            elif method == REFLECTION:
                list(raw_channel.stream_stream(method, None, None)(iter([data]), timeout=10))
            else:
                raw_channel.unary_unary(method, None, None)(data, timeout=10)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()
            details = error.details() or ""
            assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), details
            if not valid:
                assert code == grpc.StatusCode.INVALID_ARGUMENT, (method, data, details)
                assert details.startswith("invalid request: "), details
        assert valid or code == grpc.StatusCode.INVALID_ARGUMENT
        codes[code.name] += 1

    check()
    print(f"\nrandom messages: {dict(codes)}")
    assert codes["INVALID_ARGUMENT"] >= 100
    assert_quiet_log(server_log, time.monotonic() - started)
