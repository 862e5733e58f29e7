"""The documentation pages as the service holds them: ETags, If-None-Match, no CDN."""

from __future__ import annotations

import re

import pytest

from server.api.docs import Resource, load


class TestConditionalRequests:
    resource = Resource("text/plain", b"hello")

    def test_etag_is_a_strong_tag_of_the_body(self) -> None:
        assert re.fullmatch(r'"[0-9a-f]{24}"', self.resource.etag)
        assert Resource("text/plain", b"hello").etag == self.resource.etag
        assert Resource("text/plain", b"hello!").etag != self.resource.etag

    @pytest.mark.parametrize(
        "header",
        ["{tag}", "W/{tag}", '"other", {tag}', "*", ' "other" ,W/{tag} '],
    )
    def test_matching_if_none_match(self, header: str) -> None:
        assert self.resource.matches(header.format(tag=self.resource.etag))

    @pytest.mark.parametrize("header", [None, "", '"other"', 'W/"other", "x"'])
    def test_other_if_none_match(self, header: str | None) -> None:
        assert not self.resource.matches(header)


class TestGeneratedPages:
    def test_pages_load_nothing_from_elsewhere(self) -> None:
        docs = load()
        for page in (docs.swagger_ui, docs.redoc):
            html = page.body.decode()
            assert page.content_type == "text/html; charset=utf-8"
            urls = re.findall(r'(?:src|href|url:|spec-url=)\s*"([^"]+)"', html)
            assert urls, html
            assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
            assert all(
                url == "/openapi.json" or url[len("/docs/") :] in docs.assets for url in urls
            )

    def test_document_and_assets(self) -> None:
        docs = load()
        assert docs.document.content_type == "application/json"
        assert set(docs.assets) == {
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "favicon-16x16.png",
            "favicon-32x32.png",
            "redoc.standalone.js",
        }, "run make gen (npm ci in docs/ui) to generate the assets"
        assert docs.assets["swagger-ui.css"].content_type == "text/css; charset=utf-8"


class TestDeskView:
    def test_the_page_loads_only_its_own_assets_and_runs_no_inline_script(self) -> None:
        docs = load()
        page = docs.dashboard.body.decode()
        assert docs.dashboard.content_type == "text/html; charset=utf-8"
        urls = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', page)
        assets = [url for url in urls if url.startswith("/dashboard/")]
        assert sorted(url[len("/dashboard/") :] for url in assets) == sorted(
            [
                "favicon-32x32.png",
                "uPlot.min.css",
                "dashboard.css",
                "uPlot.iife.min.js",
                "dashboard.js",
            ]
        )
        assert all(url[len("/dashboard/") :] in docs.dashboard_assets for url in assets)
        # Nothing outside /dashboard/: public as a whole when the edge asks for tokens.
        assert set(urls) - set(assets) <= {"#tiles"}, urls
        assert "<script>" not in page  # the CSP allows no inline script
        assert "script-src 'self';" in page

    def test_assets(self) -> None:
        assets = load().dashboard_assets
        assert set(assets) == {
            "dashboard.js",
            "dashboard.css",
            "uPlot.iife.min.js",
            "uPlot.min.css",
            "favicon-32x32.png",
        }, "run make gen (npm ci in docs/ui and clients/typescript) to generate the desk view"
        assert assets["dashboard.js"].content_type == "text/javascript; charset=utf-8"
        assert b"function readEvents(" in assets["dashboard.js"].body  # compiled from dashboard.ts
