"""Envoy as an edge proxy: size limits, path normalisation, header rules, timeouts, HTTP/2
settings and the connection limit, each seen as a client sees it.

All but the last use the committed envoy.yaml as rendered for the tests; the connection limit is
checked on a copy whose only change is a limit of 3, as 4,096 connections are too many to open
here.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devstack import envoy, processes
from restclient import Rest
from rows import Rows
from server.app import MAX_METADATA_BYTES, Service

END = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ENVOY_HEADER_LIMIT = 8 * 1024  # max_request_headers_kb in envoy.yaml
INTERNAL_WORDS = ("x-envoy", "metadata", ":path", "grpc", "soft limit", "hard limit")


def get(port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """One GET with the target sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, response.getheader("content-type", ""), body
    finally:
        conn.close()


def assert_short_json_error(status: int, content_type: str, body: bytes, code: int) -> str:
    assert content_type.startswith("application/json"), body[:200]
    reply = json.loads(body)
    assert reply["code"] == code, reply
    message: str = reply["message"]
    assert not any(word in message.lower() for word in INTERNAL_WORDS), message
    assert len(body) < 300, body[:300]
    return message


class TestSizeLimits:
    def test_the_server_accepts_more_metadata_than_envoy_lets_through(self) -> None:
        # x-envoy-original-path repeats the URL on the way to the server: twice Envoy's limit
        # plus the headers Envoy adds must fit in the server's.
        assert 2 * ENVOY_HEADER_LIMIT + 2048 < MAX_METADATA_BYTES

    @pytest.mark.parametrize("length", [9_000, 16_000, 70_000])
    def test_a_long_url_is_a_431_json_from_envoy(
        self, proxy: processes.EnvoyProcess, length: int
    ) -> None:
        status, content_type, body = get(proxy.port, "/api/health/models?end_time=" + "x" * length)
        assert status == 431, body[:200]
        message = assert_short_json_error(status, content_type, body, code=3)
        assert "8 KiB" in message

    def test_long_headers_are_a_431_json_from_envoy(self, proxy: processes.EnvoyProcess) -> None:
        status, content_type, body = get(proxy.port, "/health", {"x-padding": "p" * 9000})
        assert status == 431
        assert_short_json_error(status, content_type, body, code=3)

    def test_urls_just_under_the_limit_reach_the_server_every_time(
        self, proxy: processes.EnvoyProcess, service: Service
    ) -> None:
        """Below Envoy's limit the server answers (its own 400): never a 429 at random."""
        statuses = []
        for length in range(6_000, 8_000, 100):
            status, content_type, body = get(proxy.port, "/api/health/model/" + "m" * length)
            statuses.append(status)
            if status == 400:
                assert "must be at most 100 characters" in json.loads(body)["message"]
            else:
                assert status == 431, (length, status, body[:200])
                assert_short_json_error(status, content_type, body, code=3)
        assert 429 not in statuses
        assert statuses.count(400) >= 15, statuses  # most of them got through to the server

    def test_envoy_errors_do_not_echo_long_values(self, proxy: processes.EnvoyProcess) -> None:
        long_name = "q" * 3000
        status, content_type, body = get(proxy.port, f"/api/health/models?{long_name}=1")
        assert status == 400
        assert long_name[:50] not in assert_short_json_error(status, content_type, body, code=3)
        status, content_type, body = get(proxy.port, "/api/predictions/history?page=" + "7" * 3000)
        assert status == 400
        assert_short_json_error(status, content_type, body, code=3)
        status, content_type, body = get(proxy.port, "/nope/" + "n" * 3000)
        assert status == 404
        assert_short_json_error(status, content_type, body, code=5)

    def test_short_values_are_still_named(self, proxy: processes.EnvoyProcess) -> None:
        status, _, body = get(proxy.port, "/api/health/models?foo=1")
        assert status == 400
        assert '"foo"' in json.loads(body)["message"]

    def test_a_1000_row_page_is_transcoded(self, rows: Rows, rest: Rest) -> None:
        """The transcoder holds a whole answer; 32 KiB connection buffers must not cap it."""
        times = [END - timedelta(minutes=5 * i) for i in range(1000)]
        rows.inferences(
            {
                "timestamp_utc": times,
                "model_id": ["m"] * 1000,
                "action_raw": [0.8] * 1000,
                "action_discretized": ["LONG"] * 1000,
                "confidence": [0.5] * 1000,
            }
        )
        end = END.isoformat().replace("+00:00", "Z")
        reply = rest.get(f"/api/predictions/history?model_id=m&page_size=1000&end_time={end}")
        assert reply.status == 200, reply.body[:200]
        assert len(reply.json()["data"]["predictions"]) == 1000


