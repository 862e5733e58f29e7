"""The RPC metrics count every call, those refused while decoding their request too, and a
watch stream's errors get the same status mapping as a unary call's."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from databases import ScratchDatabase
from mlanalytics.v1 import drift_service_pb2, health_service_pb2, health_service_pb2_grpc
from server.app import create_server

ROLLING = "/mlanalytics.v1.MetricsService/GetRollingMetrics"


def _counters(text: str, family_name: str, method: str) -> dict[str, float]:
    """grpc_code (or "") -> value of one family's samples for one method."""
    return {
        s.labels.get("grpc_code", ""): s.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for s in family.samples
        if s.labels.get("grpc_method") == method and s.name.endswith("_total")
    }


def test_calls_refused_while_decoding_are_counted(database: ScratchDatabase) -> None:
    service = create_server(database.settings())
    service.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            raw = channel.unary_unary(ROLLING, None, None)  # bytes in, bytes out
            for _ in range(3):
                with pytest.raises(grpc.RpcError) as caught:
                    raw(b"\xff\xff\xff", timeout=10)
                error: Any = caught.value
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "not a valid mlanalytics.v1.GetRollingMetricsRequest" in error.details()
            stub = health_service_pb2_grpc.HealthServiceStub(channel)
            text = stub.GetPrometheusMetrics(
                health_service_pb2.GetPrometheusMetricsRequest(), timeout=10
            ).data.decode()
    finally:
        service.stop(grace=1)
    assert _counters(text, "grpc_server_started", "GetRollingMetrics") == {"": 3.0}
    handled = _counters(text, "grpc_server_handled", "GetRollingMetrics")
    assert handled == {"INVALID_ARGUMENT": 3.0}


def test_a_stream_refuses_bad_parameters_as_a_unary_call_does(database: ScratchDatabase) -> None:
    service = create_server(database.settings())
    service.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            watch = channel.unary_stream(
                "/mlanalytics.v1.DriftService/WatchDrift",
                request_serializer=drift_service_pb2.WatchDriftRequest.SerializeToString,
                response_deserializer=drift_service_pb2.WatchDriftResponse.FromString,
            )
            request = drift_service_pb2.WatchDriftRequest(model_id="", window_hours=0)
            with pytest.raises(grpc.RpcError) as caught:
                next(iter(watch(request, timeout=10)))
    finally:
        service.stop(grace=1)
    error: Any = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("invalid request: model_id: is required")
    status = rpc_status.from_call(error)
    assert status is not None
    bad_request = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(bad_request)
    assert [v.field for v in bad_request.field_violations] == ["model_id", "window_hours"]
