"""/docs and /redoc in a real browser (Debian's chromium, driven by Playwright for Python):
every operation renders, "Try it out" gets a 200 from the live service through Envoy, nothing
is fetched from anywhere else, and a reload revalidates the script bundle with a 304.

Playwright's own browser download cannot work here; the test launches /usr/bin/chromium
(``apt-get install -y chromium``). Without it the test fails under CI (``CI=true``) and is
skipped elsewhere, saying why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack import processes
from openapischema import operations
from restclient import Rest

TIMEOUT_MS = 60_000


@dataclass
class Tab:
    """A page of a fresh browser context, and the requests it made to other origins."""

    page: Any
    elsewhere: list[Any] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions


@pytest.fixture
def tab(browser: Any, proxy: processes.EnvoyProcess) -> Iterator[Tab]:
    origin = f"http://127.0.0.1:{proxy.port}"
    context = browser.new_context(base_url=origin, viewport={"width": 1280, "height": 900})
    opened = Tab(context.new_page())
    opened.page.set_default_timeout(TIMEOUT_MS)

    def record(request: Any) -> None:
        url = request.url
        if urlsplit(url).scheme in ("http", "https") and not url.startswith(origin + "/"):
            opened.elsewhere.append(request)

    opened.page.on("request", record)
    opened.page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
    yield opened
    context.close()


@pytest.fixture(scope="module")
def operation_ids(rest: Rest) -> list[tuple[str, str]]:
    """(tag, operationId) of every operation of the served document."""
    doc = rest.get("/openapi.json").json()
    return [(op["tags"][0], op["operationId"]) for _, _, op in operations(doc)]


def assert_nothing_reached_elsewhere(tab: Tab) -> None:
    """Requests to other origins may be attempted (ReDoc's footer logo), never sent: the page's
    Content-Security-Policy blocks them in the browser."""
    for request in tab.elsewhere:
        assert request.failure in ("csp", "net::ERR_BLOCKED_BY_CSP"), request.url


def test_swagger_ui_renders_every_operation_and_tries_one(
    demo: datetime, tab: Tab, operation_ids: list[tuple[str, str]], tmp_path: Path
) -> None:
    page = tab.page
    page.goto("/docs")
    page.wait_for_selector(".opblock")
    rendered = page.eval_on_selector_all(".opblock", "blocks => blocks.map(b => b.id)")
    assert sorted(rendered) == sorted(f"operations-{t}-{o}" for t, o in operation_ids)

    block = page.locator("#operations-HealthService-ListModelHealth")
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/health/models") as caught:
        block.locator("button.execute").click()
    assert caught.value.status == 200
    status = block.locator(".live-responses-table tbody .response-col_status").first
    assert status.inner_text().strip() == "200"
    assert '"total_models": 5' in block.locator(".live-responses-table").inner_text()
    page.screenshot(path=tmp_path / "swagger-ui.png")
    assert (tmp_path / "swagger-ui.png").stat().st_size > 10_000
    assert_nothing_reached_elsewhere(tab)


def test_redoc_renders_every_operation(
    tab: Tab, operation_ids: list[tuple[str, str]], tmp_path: Path
) -> None:
    page = tab.page
    page.goto("/redoc")
    page.wait_for_selector("[data-section-id^='operation/']")
    sections = page.eval_on_selector_all(
        "[data-section-id^='operation/']", "nodes => nodes.map(n => n.dataset.sectionId)"
    )
    assert sorted(sections) == sorted(f"operation/{o}" for _, o in operation_ids)
    page.wait_for_selector("img[alt='redocly logo']", state="attached")  # the menu's footer
    page.screenshot(path=tmp_path / "redoc.png")
    assert (tmp_path / "redoc.png").stat().st_size > 10_000
    assert tab.elsewhere == []  # the footer logo is the page's own
    assert tab.errors == []


def test_a_reload_revalidates_the_bundle_with_304(tab: Tab) -> None:
    page = tab.page
    page.goto("/docs", wait_until="networkidle")  # every body received, so cached
    seen: dict[str, list[tuple[bool, int]]] = {}

    def record(response: Any) -> None:
        conditional = "if-none-match" in response.request.all_headers()
        seen.setdefault(urlsplit(response.url).path, []).append((conditional, response.status))

    page.on("response", record)
    page.reload(wait_until="networkidle")
    # Cache-Control: no-cache makes Chromium revalidate the 1.5 MB bundle with If-None-Match; the
    # service answers 304 and only the headers cross the network, the body comes from the cache.
    # (How Chromium reports the other, small resources depends on its cache timing: the page
    # itself is shown as its cached 200, a stylesheet cached moments before may be fetched whole.
    # The 304 answer to every If-None-Match is tested over plain HTTP in test_docs_rest.py.)
    assert seen["/docs/swagger-ui-bundle.js"] == [(True, 304)], seen
    assert all(status in (200, 304) for answers in seen.values() for _, status in answers), seen
    [transferred] = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter(e => e.name.endsWith('/docs/swagger-ui-bundle.js'))
            .map(e => e.transferSize)"""
    )
    assert 0 < transferred < 2_000, f"the bundle crossed the network again ({transferred} bytes)"