class TestPaths:
    @pytest.mark.parametrize("target", ["//health", "/api//health/models", "/api/health/models//"])
    def test_repeated_slashes_are_merged(self, proxy: processes.EnvoyProcess, target: str) -> None:
        status, _, body = get(proxy.port, target)
        assert status == 200, body[:200]

    @pytest.mark.parametrize(
        "target", ["/./health", "/api/metrics/../health/models", "/nothing/../health"]
    )
    def test_dot_segments_are_resolved(self, proxy: processes.EnvoyProcess, target: str) -> None:
        status, _, body = get(proxy.port, target)
        assert status == 200, body[:200]

    def test_an_escaped_slash_stays_inside_its_segment(self, proxy: processes.EnvoyProcess) -> None:
        status, _, body = get(proxy.port, "/api/health/model/a%2Fb")
        assert status == 404
        assert "'a/b'" in json.loads(body)["message"]  # a model id, not two path segments


class TestHeaders:
    def test_a_header_name_with_an_underscore_is_refused(
        self, proxy: processes.EnvoyProcess
    ) -> None:
        status, content_type, body = get(proxy.port, "/health", {"x_user": "1"})
        assert status == 400
        assert_short_json_error(status, content_type, body, code=3)

    def test_headers_sent_too_slowly_time_out(self, proxy: processes.EnvoyProcess) -> None:
        """request_headers_timeout (10 s): a client trickling its headers is cut off."""
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n")  # never finished
            started = time.monotonic()
            reply = sock.recv(4096)
            waited = time.monotonic() - started
        assert reply.startswith(b"HTTP/1.1 408 "), reply[:100]
        head, _, body = reply.partition(b"\r\n\r\n")
        assert b"application/json" in head
        assert json.loads(body)["code"] == 4
        assert 9 <= waited < 20


def _frames(sock: socket.socket) -> Iterator[tuple[int, int, int, bytes]]:
    """HTTP/2 frames read from ``sock``: (type, flags, stream, payload)."""
    buffer = b""
    while True:
        while len(buffer) < 9 or len(buffer) < 9 + int.from_bytes(buffer[:3], "big"):
            chunk = sock.recv(65536)
            if not chunk:
                return
            buffer += chunk
        length = int.from_bytes(buffer[:3], "big")
        kind, flags = buffer[3], buffer[4]
        stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
        yield kind, flags, stream, buffer[9 : 9 + length]
        buffer = buffer[9 + length :]


class TestHttp2:
    def test_stream_limit_and_window_sizes(self, proxy: processes.EnvoyProcess) -> None:
        settings_frame, window_update = 0x4, 0x8
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
            )
            settings: dict[int, int] = {}
            connection_increment = 0
            for kind, flags, stream, payload in _frames(sock):
                if kind == settings_frame and not flags & 0x1:  # not an ACK
                    for i in range(0, len(payload), 6):
                        key, value = struct.unpack("!HI", payload[i : i + 6])
                        settings[key] = value
                elif kind == window_update and stream == 0:
                    connection_increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
                if settings and connection_increment:
                    break
        max_concurrent_streams, initial_window_size = 0x3, 0x4
        assert settings[max_concurrent_streams] == 100
        assert settings[initial_window_size] == 65536
        assert 65535 + connection_increment == 1048576  # the connection's window: 1 MiB


class TestConnectionLimit:
    @pytest.fixture
    def limited(self, service: Service) -> Iterator[processes.EnvoyProcess]:
        config = envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=service.port)
        [monitor] = config["overload_manager"]["resource_monitors"]
        assert monitor["name"] == "envoy.resource_monitors.global_downstream_max_connections"
        assert monitor["typed_config"]["max_active_downstream_connections"] == 4096
        monitor["typed_config"]["max_active_downstream_connections"] = 3
        running = processes.start_envoy(config)
        yield running
        running.stop()

    def test_connections_beyond_the_limit_are_closed(self, limited: processes.EnvoyProcess) -> None:
        def open_and_ask() -> tuple[http.client.HTTPConnection, int]:
            conn = http.client.HTTPConnection("127.0.0.1", limited.port, timeout=10)
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            return conn, response.status

        held = [open_and_ask() for _ in range(3)]
        assert [status for _, status in held] == [200, 200, 200]
        with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
            open_and_ask()  # the fourth is closed before it is answered
        held.pop()[0].close()
        deadline = time.monotonic() + 10
        while True:  # Envoy counts the closed connection out shortly after
            try:
                conn, status = open_and_ask()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError):
                assert time.monotonic() < deadline
        conn.close()
        assert status == 200
        for conn, _ in held:
            conn.close()
