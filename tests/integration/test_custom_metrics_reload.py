"""SIGHUP reloads CUSTOM_METRICS_FILE in a real `python -m server`: a good new file replaces the
definitions, a bad one keeps them (and the failed reload shows in /metrics)."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import grpc

from conftest import eventually
from databases import ScratchDatabase
from devstack import processes
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc, metrics_service_pb2_grpc
from mlanalytics.v1 import metrics_service_pb2 as pb

FIRST = "metrics:\n  - {name: first_count, aggregate: count}\n"
SECOND = (
    "metrics:\n"
    "  - {name: second_mean, aggregate: mean, of: reward, unit: log_return}\n"
    "  - name: second_rate\n"
    "    aggregate: rate\n"
    "    where: [{field: action, op: not_in, value: [HOLD]}]\n"
)
BAD = "metrics:\n  - {name: broken, aggregate: mode, of: reward}\n"


def test_sighup_reloads_a_good_file_and_keeps_the_old_definitions_on_a_bad_one(
    tmp_path: Path, database: ScratchDatabase
) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(FIRST)
    server = processes.start_server(
        dsn=database.dsn,
        environment={"CUSTOM_METRICS_FILE": str(path), "CACHE_TTL_S": "2"},
        quiet=True,
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
            health = health_service_pb2_grpc.HealthServiceStub(channel)

            def names() -> list[str]:
                reply = metrics.GetCustomMetricDefinitions(
                    pb.GetCustomMetricDefinitionsRequest(), timeout=10
                )
                return [m.name for m in reply.data.metrics]

            def reloads(result: str) -> float:
                text = health.GetPrometheusMetrics(
                    health_service_pb2.GetPrometheusMetricsRequest(), timeout=10
                ).data.decode()
                found = re.search(
                    rf'mlanalytics_custom_metrics_reloads_total{{result="{result}"}} (\S+)', text
                )
                assert found is not None, text[:2000]
                return float(found[1])

            assert names() == ["first_count"]  # cached from here on (CACHE_TTL_S)
            assert (reloads("ok"), reloads("failed")) == (0.0, 0.0)

            path.write_text(SECOND)
            server.process.send_signal(signal.SIGHUP)
            eventually(lambda: reloads("ok") == 1.0, 30, "the good reload")
            # The cache was cleared: the new definitions at once, in file order, as written.
            definitions = metrics.GetCustomMetricDefinitions(
                pb.GetCustomMetricDefinitionsRequest(), timeout=10
            ).data.metrics
            assert [m.name for m in definitions] == ["second_mean", "second_rate"]
            assert (definitions[0].aggregate, definitions[0].of, definitions[0].unit) == (
                "mean",
                "reward",
                "log_return",
            )
            [condition] = definitions[1].where
            assert (condition.field, condition.op, list(condition.values)) == (
                "action",
                "not_in",
                ["HOLD"],
            )

            path.write_text(BAD)
            server.process.send_signal(signal.SIGHUP)
            eventually(lambda: reloads("failed") == 1.0, 30, "the refused reload")
            assert names() == ["second_mean", "second_rate"]
            assert reloads("ok") == 1.0
            assert server.process.poll() is None  # still serving
    finally:
        assert server.stop(grace=1) == 0
