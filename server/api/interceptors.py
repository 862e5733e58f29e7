"""The server's interceptors: malformed requests and errors become gRPC statuses, database-bound
calls are admitted within bounds, and data answers are cached.

Domain errors carry a message a user can act on; bad parameters also carry
``google.rpc.BadRequest`` field violations (AIP-193). Anything unexpected is logged with its
traceback and answered with a generic INTERNAL status: never a stack trace or SQL text. Client
errors are not logged, except malformed messages: one rate-limited WARNING line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.admission import Admission
from server.api.decoding import MalformedRequest, RateLimitedWarning, lenient
from server.cache import MISSING, ResponseCache
from server.errors import (
    DatabaseDown,
    DatabaseUnavailable,
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    QueryTimeout,
    ServerBusy,
    ServiceError,
    ShuttingDown,
    SlowSubscriber,
    TooManySubscribers,
)

log = logging.getLogger(__name__)
_malformed_warning = RateLimitedWarning(log)

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
_NO_DEADLINE = 86_400.0  # a "deadline" further away than a day is no deadline

#: The status code of each kind of domain error (a subclass has its base's; any other: INTERNAL).
_CODES: dict[type[ServiceError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    NotFound: code_pb2.NOT_FOUND,
    DatabaseUnavailable: code_pb2.UNAVAILABLE,
    ServerBusy: code_pb2.UNAVAILABLE,
    QueryTimeout: code_pb2.DEADLINE_EXCEEDED,
    DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
    ShuttingDown: code_pb2.UNAVAILABLE,  # reconnect, to another replica
    SlowSubscriber: code_pb2.RESOURCE_EXHAUSTED,
    TooManySubscribers: code_pb2.RESOURCE_EXHAUSTED,
}


def _code(error: ServiceError) -> int:
    kind = next((k for k in type(error).__mro__ if k in _CODES), None)
    return code_pb2.INTERNAL if kind is None else _CODES[kind]


def to_status(error: ServiceError) -> status_pb2.Status:
    """The google.rpc.Status for a domain error."""
    status = status_pb2.Status(code=_code(error), message=str(error))
    if isinstance(error, InvalidArgument):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status.details.append(detail)
        status.message = "invalid request: " + str(error)
    return status


class HandlerInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Replaces the handler of each method with ``rewrap(method, handler)``."""

    def rewrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        raise NotImplementedError

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        return None if handler is None else self.rewrap(handler_call_details.method, handler)


