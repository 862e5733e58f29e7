"""``AnalyticsClient``: the typed Python client of the ML Analytics Service over gRPC.

>>> with AnalyticsClient("localhost:8004") as client:  # doctest: +SKIP
...     rolling = client.rolling_metrics("ppo_lstm_v3.2", window="7d")
...     print(rolling.metrics.sharpe_ratio)

The unary methods, one per RPC, are generated from the protos (``mlanalytics.v1.methods``:
``GetRollingMetrics`` is ``rolling_metrics``, a leading ``Get`` dropped). Each takes the required
parameters in order and the others as keyword arguments named like the REST query parameters,
has a deadline
(``timeout``, default 10 s), is retried on UNAVAILABLE only (gRPC service config: up to 5
attempts, exponential backoff), and returns the typed ``data`` message of the response. Failures
raise the typed exceptions of ``mlanalytics.errors``.

The watch methods (``watch_model_health``, ``watch_drift``) are iterators over a server stream,
without a deadline, that reconnect by themselves and resume cleanly (docs/DEFINITIONS.md#watch-
streams): a snapshot already delivered is not delivered again after a reconnection.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
from collections.abc import Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypedDict, TypeVar, Unpack

import grpc
from google.protobuf.message import Message

from mlanalytics.errors import from_rpc_error
from mlanalytics.v1 import (
    drift_service_pb2,
    drift_service_pb2_grpc,
    health_service_pb2,
    health_service_pb2_grpc,
)
from mlanalytics.v1.methods import Methods
from mlanalytics.v1.services import SERVICES

DEFAULT_TARGET = "localhost:8004"
DEFAULT_TIMEOUT_S = 10.0

_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": service.full_name} for service in SERVICES],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)

Response = TypeVar("Response", bound=Message)
Event = TypeVar(
    "Event", health_service_pb2.WatchModelHealthResponse, drift_service_pb2.WatchDriftResponse
)

#: A watch is reopened after these codes (the server stopping or restarting, a dropped slow reader,
#: the stream limit); any other ends it with the typed exception.
RECONNECT_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
#: The server sends a heartbeat at least every 15 s; a stream silent this long is dead.
DEFAULT_IDLE_TIMEOUT_S = 45.0


class WatchOptions(TypedDict, total=False):
    """The keyword options of the watch methods; their defaults are those of ``_watch``."""

    heartbeats: bool  # yield the heartbeats too (default: only the snapshots)
    reconnect: bool  # reopen a broken or silent stream (default); False raises instead
    idle_timeout: float  # seconds without a message before the stream counts as dead (45)
    max_backoff: float  # the longest wait in seconds before reopening it (5)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready")
    ),
    grpc.ClientCallDetails,
):
    pass


if TYPE_CHECKING:  # generic in grpc-stubs only
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.UnaryStreamClientInterceptor[Any, Any]
else:
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor
    _UnaryStream = grpc.UnaryStreamClientInterceptor


class _BearerToken(_UnaryUnary, _UnaryStream):
    """Adds ``authorization: Bearer <token>`` to every call (also over a plaintext channel, for
    a local stack with tokens but no TLS, where gRPC's call credentials would refuse)."""

    def __init__(self, token: str) -> None:
        self._header = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> _CallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            [*(details.metadata or ()), self._header],
            details.credentials,
            details.wait_for_ready,
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class AnalyticsClient(Methods):
    """A connection to the service (Envoy's port 8004, or the server's own gRPC port)."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        credentials: grpc.ChannelCredentials | None = None,
        token: str | None = None,
        root_certificates: bytes | None = None,
        tls: bool = False,
    ) -> None:
        """``token``: a bearer token (JWT) sent with every call, for a deployment that asks for
        one (docs/SECURITY.md). ``root_certificates`` (PEM): TLS, trusting these roots (a
        self-signed deployment's certificate); ``tls``: TLS with the system's roots."""
        if credentials is None and (tls or root_certificates is not None):
            credentials = grpc.ssl_channel_credentials(root_certificates)
        options = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", _SERVICE_CONFIG),
            # Reconnect quickly after the server comes back.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        self._channel = (
            grpc.secure_channel(target, credentials, options)
            if credentials
            else grpc.insecure_channel(target, options)
        )
        if token:
            self._channel = grpc.intercept_channel(self._channel, _BearerToken(token))
        self.timeout = timeout
        self._health = health_service_pb2_grpc.HealthServiceStub(self._channel)
        self._drift = drift_service_pb2_grpc.DriftServiceStub(self._channel)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _unary(
        self, path: str, request: Message, response: type[Response], timeout: float | None
    ) -> Response:
        """Send one unary call of ``path`` with this client's deadline unless ``timeout``."""
        call = self._channel.unary_unary(
            path,
            request_serializer=request.SerializeToString,
            response_deserializer=response.FromString,
        )
        try:
            result: Response = call(request, timeout=self.timeout if timeout is None else timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from None
        return result

    # --- Watch streams --------------------------------------------------------------------------

    def watch_model_health(
        self,
        **options: Unpack[WatchOptions],
    ) -> Generator[health_service_pb2.WatchModelHealthResponse, None, None]:
        """GET /api/health/models/watch: the model-health list now and on every change.

        Yields ``WatchModelHealthResponse`` messages: ``kind`` "snapshot" with ``data`` (and
        "heartbeat" ones too with ``heartbeats=True``). See :meth:`watch_drift` for the rest.
        """
        request = health_service_pb2.WatchModelHealthRequest()
        return _watch(lambda: self._health.WatchModelHealth(request), **options)

    def watch_drift(
        self,
        model_id: str,
        *,
        window_hours: int | None = None,
        baseline_days: int | None = None,
        **options: Unpack[WatchOptions],
    ) -> Generator[drift_service_pb2.WatchDriftResponse, None, None]:
        """GET /api/drift/watch: one model's drift report now and whenever its status or its
        drifted features change.

        The stream has no deadline. When it breaks (server restart, dropped as a slow reader,
        UNAVAILABLE) or stays silent for ``idle_timeout`` seconds (no heartbeat), it is reopened
        after an exponential backoff (0.1 s doubling up to ``max_backoff``, with jitter); the
        first snapshot after that is skipped if its ``revision`` is the last one delivered, so
        nothing is delivered twice and no change is missed. ``reconnect=False`` raises instead.
        Bad parameters or an unknown model raise ``InvalidArgument`` / ``NotFound`` at once.
        ``close()`` the generator (or let it go) to stop: the call is cancelled.
        """
        request = drift_service_pb2.WatchDriftRequest(
            model_id=model_id, window_hours=window_hours, baseline_days=baseline_days
        )
        return _watch(lambda: self._drift.WatchDrift(request), **options)


class _Watchdog:
    """Cancels a call that receives nothing for ``timeout`` seconds."""

    def __init__(self, call: Any, timeout: float) -> None:
        self._call = call
        self._timeout = timeout
        self._timer: threading.Timer | None = None
        self.expired = False
        self.reset()

    def _expire(self) -> None:
        self.expired = True
        self._call.cancel()

    def reset(self) -> None:
        self.stop()
        self._timer = threading.Timer(self._timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _watch(
    open_call: Callable[[], Any],
    *,
    heartbeats: bool = False,
    reconnect: bool = True,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT_S,
    max_backoff: float = 5.0,
) -> Generator[Any, None, None]:
    """The messages of a watch, across reconnections, without repeating a snapshot."""
    delivered = ""  # revision of the last snapshot yielded
    backoff = 0.1
    while True:
        call = open_call()
        watchdog = _Watchdog(call, idle_timeout)
        try:
            for message in call:
                watchdog.reset()
                backoff = 0.1
                if message.kind == "snapshot":
                    if message.revision == delivered:
                        continue  # reconnected, and nothing changed meanwhile
                    delivered = message.revision
                    yield message
                elif heartbeats:
                    yield message
        except grpc.RpcError as error:
            code = error.code()  # a failed stream is also a Call
            retry = watchdog.expired or code in RECONNECT_CODES
            if not (reconnect and retry):
                raise from_rpc_error(error) from None
        finally:
            watchdog.stop()
            call.cancel()
        if not reconnect:
            return
        time.sleep(backoff * random.uniform(0.5, 1.0))  # jitter: clients do not come back in step
        backoff = min(backoff * 2, max_backoff)
