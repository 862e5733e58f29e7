"""The desk view over plain HTTP through the real Envoy: the compiled script, the page's origins,
the 404 and the page weight (content types, ETags and 304 of every asset: test_static_rest.py)."""

from __future__ import annotations

import gzip

from restclient import Rest
from server.api.docs import load


def test_the_served_script_is_the_compiled_one(rest: Rest) -> None:
    reply = rest.get("/dashboard/dashboard.js")
    assert reply.body == load().dashboard_assets["dashboard.js"].body
    assert b"/api/health/models/watch" in reply.body


def test_the_page_forbids_other_origins(rest: Rest) -> None:
    page = rest.get("/dashboard").body.decode()
    assert "connect-src 'self'" in page
    assert "script-src 'self';" in page
    assert "http://" not in page
    assert "https://" not in page


def test_unknown_asset_is_a_json_404_listing_the_assets(rest: Rest) -> None:
    reply = rest.get("/dashboard/nothing.js")
    assert reply.status == 404
    body = reply.json()
    assert body["code"] == 5
    assert "dashboard.js" in body["message"]
    assert "desk view" in body["message"]


def test_page_weight_without_the_chart_library(rest: Rest) -> None:
    """The page's own bytes (HTML, script, style sheet), gzipped: what a phone downloads on top of
    uplot (about 22 KB gzipped)."""
    own = [
        rest.get(p).body
        for p in ("/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css")
    ]
    gzipped = sum(len(gzip.compress(body, 9)) for body in own)
    chart = len(gzip.compress(rest.get("/dashboard/uPlot.iife.min.js").body, 9))
    print(
        f"\ndesk view: {gzipped / 1024:.1f} KiB gzipped without uplot, uplot {chart / 1024:.1f} KiB"
    )
    assert gzipped < 30 * 1024
