"""Request counts, status codes and latency of every unary RPC, for Prometheus.

The names follow go-grpc-prometheus (``grpc_server_started_total``, ``grpc_server_handled_total``
with ``grpc_code``, ``grpc_server_handling_seconds``), the convention dashboards and alert rules
expect. The interceptor is the outermost one, so it sees the status the error interceptor set
and counts the calls refused while decoding their request too. Watch streams are counted by
their own metrics (``mlanalytics_stream_*``), and the scrape RPC itself is left out so that
scrapes do not weigh on the latency of an idle service.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

import grpc

from server.api.interceptors import Behaviour, UnaryInterceptor, call_code
from server.telemetry import Telemetry


class RpcMetricsInterceptor(UnaryInterceptor):
    """Counts and times the unary-unary methods not in ``excluded``."""

    def __init__(self, telemetry: Telemetry, excluded: frozenset[str]) -> None:
        self._telemetry = telemetry
        self._excluded = excluded

    def applies_to(self, method: str) -> bool:
        return method not in self._excluded

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        service, _, name = method.lstrip("/").partition("/")
        labels = ("unary", service, name)
        started = self._telemetry.started.labels(*labels)
        latency = self._telemetry.latency.labels(*labels)
        handled = self._telemetry.handled

        def measured(request: Any, context: grpc.ServicerContext) -> Any:
            started.inc()
            start = perf_counter()
            code: grpc.StatusCode | None = None
            try:
                response = behaviour(request, context)
            except BaseException:
                code = call_code(context) or grpc.StatusCode.UNKNOWN
                raise
            else:
                code = call_code(context) or grpc.StatusCode.OK
                return response
            finally:
                latency.observe(perf_counter() - start)
                handled.labels(*labels, code.name if code else "UNKNOWN").inc()

        return measured
