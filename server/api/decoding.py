"""Malformed request messages: INVALID_ARGUMENT naming the problem, never INTERNAL.

grpcio deserializes a request before any interceptor or servicer runs; when that fails it logs a
traceback and answers INTERNAL "Exception deserializing request!". A request is malformed when
its bytes are not a protobuf message (raw gRPC), or when a string field is not UTF-8 (over REST,
Envoy's transcoder copies percent-decoded query and path values into string fields as bytes, so
``?end_time=%FF%FE`` arrives as such a message). :func:`lenient` wraps a method's deserializer
so that it returns a :class:`MalformedRequest` describing the problem instead of raising; the
interceptor that installs it then refuses the call with INVALID_ARGUMENT.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf import empty_pb2, unknown_fields
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError

from server.errors import FieldViolation

_SHOWN_BYTES = 16


@dataclass(frozen=True, slots=True)
class MalformedRequest:
    """What a lenient deserializer returns for bytes that are not a valid request."""

    message_type: str  # the full name of the expected message, or "" when unknown
    violation: FieldViolation | None  # the offending field, when one can be named
    reason: str  # what is wrong, for the status message

    def description(self) -> str:
        if self.violation is not None:
            return f"{self.violation.field}: {self.violation.description}"
        return self.reason


def lenient(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer``, returning a MalformedRequest where it would raise DecodeError."""
    if deserializer is None:
        return None
    descriptor: Descriptor | None = getattr(
        getattr(deserializer, "__self__", None), "DESCRIPTOR", None
    )

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return explain(descriptor, data)

    return deserialize


def explain(descriptor: Descriptor | None, data: bytes) -> MalformedRequest:
    """Why ``data`` is not a message of ``descriptor``: a string field that is not UTF-8 (named),
    or bytes that are not protobuf at all."""
    name = descriptor.full_name if descriptor is not None else ""
    field = _bad_text_field(descriptor, data) if descriptor is not None else None
    if field is None:
        return MalformedRequest(name, None, f"the request is not a valid {name or 'message'}")
    path, value = field
    return MalformedRequest(
        name, FieldViolation(path, f"must be UTF-8 text (got {_show(value)})"), ""
    )


def _bad_text_field(descriptor: Descriptor, data: bytes) -> tuple[str, bytes] | None:
    """The path and bytes of the first string field of ``data`` that is not UTF-8, if any."""
    try:
        # Every field of Empty is unknown, so this parses any well-formed wire data, UTF-8 or not.
        fields = unknown_fields.UnknownFieldSet(empty_pb2.Empty.FromString(data))
    except DecodeError:
        return None
    for index in range(len(fields)):
        unknown = fields[index]
        field = descriptor.fields_by_number.get(unknown.field_number)
        if field is None or not isinstance(unknown.data, bytes):
            continue
        if field.type == FieldDescriptor.TYPE_STRING and not _is_utf8(unknown.data):
            return field.name, unknown.data
        if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type is not None:
            nested = _bad_text_field(field.message_type, unknown.data)
            if nested is not None:
                return f"{field.name}.{nested[0]}", nested[1]
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _show(data: bytes) -> str:
    """The first bytes of ``data`` as a Python bytes literal: messages must stay small."""
    shown = repr(data[:_SHOWN_BYTES])
    return shown + ("..." if len(data) > _SHOWN_BYTES else "")


class RateLimitedWarning:
    """At most one WARNING per ``interval`` seconds; the next one counts those left out.

    Client errors are logged this way: a line is worth having, but anyone can send them in bulk.
    """

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next = -float("inf")
        self._suppressed = 0

    def __call__(self, message: str, *args: object) -> None:
        now = self._clock()
        with self._lock:
            if now < self._next:
                self._suppressed += 1
                return
            suppressed, self._suppressed = self._suppressed, 0
            self._next = now + self._interval
        if suppressed:
            message += f" (and {suppressed} more since the last such line)"
        self._logger.warning(message, *args)
