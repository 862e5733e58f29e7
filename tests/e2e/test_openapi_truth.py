"""The truth test: every operation of the served OpenAPI document, called through the real Envoy
on the demo data, answers exactly what the document says; so do a 400 and a 404.

The schemas forbid keys they do not list (``additionalProperties: false``) and require every field
Envoy always prints, so a proto field missing from the document fails here, and so does a
documented field that the responses lack.
"""

from __future__ import annotations

import http.client
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from openapi_spec_validator import validate

from openapischema import errors, operations, schema_validator, validator
from restclient import Reply, Rest

ROOT = Path(__file__).resolve().parents[2]
MODEL = "ppo_lstm_v3.2"
#: A value for each path or required query parameter that is not a model (those get demo models),
#: by name. A new required parameter without one fails the test that needs it (add it here).
VALUES = {"asset": "swagger-ui.css"}
GENERATED = json.loads(
    (ROOT / "clients" / "python" / "mlanalytics" / "v1" / "openapi.json").read_text()
)
OPERATIONS = {op["operationId"]: (path, verb) for path, verb, op in operations(GENERATED)}


@pytest.fixture(scope="module")
def doc(rest: Rest) -> dict[str, Any]:
    reply = rest.get("/openapi.json")
    assert reply.status == 200
    served: dict[str, Any] = reply.json()
    validate(served)
    assert served == GENERATED  # the parametrization below is the served document's
    return served


@pytest.fixture(scope="module")
def models(demo: datetime, rest: Rest) -> list[str]:
    """Every demo model (the data ends now: the default end_time sees it)."""
    listed = rest.get("/api/health/models").json()["data"]["models"]
    names = sorted(m["model_id"] for m in listed)
    assert MODEL in names
    assert len(names) >= 5
    return names


def test_the_document_has_every_endpoint_of_the_directory(doc: dict[str, Any], rest: Rest) -> None:
    listed = {(e["method"].lower(), e["path"]) for e in rest.get("/").json()["endpoints"]}
    assert {(verb, path) for path, verb, _ in operations(doc)} == listed


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation(
    operation_id: str, doc: dict[str, Any], models: list[str], rest: Rest, demo: datetime
) -> None:
    path, verb = OPERATIONS[operation_id]
    operation = doc["paths"][path][verb]
    named = [
        p["name"]
        for p in operation.get("parameters", [])
        if "maxLength" in p["schema"]  # a model id (declared with max_len)
    ]
    # Each demo model in turn where the operation names models (they differ: drifting, silent,
    # slow); a second model parameter gets the next model.
    for first in range(len(models) if named else 1):
        chosen = {name: models[(first + i) % len(models)] for i, name in enumerate(named)}
        url = request_url(path, operation, VALUES | chosen)
        content = operation["responses"]["200"]["content"]
        if "text/event-stream" in content:
            check_first_event(rest, url, doc, content["text/event-stream"])
            continue
        reply = rest.get(url)
        assert reply.status == 200, f"GET {url}: {reply.body[:300]!r}"
        media_type = reply.headers["content-type"]
        assert media_type in content or "*/*" in content, f"GET {url}: {media_type} undocumented"
        if media_type == "application/json":
            found = errors(validator(doc, path, verb, "200"), reply.json())
            assert found == [], f"GET {url} does not match the document:\n" + "\n".join(found)


def test_a_400_from_the_service_matches(doc: dict[str, Any], rest: Rest, demo: datetime) -> None:
    reply = rest.get(f"/api/predictions/history?model_id={MODEL}&page_size=5000&end_time=soon")
    body = matches(doc, "/api/predictions/history", "400", reply)
    assert body["code"] == 3
    fields = sorted(v["field"] for v in body["details"][0]["field_violations"])
    assert fields == ["end_time", "page_size"]


def test_a_400_from_envoy_matches(doc: dict[str, Any], rest: Rest) -> None:
    reply = rest.get("/api/metrics/summary?no_such_parameter=1")
    body = matches(doc, "/api/metrics/summary", "400", reply)
    assert "no_such_parameter" in body["message"]


def test_a_404_matches(doc: dict[str, Any], rest: Rest, demo: datetime) -> None:
    reply = rest.get("/api/health/model/no_such_model")
    body = matches(doc, "/api/health/model/{model_id}", "404", reply)
    assert body["code"] == 5


def matches(doc: dict[str, Any], path: str, status: str, reply: Reply) -> Any:
    assert reply.status == int(status), reply.body
    body = reply.json()
    found = errors(validator(doc, path, "get", status), body)
    assert found == [], "\n".join(found)
    return body


def request_url(path: str, operation: dict[str, Any], values: dict[str, str]) -> str:
    """The path with its parameters filled in, and the required query parameters."""
    query = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "path" or parameter["required"]:
            if name not in values:
                pytest.fail(f"no value for the required parameter {name!r}: add it to VALUES")
            if parameter["in"] == "path":
                path = path.replace("{" + name + "}", quote(values[name], safe=""))
            else:
                query[name] = values[name]
    return path + ("?" + urlencode(query) if query else "")


def check_first_event(rest: Rest, url: str, doc: dict[str, Any], media: dict[str, Any]) -> None:
    """A server-sent event stream: its first event's data matches the documented message."""
    base = urlsplit(rest.base_url)
    connection = http.client.HTTPConnection(base.hostname or "", base.port, timeout=30)
    try:
        connection.request("GET", url, headers={"accept": "text/event-stream"})
        reply = connection.getresponse()
        assert reply.status == 200, reply.read(300)
        assert reply.getheader("content-type", "").startswith("text/event-stream")
        data = first_event_data(reply)
    finally:
        connection.close()
    pointer = media["x-event-data-schema"]["$ref"].removeprefix("#")
    found = errors(schema_validator(doc, pointer), json.loads(data))
    assert found == [], f"GET {url}: first event does not match:\n" + "\n".join(found)


def first_event_data(stream: Any) -> str:
    """The ``data`` of the first event of a text/event-stream that has any (comments skipped)."""
    lines: list[str] = []
    while raw := stream.readline():
        line = raw.decode().rstrip("\r\n")
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
        elif not line and lines:
            return "\n".join(lines)
    raise AssertionError("the stream ended before its first event")


class TestTheCheckItself:
    """The checks above can fail: a body with a key too many or one too few does not pass."""

    def test_an_undocumented_key_fails(self, doc: dict[str, Any], rest: Rest) -> None:
        body = rest.get("/health").json()
        check = validator(doc, "/health", "get", "200")
        assert errors(check, body) == []
        assert errors(check, body | {"uptime_s": 1}) == [
            "(root): Additional properties are not allowed ('uptime_s' was unexpected)"
        ]
        del body["database"]
        assert errors(check, body) == ["(root): 'database' is a required property"]

    def test_the_event_stream_reader(self) -> None:
        class Stream:
            def __init__(self, text: bytes) -> None:
                self.lines = text.splitlines(keepends=True)

            def readline(self) -> bytes:
                return self.lines.pop(0) if self.lines else b""

        events = b': heartbeat\n\nevent: update\ndata: {"a":\ndata: 1}\n\ndata: 2\n\n'
        assert first_event_data(Stream(events)) == '{"a":\n1}'
        with pytest.raises(AssertionError, match="ended before its first event"):
            first_event_data(Stream(b": heartbeat\n\n"))
