"""The server's interceptors: errors become gRPC statuses, and data answers are cached.

Domain errors carry a message a user can act on; bad parameters also carry
``google.rpc.BadRequest`` field violations (AIP-193). Anything unexpected is logged with its
traceback and answered with a generic INTERNAL status: never a stack trace or SQL text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from server.cache import ResponseCache
from server.errors import (
    DatabaseUnavailable,
    DeadlineExceeded,
    DocsAssetNotFound,
    InvalidArgument,
    ModelNotFound,
    QueryTimeout,
    ServiceError,
)

log = logging.getLogger(__name__)

Behaviour = Callable[[Any, grpc.ServicerContext], Any]
_NO_DEADLINE = 86_400.0  # a "deadline" further away than a day is no deadline

_CODES: dict[type[ServiceError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    ModelNotFound: code_pb2.NOT_FOUND,
    DocsAssetNotFound: code_pb2.NOT_FOUND,
    DatabaseUnavailable: code_pb2.UNAVAILABLE,
    QueryTimeout: code_pb2.DEADLINE_EXCEEDED,
    DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
}


def to_status(error: ServiceError) -> status_pb2.Status:
    """The google.rpc.Status for a domain error."""
    status = status_pb2.Status(code=_CODES.get(type(error), code_pb2.INTERNAL), message=str(error))
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


class UnaryInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Wraps the behaviour of the unary-unary methods that ``applies_to`` accepts."""

    def applies_to(self, method: str) -> bool:
        return True

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        raise NotImplementedError

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or handler.unary_unary is None or not self.applies_to(method):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self.wrap(method, handler.unary_unary),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ErrorInterceptor(UnaryInterceptor):
    """Maps exceptions raised by unary-unary servicer methods to gRPC statuses."""

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except ServiceError as error:
                context.abort_with_status(rpc_status.to_status(to_status(error)))
            except NotImplementedError:
                context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
            except Exception:
                log.exception("unexpected error in %s", method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")

        return guarded


class CacheInterceptor(UnaryInterceptor):
    """Serves the listed methods from a ResponseCache keyed by method and request bytes."""

    def __init__(self, cache: ResponseCache[Any], methods: frozenset[str]) -> None:
        self._cache = cache
        self._methods = methods

    def applies_to(self, method: str) -> bool:
        return method in self._methods

    def wrap(self, method: str, behaviour: Behaviour) -> Behaviour:
        def cached(request: Any, context: grpc.ServicerContext) -> Any:
            key = (method, request.SerializeToString(deterministic=True))
            try:
                return self._cache.get(
                    key, lambda: behaviour(request, context), timeout=_remaining(context)
                )
            except TimeoutError:  # waited for another caller's computation past the deadline
                raise DeadlineExceeded() from None

        return cached


def _remaining(context: grpc.ServicerContext) -> float | None:
    """Seconds left before the call's deadline; None without one (grpc then reports ~forever,
    more than a lock wait accepts)."""
    remaining = context.time_remaining()
    return remaining if remaining is not None and remaining < _NO_DEADLINE else None
