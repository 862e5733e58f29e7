"""The pages and assets served as HTTP bodies through the real Envoy (the documentation and the
desk view): their content types, lengths, ETags and 304."""

from __future__ import annotations

import pytest

from restclient import Rest

PAGES = {
    "/openapi.json": "application/json",
    "/docs": "text/html; charset=utf-8",
    "/redoc": "text/html; charset=utf-8",
    "/docs/swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "/docs/swagger-ui.css": "text/css; charset=utf-8",
    "/docs/redoc.standalone.js": "text/javascript; charset=utf-8",
    "/docs/favicon-32x32.png": "image/png",
    "/dashboard": "text/html; charset=utf-8",
    "/dashboard/dashboard.js": "text/javascript; charset=utf-8",
    "/dashboard/dashboard.css": "text/css; charset=utf-8",
    "/dashboard/uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "/dashboard/uPlot.min.css": "text/css; charset=utf-8",
    "/dashboard/favicon-32x32.png": "image/png",
}


@pytest.mark.parametrize(("path", "content_type"), PAGES.items())
def test_body_content_type_etag_and_304(rest: Rest, path: str, content_type: str) -> None:
    rest.asset(path, content_type)
