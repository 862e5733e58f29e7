"""The documentation pages through the real Envoy: HTTP bodies, content types, ETags and 304."""

from __future__ import annotations

import json

import pytest

from restclient import Rest
from server.api.docs import load

PAGES = {
    "/openapi.json": "application/json",
    "/docs": "text/html; charset=utf-8",
    "/redoc": "text/html; charset=utf-8",
    "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs/swagger-ui.css": "text/css; charset=utf-8",
    "/docs/redoc.standalone.js": "text/javascript; charset=utf-8",
    "/docs/favicon-32x32.png": "image/png",
}


@pytest.mark.parametrize(("path", "content_type"), PAGES.items())
def test_body_content_type_etag_and_304(rest: Rest, path: str, content_type: str) -> None:
    rest.asset(path, content_type)


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
