"""Times as the API takes them: RFC 3339 text."""

from __future__ import annotations

from datetime import UTC, datetime

#: A time parameter: a datetime (naive means UTC), RFC 3339 text, or None for the default.
Time = datetime | str | None


def rfc3339(value: Time) -> str:
    """RFC 3339 for a datetime (naive means UTC); strings pass through; None is ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat()
    return value