class UnaryInterceptor(HandlerInterceptor):
    """Wraps the behaviour of the unary-unary methods that ``applies_to`` accepts, and that of
    the unary-stream ones when ``wrap_stream`` does."""

    def applies_to(self, method: str) -> bool:
        return True

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        raise NotImplementedError

    def wrap_stream(self, method: str, behaviour: Behaviour) -> Behaviour | None:
        """The behaviour of a unary-stream method, or None to leave it as it is."""
        return None

    def rewrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        if not self.applies_to(method):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self.wrap(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        stream = (
            None if handler.unary_stream is None else self.wrap_stream(method, handler.unary_stream)
        )
        if stream is None:
            return handler
        return grpc.unary_stream_rpc_method_handler(
            stream,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class RequestDecodingInterceptor(HandlerInterceptor):
    """Answers malformed request messages with INVALID_ARGUMENT, for every method and arity.

    It must come first in the server's interceptors: the outermost handler's deserializer is the
    one grpcio uses. See :mod:`server.api.decoding`.
    """

    def rewrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        deserializer = lenient(handler.request_deserializer)
        serializer = handler.response_serializer
        for arity, method_handler, refusing in _ARITIES:
            behaviour = getattr(handler, arity)
            if behaviour is not None:
                return method_handler(refusing(method, behaviour), deserializer, serializer)
        return handler


def _refuse(method: str, request: MalformedRequest, context: grpc.ServicerContext) -> None:
    """Abort the call with INVALID_ARGUMENT (and a BadRequest detail when a field is named)."""
    _malformed_warning("malformed request to %s: %s", method, request.description())
    if request.violation is not None:
        status = to_status(InvalidArgument([request.violation]))
        context.abort_with_status(rpc_status.to_status(status))
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid request: {request.reason}")


def _refusing(method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def checked(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, MalformedRequest):
            _refuse(method, request, context)
        return behaviour(request, context)

    return checked


def _refusing_in_stream(method: str, behaviour: Callable[..., Any]) -> Callable[..., Any]:
    def checked(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        def each() -> Iterator[Any]:
            for request in requests:
                if isinstance(request, MalformedRequest):
                    _refuse(method, request, context)
                yield request

        return behaviour(each(), context)

    return checked


#: Each arity: the handler's attribute holding the behaviour, grpc's handler for it, and how a
#: malformed request is refused (the one request, or each request of the stream).
_ARITIES = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler, _refusing),
    ("unary_stream", grpc.unary_stream_rpc_method_handler, _refusing),
    ("stream_unary", grpc.stream_unary_rpc_method_handler, _refusing_in_stream),
    ("stream_stream", grpc.stream_stream_rpc_method_handler, _refusing_in_stream),
)


class ErrorInterceptor(UnaryInterceptor):
    """Maps exceptions raised by servicer methods to gRPC statuses: by unary calls, and by
    watch streams before or while they send (one mapping for both).

    ``database_failed`` is called (before the caller is answered) whenever a call could not get
    a working database connection, so that readiness turns false at once (not for a call refused
    because the database was already known to be down: :class:`DatabaseDown`).
    """

    def __init__(self, database_failed: Callable[[], None] | None = None) -> None:
        self._database_failed = database_failed

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except Exception as error:
                self._abort(method, error, context)

        return guarded

    def wrap_stream(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            try:
                yield from behaviour(request, context)
            except Exception as error:
                self._abort(method, error, context)

        return guarded

    def _abort(self, method: str, error: Exception, context: grpc.ServicerContext) -> None:
        """End the call with the status ``error`` maps to (re-raising grpc's own abort)."""
        if isinstance(error, ServiceError):
            if (
                isinstance(error, DatabaseUnavailable)
                and not isinstance(error, DatabaseDown)
                and self._database_failed is not None
            ):
                self._database_failed()
            context.abort_with_status(rpc_status.to_status(to_status(error)))
        if call_code(context) is not None:
            raise error  # the call already ended with a status of its own (context.abort)
        if isinstance(error, NotImplementedError):
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
        log.error("unexpected error in %s", method, exc_info=error)
        context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")


class AdmissionInterceptor(UnaryInterceptor):
    """Admits the listed (database-bound) methods through an Admission; the excess is refused.

    With a ``cache`` (:class:`ResponseCache`, keyed by method and request bytes), an answer it
    can give at once is served without admission, so cache hits never wait or fail for lack of
    a slot; every other call, whether it computes or waits for the same computation in another
    call, holds a slot (both hold a thread). While ``database_up()`` is false such a call is
    refused at once (:class:`DatabaseDown`), not after the pool's timeout.
    """

    def __init__(
        self,
        admission: Admission,
        methods: frozenset[str],
        cache: ResponseCache[Any] | None = None,
        database_up: Callable[[], bool] = lambda: True,
    ) -> None:
        self._admission = admission
        self._methods = methods
        self._cache = cache
        self._database_up = database_up

    def applies_to(self, method: str) -> bool:
        return method in self._methods

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        cache = self._cache
        if cache is None:

            def admitted(request: Any, context: grpc.ServicerContext) -> Any:
                if not self._database_up():
                    raise DatabaseDown()
                with self._admission.admit():
                    return behaviour(request, context)

            return admitted

        def cached(request: Any, context: grpc.ServicerContext) -> Any:
            key = (method, request.SerializeToString(deterministic=True))
            value = cache.peek(key)
            if value is not MISSING:
                return value
            if not self._database_up():
                raise DatabaseDown()
            with self._admission.admit():
                try:
                    return cache.get(
                        key, lambda: behaviour(request, context), timeout=_remaining(context)
                    )
                except TimeoutError:  # waited for another caller's computation past the deadline
                    raise DeadlineExceeded() from None

        return cached


def call_code(context: grpc.ServicerContext) -> grpc.StatusCode | None:
    """The code the call has set (by abort or set_code), if any."""
    code: grpc.StatusCode | None = context.code()  # type: ignore[attr-defined]  # grpcio >= 1.38
    return code


def _remaining(context: grpc.ServicerContext) -> float | None:
    """Seconds left before the call's deadline; None without one (grpc then reports ~forever,
    more than a lock wait accepts)."""
    remaining = context.time_remaining()
    return remaining if remaining is not None and remaining < _NO_DEADLINE else None
