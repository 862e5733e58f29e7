"""HEAD on every GET path answers as GET does, without a body (never Envoy's 404 for a verb the
transcoder does not map): status, content type and length, for data, errors and pages alike."""

from __future__ import annotations

import re

import pytest

from restclient import Rest
from server.api.directory import endpoints

_FILLED = {"model_id": "nobody", "asset": "swagger-ui.css"}
_STREAMS = {e.path for e in endpoints() if e.rpc.rsplit("/", 1)[1].startswith("Watch")}
PATHS = sorted(
    re.sub(r"\{(\w+)\}", lambda m: _FILLED[m.group(1)], e.path)
    for e in endpoints()
    if e.path not in _STREAMS
)


@pytest.mark.parametrize("path", [*PATHS, "/api/metrics/rolling?model_id=x&window=2d", "/nope"])
def test_head_is_get_without_the_body(rest: Rest, path: str) -> None:
    got = rest.get(path)
    head = rest.request(path, method="HEAD")
    assert head.status == got.status
    assert head.body == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if path.startswith(("/docs", "/redoc", "/openapi.json")):  # no timestamp: the same length
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.headers["etag"] == got.headers["etag"]


def test_head_on_a_stream_answers_its_headers_and_ends(rest: Rest) -> None:
    assert "/api/health/models/watch" in _STREAMS
    head = rest.request("/api/health/models/watch", method="HEAD")
    assert head.status == 200
    assert head.headers["content-type"].startswith("text/event-stream")
    assert head.body == b""


def test_head_on_a_refused_stream_is_its_error(rest: Rest) -> None:
    assert "/api/drift/watch" in _STREAMS
    got = rest.get("/api/drift/watch")  # no model_id: refused at once
    head = rest.request("/api/drift/watch", method="HEAD")
    assert (head.status, head.body) == (got.status, b"")
    assert got.status == 400
