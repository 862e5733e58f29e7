"""Domain exceptions; the error interceptor (``server.api.interceptors``) maps each to a code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad request parameter: its name and what it accepts."""

    field: str
    description: str


class ServiceError(Exception):
    """Base class of the errors a caller can act on."""


class InvalidArgument(ServiceError):
    """One or more request parameters are invalid (INVALID_ARGUMENT, HTTP 400)."""

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))


class NotFound(ServiceError):
    """Base class of what the request names and the service does not have (NOT_FOUND, HTTP 404)."""


class ModelNotFound(NotFound):
    """The model has no rows at all in the inference log (NOT_FOUND, HTTP 404)."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        super().__init__(f"model {model_id!r} not found: it has no rows in the inference log")


class VersionNotFound(NotFound):
    """The model has no row of this version at or before end_time (NOT_FOUND, HTTP 404)."""

    def __init__(self, model_id: str, version: str, field: str) -> None:
        self.model_id = model_id
        self.version = version
        super().__init__(
            f"{field}: model {model_id!r} has no version {version!r} at or before end_time"
        )


class DocsAssetNotFound(NotFound):
    """No asset of the documentation pages has this name (NOT_FOUND, HTTP 404)."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        if known:
            super().__init__(f"no documentation asset {name!r}; there are: {', '.join(known)}")
        else:
            super().__init__("the documentation assets were not generated (make gen, with npm)")


class DashboardAssetNotFound(DocsAssetNotFound):
    """No asset of the desk view has this name (NOT_FOUND, HTTP 404)."""

    def __init__(self, name: str, known: list[str]) -> None:
        ServiceError.__init__(
            self,
            f"no asset {name!r} of the desk view; there are: {', '.join(known)}"
            if known
            else "the desk view was not generated (make gen, with npm)",
        )
        self.name = name


class DatabaseUnavailable(ServiceError):
    """No database connection right now: it is down, or all are busy (UNAVAILABLE, HTTP 503)."""

    def __init__(self) -> None:
        super().__init__("database unavailable (down, or every connection busy); retry shortly")


class DatabaseDown(DatabaseUnavailable):
    """The readiness monitor knows the database is down: the call is refused at once instead of
    waiting DB_POOL_TIMEOUT_S for a connection (UNAVAILABLE, HTTP 503). Not a new failure: it
    never delays the monitor's recovery. A proxy retrying UNAVAILABLE thus learns of an outage
    in one pool timeout, however many times it asks."""

    def __init__(self) -> None:
        ServiceError.__init__(self, "database unavailable (down); retry shortly")


class ServerBusy(ServiceError):
    """Every slot for database work is taken: the call is refused at once (UNAVAILABLE, HTTP 503).

    Refusing, rather than queueing, keeps threads free for the calls that need no database
    (health, the endpoint directory, cached answers).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"server busy: {limit} database calls already in progress; retry shortly")


class QueryTimeout(ServiceError):
    """A query ran past the statement timeout (DEADLINE_EXCEEDED, HTTP 504)."""

    def __init__(self) -> None:
        super().__init__("the query took too long and was cancelled; try a shorter window")


class DeadlineExceeded(ServiceError):
    """The call's deadline passed while it waited for a shared computation (DEADLINE_EXCEEDED)."""

    def __init__(self) -> None:
        super().__init__("deadline exceeded")


class StreamEnded(ServiceError):
    """Why a watch stream's subscription ended (``server.streams.Subscription.get``)."""


class SlowSubscriber(StreamEnded):
    """The subscriber did not read its snapshots fast enough and was dropped."""

    def __init__(self, queue_size: int) -> None:
        super().__init__(
            f"subscriber dropped: {queue_size} snapshots were waiting unread"
            " (read the stream faster, then reconnect)"
        )


class ShuttingDown(StreamEnded):
    """The server is stopping."""

    def __init__(self) -> None:
        super().__init__("server shutting down; reconnect (to another replica)")


class TooManySubscribers(StreamEnded):
    """The server already serves as many streams as it allows (STREAM_MAX_SUBSCRIBERS)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"too many open streams (limit {limit}); retry later")


class Unsubscribed(StreamEnded):
    """The subscriber left (the client went away)."""
