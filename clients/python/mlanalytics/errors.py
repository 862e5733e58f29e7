"""Typed exceptions for the gRPC status codes a caller can act on (as google-api-core does)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad request parameter (google.rpc.BadRequest), e.g. ``window``."""

    field: str
    description: str


class AnalyticsError(Exception):
    """A call to the ML Analytics Service failed; ``code`` is the gRPC status code."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, field_violations: tuple[FieldViolation, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.field_violations = field_violations

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class InvalidArgument(AnalyticsError):
    """A parameter is invalid; ``field_violations`` names each one and what it accepts."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(AnalyticsError):
    """The model has no rows in the inference log."""

    code = grpc.StatusCode.NOT_FOUND


class Unavailable(AnalyticsError):
    """The service or its database is unreachable (retried before this is raised)."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(AnalyticsError):
    """The call took longer than its deadline."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class Unimplemented(AnalyticsError):
    """The server does not implement this call."""

    code = grpc.StatusCode.UNIMPLEMENTED


class InternalError(AnalyticsError):
    """The server failed; it has logged the cause."""

    code = grpc.StatusCode.INTERNAL


_BY_CODE: dict[grpc.StatusCode, type[AnalyticsError]] = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        Unavailable,
        DeadlineExceeded,
        Unimplemented,
        InternalError,
    )
}


def from_rpc_error(error: grpc.RpcError) -> AnalyticsError:
    """The typed exception for a failed call, with its BadRequest field violations."""
    call: grpc.Call = error  # type: ignore[assignment]  # a failed unary call is both
    code = call.code()
    violations: list[FieldViolation] = []
    status = rpc_status.from_call(call)
    if status is not None:
        for detail in status.details:
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                violations += [
                    FieldViolation(v.field, v.description) for v in bad_request.field_violations
                ]
    cls = _BY_CODE.get(code, AnalyticsError)
    exception = cls(call.details() or code.name, tuple(violations))
    if cls is AnalyticsError:
        exception.code = code
    return exception
