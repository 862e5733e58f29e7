"""Malformed request messages: the field at fault is named; their warning is rate-limited."""

from __future__ import annotations

import logging

import pytest
from grpc_reflection.v1alpha import reflection_pb2

from mlanalytics.v1 import health_service_pb2, metrics_service_pb2
from server.api.decoding import MalformedRequest, RateLimitedWarning, explain, lenient


def _with_bytes(message: bytes, text: str, raw: bytes) -> bytes:
    """A serialized message with the UTF-8 of ``text`` swapped for ``raw`` (same length)."""
    assert len(text.encode()) == len(raw)
    return message.replace(text.encode(), raw)


class TestLenient:
    def test_valid_bytes_parse_as_usual(self) -> None:
        request = metrics_service_pb2.GetRollingMetricsRequest(model_id="m", window="24h")
        parse = lenient(metrics_service_pb2.GetRollingMetricsRequest.FromString)
        assert parse is not None
        assert parse(request.SerializeToString()) == request

    @pytest.mark.parametrize(
        ("field", "raw"),
        [("end_time", b"\xff\xfe"), ("model_id", b"\xc3("), ("window", b"\xed\xa0\x80")],
    )
    def test_non_utf8_text_names_its_field(self, field: str, raw: bytes) -> None:
        placeholder = "x" * len(raw)
        request = metrics_service_pb2.GetRollingMetricsRequest(**{field: placeholder})
        data = _with_bytes(request.SerializeToString(), placeholder, raw)
        parse = lenient(metrics_service_pb2.GetRollingMetricsRequest.FromString)
        assert parse is not None
        malformed = parse(data)
        assert isinstance(malformed, MalformedRequest)
        assert malformed.message_type == "mlanalytics.v1.GetRollingMetricsRequest"
        assert malformed.violation is not None
        assert malformed.violation.field == field
        assert malformed.violation.description == f"must be UTF-8 text (got {raw!r})"

    def test_long_values_are_shown_shortened(self) -> None:
        request = health_service_pb2.GetModelHealthRequest(model_id="x" * 1000)
        data = request.SerializeToString().replace(b"x", b"\xff")
        malformed = explain(health_service_pb2.GetModelHealthRequest.DESCRIPTOR, data)
        assert malformed.violation is not None
        assert malformed.violation.description.endswith("...)")
        assert len(malformed.description()) < 120

    def test_nested_text_is_named_by_its_path(self) -> None:
        request = reflection_pb2.ServerReflectionRequest(
            file_containing_extension=reflection_pb2.ExtensionRequest(containing_type="ab")
        )
        data = _with_bytes(request.SerializeToString(), "ab", b"\xff\xff")
        malformed = explain(reflection_pb2.ServerReflectionRequest.DESCRIPTOR, data)
        assert malformed.violation is not None
        assert malformed.violation.field == "file_containing_extension.containing_type"

    def test_bytes_that_are_not_protobuf(self) -> None:
        malformed = explain(health_service_pb2.GetModelHealthRequest.DESCRIPTOR, b"\xff\xff\xff")
        assert malformed.violation is None
        assert malformed.description() == (
            "the request is not a valid mlanalytics.v1.GetModelHealthRequest"
        )


class TestRateLimitedWarning:
    def test_one_line_per_interval_then_a_count(self, caplog: pytest.LogCaptureFixture) -> None:
        logger = logging.getLogger("test.ratelimited")
        now = [0.0]
        warn = RateLimitedWarning(logger, interval=10, clock=lambda: now[0])
        with caplog.at_level(logging.WARNING, logger="test.ratelimited"):
            for i in range(100):
                now[0] = i * 0.01  # 100 within a second
                warn("bad request %d", i)
            now[0] = 9.99
            warn("bad request %d", 100)  # still within the interval
            now[0] = 10.0
            warn("bad request %d", 101)
        assert [r.getMessage() for r in caplog.records] == [
            "bad request 0",
            "bad request 101 (and 100 more since the last such line)",
        ]
        assert all(record.exc_info is None for record in caplog.records)
