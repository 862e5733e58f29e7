"""The documentation pages through the real Envoy: the bundles, the document, the 404 and the
directory (content types, ETags and 304 of every page: test_static_rest.py)."""

from __future__ import annotations

import json

from restclient import Rest
from server.api.docs import load


def test_the_bundles_pass_envoys_buffer_limit(rest: Rest) -> None:
    reply = rest.get("/docs/swagger-ui-bundle.js")
    assert len(reply.body) > 1024 * 1024  # above Envoy's default 1 MiB buffer
    assert reply.body == load().assets["swagger-ui-bundle.js"].body


def test_the_document_is_json(rest: Rest) -> None:
    doc = json.loads(rest.get("/openapi.json").body)
    assert doc["openapi"] == "3.1.0"


def test_unknown_asset_is_a_json_404(rest: Rest) -> None:
    reply = rest.get("/docs/nothing.js")
    assert reply.status == 404
    body = reply.json()
    assert body["code"] == 5
    assert "swagger-ui-bundle.js" in body["message"]  # it lists what there is


def test_the_directory_lists_the_documentation(rest: Rest) -> None:
    listed = {e["path"]: e for e in rest.get("/").json()["endpoints"]}
    assert listed["/docs"]["rpc"] == "mlanalytics.v1.DocsService/GetSwaggerUi"
    assert listed["/redoc"]["rpc"] == "mlanalytics.v1.DocsService/GetRedoc"
    assert listed["/openapi.json"]["rpc"] == "mlanalytics.v1.DocsService/GetOpenApiDocument"
