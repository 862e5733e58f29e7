"""What a metric series and custom metrics cost, on the desk (or scale) data set, over gRPC to an
in-process server without the response cache (docs/SCALING.md#metric-history).

    .venv/bin/python -m bench.custom_series --admin-dsn postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python -m bench.custom_series --admin-dsn ... --dataset scale

Prints the median of repeated calls: a 721-point series (30 days of 24 h Sharpe at 1 h steps),
the rolling call it replaces 721 times, and the custom metrics call and the health list with 10
custom metrics against the same calls without them.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc

from bench import datasets
from devstack.processes import database_environment
from mlanalytics.v1 import health_service_pb2, health_service_pb2_grpc, metrics_service_pb2_grpc
from mlanalytics.v1 import metrics_service_pb2 as pb
from server.app import create_server
from server.config import Settings
from server.custom_metrics import CustomMetrics

#: Ten metrics of every kind, as a desk would write them.
TEN = """
metrics:
  - {name: c1, aggregate: win_rate, of: reward, where: [{field: confidence, op: ">=", value: 0.8}]}
  - name: c2
    aggregate: quantile
    of: latency_ms
    q: 0.95
    where: [{field: action, op: "==", value: LONG}]
  - name: c3
    aggregate: sharpe_ratio
    of: reward
    where: [{field: hour_cot, op: in, value: [8, 9]}]
  - {name: c4, aggregate: rate, where: [{field: action, op: "==", value: HOLD}]}
  - {name: c5, aggregate: mean, of: rsi_9, where: [{field: action, op: not_in, value: [HOLD]}]}
  - {name: c6, aggregate: std, of: reward, where: [{field: confidence, op: "<", value: 0.6}]}
  - {name: c7, aggregate: count, where: [{field: position_change, op: "!=", value: 0}]}
  - {name: c8, aggregate: max, of: latency_ms}
  - {name: c9, aggregate: sum, of: reward, where: [{field: vix_z, op: ">", value: 0}]}
  - {name: c10, aggregate: min, of: action_raw, where: [{field: dxy_z, op: "<=", value: 0}]}
"""


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--admin-dsn", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--dataset", choices=("desk", "scale"), default="desk")
    parser.add_argument("--database", help="default: the bench database of the data set")
    args = parser.parse_args()
    data = datasets.ensure(args.admin_dsn, args.dataset, args.database)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ten.yaml"
        path.write_text(TEN)
        base = Settings.from_env({**database_environment(data.dsn), "GRPC_PORT": "0"})
        results = {}
        for label, custom in (
            ("none", CustomMetrics()),
            ("ten", CustomMetrics.from_file(str(path), "America/Bogota")),
        ):
            settings = dataclasses.replace(base, cache_ttl_s=0.0, custom_metrics=custom)
            service = create_server(settings)
            service.start()
            try:
                results[label] = measure(service.port, data, args.repeat)
            finally:
                service.stop(grace=1)
    none, ten = results["none"], results["ten"]
    print(f"{data.name} data set: {data.rows} rows, {data.models} models x {data.days} days")
    for name in ("series_721", "series_169", "rolling_24h", "custom_24h", "health_list"):
        print(f"{name:>12}: {none[name]:8.1f} ms (no custom metrics)  {ten[name]:8.1f} ms (10)")
    print(
        f"10 custom metrics add {100 * (ten['health_list'] / none['health_list'] - 1):.1f} % to"
        f" the health list; their own call is {100 * ten['custom_24h'] / ten['rolling_24h']:.0f} %"
        " of a rolling call"
    )


def measure(port: int, data: datasets.Dataset, repeat: int) -> dict[str, float]:
    model, end = data.model_id(3), data.end
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        metrics = metrics_service_pb2_grpc.MetricsServiceStub(channel)
        health = health_service_pb2_grpc.HealthServiceStub(channel)

        def series(days: int) -> Callable[[], object]:
            request = pb.GetMetricSeriesRequest(
                model_id=model,
                metric="sharpe_ratio",
                step="1h",
                start_time=(end - timedelta(days=days)).isoformat(),
                end_time=end.isoformat(),
            )
            return lambda: metrics.GetMetricSeries(request, timeout=60)

        assert len(series(30)().data.points) == 721  # type: ignore[attr-defined]
        rolling = pb.GetRollingMetricsRequest(model_id=model, end_time=end.isoformat())
        custom = pb.GetCustomMetricsRequest(model_id=model, end_time=end.isoformat())
        listed = health_service_pb2.ListModelHealthRequest(end_time=end.isoformat())
        return {
            "series_721": median_ms(series(30), repeat),
            "series_169": median_ms(series(7), repeat),
            "rolling_24h": median_ms(lambda: metrics.GetRollingMetrics(rolling), repeat),
            "custom_24h": median_ms(lambda: metrics.GetCustomMetrics(custom), repeat),
            "health_list": median_ms(lambda: health.ListModelHealth(listed), repeat),
        }


if __name__ == "__main__":
    main()
