"""The service's names and REST endpoint directory, read from the proto descriptors.

Reflection, gRPC health registration and ``GET /`` all use these, so a new RPC shows up everywhere
without a hand-written list.
"""

from __future__ import annotations

from google.api import annotations_pb2, http_pb2

from mlanalytics.v1 import health_service_pb2
from mlanalytics.v1.services import SERVICES

SERVICE_NAMES: tuple[str, ...] = tuple(s.full_name for s in SERVICES)

_LIVE = health_service_pb2.DESCRIPTOR.services_by_name["HealthService"].methods_by_name

#: The Prometheus scrape (GET /metrics), as a gRPC path.
METRICS_METHOD = (
    f"/{_LIVE['GetPrometheusMetrics'].containing_service.full_name}/GetPrometheusMetrics"
)

#: Every unary RPC whose answer depends on the data, as gRPC paths: all but service health and
#: info, the scrape (which reads the service itself) and those answering a raw HTTP body (the
#: documentation pages, held in memory anyway).
CACHED_METHODS: frozenset[str] = frozenset(
    f"/{service.full_name}/{method.name}"
    for service in SERVICES
    for method in service.methods
    if not method.server_streaming
    and method not in (_LIVE["GetServiceHealth"], _LIVE["GetServiceInfo"])
    and method.output_type.full_name != "google.api.HttpBody"
)

_VERBS = ("get", "put", "post", "delete", "patch")


def endpoints() -> list[health_service_pb2.Endpoint]:
    """Every RPC with a ``google.api.http`` rule: method, path, RPC name, query parameters."""
    directory = []
    for service in SERVICES:
        for method in service.methods:
            rule: http_pb2.HttpRule = method.GetOptions().Extensions[annotations_pb2.http]
            verb = rule.WhichOneof("pattern")
            if verb not in _VERBS:
                continue
            path: str = getattr(rule, verb)
            in_path = {f.name for f in method.input_type.fields if "{" + f.name + "}" in path}
            directory.append(
                health_service_pb2.Endpoint(
                    method=verb.upper(),
                    path=path,
                    rpc=f"{service.full_name}/{method.name}",
                    query_parameters=[
                        f.name for f in method.input_type.fields if f.name not in in_path
                    ],
                )
            )
    return directory
