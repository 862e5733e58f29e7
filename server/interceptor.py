"""The one place where exceptions become gRPC statuses.

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

from server.errors import (
    DatabaseUnavailable,
    InvalidArgument,
    ModelNotFound,
    QueryTimeout,
    ServiceError,
)

log = logging.getLogger(__name__)

_CODES: dict[type[ServiceError], int] = {
    InvalidArgument: code_pb2.INVALID_ARGUMENT,
    ModelNotFound: code_pb2.NOT_FOUND,
    DatabaseUnavailable: code_pb2.UNAVAILABLE,
    QueryTimeout: code_pb2.DEADLINE_EXCEEDED,
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


class ErrorInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Maps exceptions raised by unary-unary servicer methods to gRPC statuses."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behaviour = handler.unary_unary
        method = handler_call_details.method

        def guarded(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return behaviour(request, context)
            except ServiceError as error:
                context.abort_with_status(rpc_status.to_status(to_status(error)))
            except TimeoutError:  # waited for a shared computation past this call's deadline
                context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded")
            except NotImplementedError:
                context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
            except Exception:
                log.exception("unexpected error in %s", method)
                context.abort(grpc.StatusCode.INTERNAL, "internal error; it has been logged")

        return grpc.unary_unary_rpc_method_handler(
            guarded,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
