"""A curl-like HTTP client for the end-to-end tests: status, headers and parsed JSON."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$|^@type$")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def data(self) -> Any:
        """The ``data`` of a successful reply, its envelope checked: 200, JSON, ``success``, a
        ``timestamp``, snake_case names throughout, no NaN or Infinity."""
        assert self.status == 200, self.body
        assert self.headers["content-type"].startswith("application/json")
        body = self.json()
        assert body["success"] is True
        datetime.fromisoformat(body["timestamp"])
        assert all(_SNAKE_CASE.match(k) for k in _keys(body)), "every field name is snake_case"
        assert b"NaN" not in self.body
        assert b"Infinity" not in self.body
        return body["data"]

    def error(self, status: int, code: int) -> Any:
        """The body of an error reply, checked: ``status``, JSON, gRPC ``code``, a message
        (no traceback)."""
        assert self.status == status, self.body
        assert self.headers["content-type"].startswith("application/json")
        body = self.json()
        assert body["code"] == code
        assert isinstance(body["message"], str)
        assert body["message"]
        assert "Traceback" not in body["message"]
        return body


class Rest:
    """GET (or another verb) against one base URL."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def request(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> Reply:
        req = urllib.request.Request(self.base_url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return Reply(response.status, _lower(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Reply(error.code, _lower(error.headers), error.read())

    def get(self, path: str, **headers: str) -> Reply:
        return self.request(path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def asset(self, path: str, content_type: str) -> Reply:
        """GET a static page or asset, checked: 200, ``content_type``, a body of the declared
        length, ``no-cache``, no gRPC headers; its ETag gets 304 without a body, another ETag the
        body again. Returns the first reply."""
        reply = self.get(path)
        assert reply.status == 200, reply.body[:200]
        assert reply.headers["content-type"] == content_type
        assert int(reply.headers["content-length"]) == len(reply.body) > 0
        assert reply.headers["cache-control"] == "no-cache"
        assert reply.headers["etag"].startswith('"')
        assert not [h for h in reply.headers if h.startswith("grpc-") or h == "x-not-modified"]
        again = self.get(path, if_none_match=reply.headers["etag"])
        assert (again.status, again.body) == (304, b"")
        assert again.headers["etag"] == reply.headers["etag"]
        assert not [h for h in again.headers if h.startswith("grpc-") or h == "x-not-modified"]
        other = self.get(path, if_none_match='"something-else"')
        assert (other.status, other.body) == (200, reply.body)
        return reply


def _keys(value: Any) -> list[str]:
    """Every key of every object in a JSON document."""
    if isinstance(value, dict):
        return list(value) + [k for v in value.values() for k in _keys(v)]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}
