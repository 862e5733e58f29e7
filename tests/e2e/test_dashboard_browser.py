"""The desk view (/dashboard) in a real browser (Debian's chromium, driven by Playwright for
Python) against the live service through Envoy: one tile per model with the API's status, a
silent model's tile turning healthy without a reload, the model view's features, equity curve,
version and change-point marks, rollback verdict and rolling series from the API's own numbers,
no console error, nothing fetched from another origin, no horizontal scroll on a phone, and the
page still live after the service restarts. With bearer tokens on at the edge: the page asks for
one, sends it with every call (the watch stream too) and asks again when it is refused.

Playwright's own browser download cannot work here; the test launches /usr/bin/chromium. Without
it the test fails under CI (``CI=true``) and is skipped elsewhere, saying why.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import numpy as np
import psycopg
import pytest
from playwright.sync_api import expect

from databases import ScratchDatabase
from devstack import envoy, processes
from devstack.edge_security import EdgeSecurity
from devstack.processes import free_port
from devstack.screenshots import screenshots_with
from edgekeys import AUDIENCE, ISSUER, rsa_key, token, write_jwks
from restclient import Rest
from rows import Rows
from server.app import Service
from server.config import Settings

pytestmark = pytest.mark.e2e

TIMEOUT_MS = 60_000
DRIFTING = "sac_transformer_v2.1"  # and its confidence collapses: a change point
WORSE = "td3_ensemble_v1.0"  # its new version is worse: a version mark, a rollback verdict
TILES = "button[data-model-id][data-status]"
MIN = timedelta(minutes=1)


#: Where the page keeps the token (sessionStorage).
TOKEN_KEY = "mlanalytics.desk.token"
#: What Chromium's console says of a request answered 401 (the page's calls without a good token).
UNAUTHORIZED = "Failed to load resource: the server responded with a status of 401 (Unauthorized)"


@dataclass
class Tab:
    """A page of a fresh browser context: the requests it made to other origins, the errors its
    console showed but the 401s, the URL of each request the console reported answered 401, and
    every request to this origin with its ``authorization`` header (None without one)."""

    page: Any
    origin: str
    elsewhere: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)
    sent: list[tuple[str, str | None]] = field(default_factory=list)

    def tiles(self) -> dict[str, str]:
        """model_id -> status of every tile, in page order."""
        found: list[list[str]] = self.page.eval_on_selector_all(
            TILES, "tiles => tiles.map(t => [t.dataset.modelId, t.dataset.status])"
        )
        return dict(found)

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.unauthorized == [], self.unauthorized
        assert self.elsewhere == [], self.elsewhere


@pytest.fixture
def open_tab(browser: Any) -> Iterator[Callable[..., Tab]]:
    contexts: list[Any] = []

    def open_(port: int, width: int = 1280, height: int = 800, beside: Tab | None = None) -> Tab:
        """A tab of a new browser session, or of ``beside``'s."""
        origin = f"http://127.0.0.1:{port}"
        if beside is None:
            viewport = {"width": width, "height": height}
            context = browser.new_context(base_url=origin, viewport=viewport)
            contexts.append(context)
        else:
            context = beside.page.context
        tab = Tab(context.new_page(), origin)
        tab.page.set_default_timeout(TIMEOUT_MS)

        def request(request: Any) -> None:
            url = request.url
            if urlsplit(url).scheme in ("http", "https") and not url.startswith(origin + "/"):
                tab.elsewhere.append(url)
            else:
                tab.sent.append((url, request.headers.get("authorization")))

        def console(message: Any) -> None:
            if message.type == "error" and message.text == UNAUTHORIZED:
                tab.unauthorized.append(message.location["url"])
            elif message.type == "error":
                tab.errors.append(message.text)

        tab.page.on("request", request)
        tab.page.on("console", console)
        tab.page.on("pageerror", lambda error: tab.errors.append(str(error)))
        return tab

    yield open_
    for context in contexts:
        context.close()


def api_statuses(rest: Rest) -> dict[str, str]:
    models = rest.get("/api/health/models").json()["data"]["models"]
    return {m["model_id"]: m["status"] for m in models}


def test_one_tile_per_model_with_the_apis_status_and_the_market_clock(
    demo: datetime, rest: Rest, proxy: processes.EnvoyProcess, open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab(proxy.port)
    tab.page.goto("/dashboard")
    expected = api_statuses(rest)
    assert len(expected) == 5
    # A locator's wait, not wait_for_function: that evaluates its string in the page, which
    # the page's CSP (no 'unsafe-eval') refuses whenever the predicate is not true at once.
    expect(tab.page.locator(TILES)).to_have_count(len(expected), timeout=TIMEOUT_MS)
    assert tab.tiles() == expected
    assert list(tab.tiles()) == list(expected)  # the API's order: critical first
    for model_id, status in expected.items():  # said in words, not colour alone
        assert status in tab.page.locator(f'[data-model-id="{model_id}"] .badge').inner_text()
    market = rest.get("/api/health/models").json()["data"]["market"]
    clock = tab.page.locator("[data-market-open]")
    assert clock.get_attribute("data-market-open") == str(market["open"]).lower()
    assert ("Market open" if market["open"] else "Market closed") in clock.inner_text()
    first_tiles_ms = tab.page.evaluate(
        "performance.getEntriesByName('desk:first-tiles')[0].startTime"
    )
    print(f"\ndesk view: first tiles {first_tiles_ms:.0f} ms after navigation start (demo)")
    assert first_tiles_ms < 15_000
    tab.assert_clean()


def cumulative_rewards(rest: Rest, model_id: str, start: str, end: str) -> tuple[list[float], ...]:
    """Every settled reward of the range (start, end], oldest first, and their running sum: read
    page by page from the API, summed here by numpy."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        params = {"model_id": model_id, "page_size": 1000, "page": page}
        query = urlencode({**params, "start_time": start, "end_time": end})
        data = rest.get(f"/api/predictions/history?{query}").json()["data"]
        rows += data["predictions"]
        if page >= data["total_pages"]:
            break
        page += 1
    settled = [r for r in reversed(rows) if "reward" in r]
    times = [datetime.fromisoformat(r["timestamp"]).timestamp() for r in settled]
    return times, list(np.cumsum([r["reward"] for r in settled]))


def test_the_model_view_shows_the_apis_features_and_equity(
    demo: datetime, rest: Rest, proxy: processes.EnvoyProcess, open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab(proxy.port)
    page = tab.page
    page.goto("/dashboard")
    tile = page.locator(f'button[data-model-id="{DRIFTING}"]')
    tile.focus()
    page.keyboard.press("Enter")  # a tile is a button: the keyboard selects it
    page.wait_for_selector(f'[data-view="model"][data-model-id="{DRIFTING}"]')
    assert tile.get_attribute("aria-pressed") == "true"

    drift = rest.get(f"/api/drift/features?model_id={DRIFTING}").json()["data"]
    names = [f["feature"] for f in drift["features"]]
    assert len(names) >= 10
    expect(page.locator("[data-feature]")).to_have_count(len(names), timeout=TIMEOUT_MS)
    shown = page.eval_on_selector_all(
        "[data-feature]", "items => items.map(i => i.dataset.feature)"
    )
    assert shown == names
    statuses = page.eval_on_selector_all(
        "[data-feature]", "items => items.map(i => i.dataset.status)"
    )
    assert statuses == [f["status"] for f in drift["features"]]

    chart = page.locator('[data-chart="equity"]')
    page.wait_for_selector('[data-chart="equity"][data-end-time] canvas')
    plotted = chart.evaluate("c => c.plotted")
    start, end = chart.get_attribute("data-start-time"), chart.get_attribute("data-end-time")
    assert start is not None
    assert end is not None
    times, values = cumulative_rewards(rest, DRIFTING, start, end)
    assert len(values) > 100
    assert plotted["times"] == pytest.approx(times, abs=1e-3)
    assert plotted["values"] == pytest.approx(values, rel=1e-9, abs=1e-9)
    assert chart.get_attribute("data-points") == str(len(values))
    tab.assert_clean()


#: What the panels of the model view show, read in one go (a refresh may come between two reads):
#: each with the end_time it was asked for.
PANELS = """() => {
    const series = document.querySelector('[data-chart="series"]');
    const marks = document.querySelector('[data-marks]');
    const verdict = document.querySelector('[data-verdict]');
    return {
        series: { end: series.dataset.endTime, plotted: series.plotted },
        marks: {
            end: marks.dataset.endTime,
            items: [...marks.querySelectorAll('[data-mark]')].map(
                (m) => [m.dataset.mark, m.dataset.name, m.dataset.at]),
        },
        verdict: { end: verdict.dataset.endTime, verdict: verdict.dataset.verdict,
                   text: verdict.textContent },
    };
}"""


@pytest.mark.parametrize("model_id", [WORSE, DRIFTING])
def test_the_model_views_marks_verdict_and_series_are_the_apis(
    demo: datetime,
    rest: Rest,
    proxy: processes.EnvoyProcess,
    open_tab: Callable[..., Tab],
    model_id: str,
) -> None:
    """The version changes and change points listed (and drawn) on the equity curve, the rollback
    verdict, and the rolling Sharpe ratio and win rate chart: each what the API answers for the
    same model with the parameters the page used."""
    tab = open_tab(proxy.port)
    page = tab.page
    page.goto(f"/dashboard#model={model_id}")
    page.wait_for_selector('[data-chart="series"][data-end-time] canvas')
    page.wait_for_selector("[data-marks][data-end-time]")
    page.wait_for_selector("[data-verdict][data-end-time]")
    shown = page.evaluate(PANELS)
    model = quote(model_id, safe="")

    end = shown["marks"]["end"]
    versions = rest.get(f"/api/models/{model}/versions?{urlencode({'end_time': end})}").data()
    query = urlencode({"window": "7d", "end_time": end})
    changes = rest.get(f"/api/anomalies/{model}?{query}").data()["change_points"]
    assert shown["marks"]["items"] == [
        ["version", v["version"], v["first_seen"]] for v in versions["versions"][1:]
    ] + [["change-point", c["signal"], c["at"]] for c in changes]

    end = shown["verdict"]["end"]
    compare = rest.get(f"/api/models/{model}/versions/compare?{urlencode({'end_time': end})}")
    verdict = compare.data()
    assert shown["verdict"]["verdict"] == verdict["verdict"]
    text = shown["verdict"]["text"]
    assert verdict["candidate"]["version"] in text
    if "baseline" in verdict:
        assert f"against {verdict['baseline']['version']}, {verdict['method']}" in text
        p_value = re.search(r"p = ([0-9.]+|n/a)", text)
        assert p_value is not None, text
        if "p_value" in verdict:
            assert float(p_value[1]) == pytest.approx(verdict["p_value"], abs=5e-4)

    plotted = shown["series"]["plotted"]
    for metric in ("sharpe_ratio", "win_rate"):
        params = {"model_id": model_id, "metric": metric, "window": "24h"}
        query = urlencode(params | {"end_time": shown["series"]["end"]})
        points = rest.get(f"/api/metrics/series?{query}").data()["points"]
        times = [datetime.fromisoformat(p["end_time"]).timestamp() for p in points]
        assert plotted["times"] == pytest.approx(times, abs=1e-3)
        assert plotted[metric] == [p.get("value") for p in points], metric
        assert [v for v in plotted[metric] if v is not None], f"no {metric} plotted"

    # The demo's stories, so that the comparisons above are not of empty lists.
    if model_id == WORSE:
        assert len(versions["versions"]) >= 2
        assert verdict["verdict"] == "rollback"
    else:
        assert changes
    tab.assert_clean()


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800)])
def test_no_horizontal_scroll(
    demo: datetime,
    proxy: processes.EnvoyProcess,
    open_tab: Callable[..., Tab],
    width: int,
    height: int,
) -> None:
    tab = open_tab(proxy.port, width, height)
    tab.page.goto(f"/dashboard#model={DRIFTING}")
    tab.page.wait_for_selector('[data-chart="equity"][data-end-time] canvas')
    tab.page.wait_for_selector("[data-feature]")
    tab.page.wait_for_selector(TILES)
    scroll_width = tab.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    chart_width = tab.page.evaluate(
        "document.querySelector('[data-chart=\"equity\"] canvas').getBoundingClientRect().right"
    )
    assert chart_width <= width
    tab.assert_clean()


def test_the_screenshot_script_writes_both_pictures(
    demo: datetime, proxy: processes.EnvoyProcess, browser: Any, tmp_path: Path
) -> None:
    written = screenshots_with(browser, f"http://127.0.0.1:{proxy.port}", tmp_path)
    assert [p.name for p in written] == ["dashboard-desktop.png", "dashboard-phone.png"]
    assert all(p.stat().st_size > 10_000 for p in written)


def recent(rows: Rows, model_id: str, last: datetime) -> None:
    """12 winning predictions at 20 ms, five minutes apart, the last at ``last``."""
    for i in range(12):
        rows.inference(model_id, last - 5 * i * MIN, "LONG", reward=0.1, latency_ms=20)


def test_a_silent_tile_turns_healthy_live_and_the_page_outlives_a_restart(
    database: ScratchDatabase,
    start_service: Callable[..., Service],
    open_tab: Callable[..., Tab],
) -> None:
    port = free_port()
    settings = database.settings(grpc_port=port, stream_refresh_s=0.3, stream_heartbeat_s=1.0)
    first = start_service(settings)
    edge = processes.start_envoy(
        envoy.render(listen_host="127.0.0.1", listen_port=0, backend_port=first.port)
    )
    model = f"desk_live_{uuid.uuid4().hex[:8]}"
    tile = f'[data-model-id="{model}"]'
    try:
        with psycopg.connect(database.dsn, autocommit=True) as conn:
            rows = Rows(conn)
            now = datetime.now(UTC)
            recent(rows, model, now - 2 * timedelta(hours=1))  # silent for 2 h: critical
            tab = open_tab(edge.port)
            tab.page.goto("/dashboard")
            tab.page.wait_for_selector(f'{tile}[data-status="critical"]')
            assert "silent" in tab.page.locator(tile).inner_text()
            tab.page.evaluate("window.notReloaded = true")

            recent(rows, model, datetime.now(UTC))  # it speaks again
            written = time.monotonic()
            tab.page.wait_for_selector(f'{tile}[data-status="healthy"]', timeout=15_000)
            print(f"\ndesk view: tile healthy {time.monotonic() - written:.1f} s after the rows")
            assert tab.page.evaluate("window.notReloaded") is True
            tab.assert_clean()

            first.stop(grace=1)  # the stream ends; the page reconnects by itself
            start_service(settings)
            rows.inference(model, datetime.now(UTC), "LONG", reward=0.1, latency_ms=20_000)
            tab.page.wait_for_selector(f'{tile}[data-status="critical"]', timeout=45_000)
            tab.page.wait_for_selector('[data-link="live"]')
            assert tab.page.evaluate("window.notReloaded") is True
            tab.page.locator(tile).click()  # the model view still reads the API
            tab.page.wait_for_selector('[data-chart="equity"][data-end-time] canvas')
            assert tab.page.locator('[data-chart="equity"]').get_attribute("data-points") == "25"
            assert tab.elsewhere == []
    finally:
        edge.stop()


#: An event stream with what EventSource copes with: LF, CRLF and CR line breaks, a comment, a
#: named event, an id (ignored: Envoy's streams carry none), a two-line data field, a field
#: without a space after its colon, and a last event left unended.
EVENT_STREAM = (
    'data: {"ok": "✓"}\n\n: a comment\revent: other\rdata: x\r\r'
    "id: 7\r\ndata: one\r\ndata:two\r\n\r\ndata: never ended"
)


@pytest.mark.parametrize("chunk", [1, 2, 5, len(EVENT_STREAM.encode())])
def test_the_event_stream_reader_reads_what_an_eventsource_would(
    demo: datetime, proxy: processes.EnvoyProcess, open_tab: Callable[..., Tab], chunk: int
) -> None:
    """The page's reader of Server-Sent Events (its global ``readEvents``) on a body cut into
    chunks of ``chunk`` bytes: between the CR and LF of a line break, inside a UTF-8 character."""
    tab = open_tab(proxy.port)
    tab.page.goto("/dashboard")
    raw = EVENT_STREAM.encode()
    chunks = [list(raw[i : i + chunk]) for i in range(0, len(raw), chunk)]
    read = tab.page.evaluate(
        """async (chunks) => {
            const body = new ReadableStream({
              start(controller) {
                for (const bytes of chunks) controller.enqueue(new Uint8Array(bytes));
                controller.close();
              },
            });
            const events = [];
            await readEvents(body, (event) => events.push(event));
            return { events };
        }""",
        chunks,
    )
    assert read["events"] == [
        {"type": "message", "data": '{"ok": "✓"}'},
        {"type": "other", "data": "x"},
        {"type": "message", "data": "one\ntwo"},
    ]
    tab.assert_clean()


# --- With bearer tokens on at the edge -----------------------------------------------------------


@dataclass(frozen=True)
class AuthEdge:
    """Envoy asking for tokens (jwt_authn, the default public paths) in front of a server of the
    test's own with a fast watch stream (``restart`` stops it and starts another on its port);
    the key that signs valid tokens, and a REST client that sends one."""

    proxy: processes.EnvoyProcess
    key: Any
    rest: Rest
    restart: Callable[[], None]

    def token(self) -> str:
        return token(self.key, "desk-1")

    def statuses(self) -> dict[str, str]:
        reply = self.rest.get("/api/health/models", authorization=f"Bearer {self.token()}")
        return {m["model_id"]: m["status"] for m in reply.data()["models"]}


@pytest.fixture
def auth_edge(
    demo: datetime, database: ScratchDatabase, start_service: Callable[..., Service], tmp_path: Path
) -> Iterator[AuthEdge]:
    key = rsa_key()
    write_jwks(tmp_path / "jwks.json", {"desk-1": key})
    env = {"AUTH_JWKS_FILE": str(tmp_path / "jwks.json"), "AUTH_ISSUER": ISSUER}
    security = EdgeSecurity.from_settings(Settings.from_env(env | {"AUTH_AUDIENCE": AUDIENCE}))
    assert "/dashboard" in security.public_paths  # by default
    settings = database.settings(
        grpc_port=free_port(),
        stream_refresh_s=0.3,
        stream_heartbeat_s=1.0,
        auth_jwks_file=env["AUTH_JWKS_FILE"],  # the desk view then asks before its first call
    )
    services = [start_service(settings)]
    proxy = processes.start_envoy(
        envoy.render(
            listen_host="127.0.0.1",
            listen_port=0,
            backend_port=settings.grpc_port,
            security=security,
        )
    )

    def restart() -> None:
        services[-1].stop(grace=1)  # its streams end
        services.append(start_service(settings))

    yield AuthEdge(proxy, key, Rest(f"http://127.0.0.1:{proxy.port}"), restart)
    proxy.stop()


def prompt(tab: Tab) -> Any:
    """The token form (a form named by its heading)."""
    return tab.page.get_by_role("form", name="Bearer token")


def enter(tab: Tab, value: str, *, with_the_button: bool = False) -> None:
    """Type ``value`` into the token field and submit it with the keyboard: Enter in the field,
    or Tab to the form's button and Enter there."""
    field = prompt(tab).get_by_label("Bearer token")
    expect(field).to_be_focused()  # the form takes the focus when it appears
    field.fill(value)
    if with_the_button:
        field.press("Tab")
        button = prompt(tab).get_by_role("button", name="Use token")
        expect(button).to_be_focused()
        button.press("Enter")
    else:
        field.press("Enter")


@contextmanager
def refused(tab: Tab) -> Iterator[None]:
    """Until the console has reported a 401 to the health list and one to the watch stream: the
    two calls the page makes when it takes a token (or starts with a stored one)."""

    def answered_401(path: str) -> Callable[[Any], bool]:
        url = tab.origin + path
        return lambda m: m.type == "error" and m.text == UNAUTHORIZED and m.location["url"] == url

    with (
        tab.page.expect_console_message(answered_401("/api/health/models")),
        tab.page.expect_console_message(answered_401("/api/health/models/watch")),
    ):
        yield


def assert_only_expected_401s(tab: Tab, count: int) -> None:
    """No console error but ``count`` 401s, each to the health list or the watch stream asked
    without a token or with a refused one; nothing asked elsewhere; no token in a URL."""
    assert tab.errors == [], tab.errors
    allowed = {f"{tab.origin}/api/health/models", f"{tab.origin}/api/health/models/watch"}
    assert set(tab.unauthorized) <= allowed, tab.unauthorized
    assert len(tab.unauthorized) == count, tab.unauthorized
    assert tab.elsewhere == [], tab.elsewhere
    assert not [url for url, _ in tab.sent if "eyJ" in url], "a token in a URL"


def test_with_tokens_on_the_page_asks_for_one_and_goes_live_with_it(
    auth_edge: AuthEdge, database: ScratchDatabase, open_tab: Callable[..., Tab]
) -> None:
    model = f"desk_auth_{uuid.uuid4().hex[:8]}"
    tile = f'[data-model-id="{model}"]'
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        rows = Rows(conn)
        recent(rows, model, datetime.now(UTC) - 2 * timedelta(hours=1))  # silent: critical
        tab = open_tab(auth_edge.proxy.port)
        page = tab.page
        page.goto("/dashboard")  # public: the page and its assets need no token
        form = prompt(tab)
        expect(form).to_be_visible()
        expect(form).to_have_attribute("data-auth", "needed")
        expect(form.get_by_role("status")).to_have_text("This service asks for a bearer token.")
        expect(page.locator("[data-link]")).to_have_attribute("data-link", "connecting")
        expect(page.locator(TILES)).to_have_count(0)
        expect(page.locator("[data-link]")).to_contain_text("Waiting for a bearer token")
        asked = len(tab.sent)

        valid = auth_edge.token()
        # Shown as dots, but not a password field: no offer to save it in a password manager.
        field = form.get_by_label("Bearer token")
        expect(field).to_have_attribute("type", "text")
        expect(field).to_have_attribute("autocomplete", "off")
        assert field.evaluate("e => getComputedStyle(e).webkitTextSecurity") == "disc"
        enter(tab, valid, with_the_button=True)
        expect(form).to_be_hidden()
        expected = auth_edge.statuses()
        assert expected[model] == "critical"
        expect(page.locator(TILES)).to_have_count(len(expected), timeout=TIMEOUT_MS)
        assert tab.tiles() == expected
        expect(page.locator('[data-link="live"]')).to_have_count(1)
        assert page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == valid
        assert page.evaluate("localStorage.length") == 0
        page.evaluate("window.notReloaded = true")

        recent(rows, model, datetime.now(UTC))  # it speaks again: the stream says so
        expect(page.locator(f'{tile}[data-status="healthy"]')).to_have_count(1, timeout=15_000)
        assert page.evaluate("window.notReloaded") is True

        page.locator(tile).click()  # the model view's calls carry the token too
        page.wait_for_selector('[data-chart="equity"][data-end-time] canvas')
        expect(page.locator("[data-feature]").first).to_be_visible()

        api = [(url, auth) for url, auth in tab.sent[asked:] if "/api/" in url]
        assert api, "no call to the API after the token"
        assert {auth for _, auth in api} == {f"Bearer {valid}"}, api
        # Asked for a token before any call: the page and its assets only, and no 401.
        assert not [url for url, _ in tab.sent[:asked] if "/api/" in url], tab.sent[:asked]
        assert_only_expected_401s(tab, 0)

        # The service restarts: the page reconnects by itself, with the token (while no server
        # answers, Envoy's 503s may show in the console: not counted from here on).
        before_restart = len(tab.sent)
        auth_edge.restart()
        rows.inference(model, datetime.now(UTC), "LONG", reward=0.1, latency_ms=20_000)
        expect(page.locator(f'{tile}[data-status="critical"]')).to_have_count(1, timeout=45_000)
        expect(page.locator('[data-link="live"]')).to_have_count(1)
        assert page.evaluate("window.notReloaded") is True
    streams = [auth for url, auth in tab.sent[before_restart:] if url.endswith("/watch")]
    assert streams, "no new stream after the restart"
    assert set(streams) == {f"Bearer {valid}"}
    assert tab.unauthorized == []
    assert tab.elsewhere == []


def test_the_tabs_of_one_browser_session_share_the_token(
    auth_edge: AuthEdge, open_tab: Callable[..., Tab]
) -> None:
    port, valid = auth_edge.proxy.port, auth_edge.token()
    first = open_tab(port)
    first.page.goto("/dashboard")
    enter(first, valid)
    expect(first.page.locator('[data-link="live"]')).to_have_count(1)
    # A new tab of the same session asks the open ones, not the user.
    second = open_tab(port, beside=first)
    second.page.goto("/dashboard")
    expect(second.page.locator('[data-link="live"]')).to_have_count(1)
    expect(prompt(second)).to_be_hidden()
    assert second.page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") == valid
    assert_only_expected_401s(second, 0)

    # Another browser session asks its user; a token given in one of its tabs reaches the
    # session's tabs waiting at their prompt.
    other = open_tab(port)
    other.page.goto("/dashboard")
    waiting = open_tab(port, beside=other)
    waiting.page.goto("/dashboard")
    expect(prompt(waiting)).to_be_visible()
    expect(prompt(other)).to_be_visible()
    assert [url for url, _ in other.sent + waiting.sent if "/api/" in url] == []
    enter(other, valid)
    expect(waiting.page.locator('[data-link="live"]')).to_have_count(1)
    expect(prompt(waiting)).to_be_hidden()
    assert {auth for url, auth in waiting.sent if "/api/" in url} == {f"Bearer {valid}"}
    for tab in (first, other, waiting):
        assert_only_expected_401s(tab, 0)


def test_a_refused_token_brings_the_prompt_back(
    auth_edge: AuthEdge, open_tab: Callable[..., Tab]
) -> None:
    tab = open_tab(auth_edge.proxy.port)
    page = tab.page
    page.goto("/dashboard")
    form = prompt(tab)
    status = form.get_by_role("status")
    expect(form).to_have_attribute("data-auth", "needed")

    enter(tab, "not a token!")  # not what a bearer token can be: refused before any request
    expect(status).to_contain_text("Not a bearer token")
    expect(form).to_have_attribute("data-auth", "needed")

    wrong_key = token(rsa_key(), "desk-1")  # a JWT, but not signed by the edge's key
    with refused(tab):
        enter(tab, wrong_key)
    expect(form).to_have_attribute("data-auth", "refused")
    expect(status).to_contain_text("refused the token")
    expect(form).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0  # a refused token is forgotten
    expect(page.locator(TILES)).to_have_count(0)

    enter(tab, auth_edge.token())
    expect(form).to_be_hidden()
    expect(page.locator(TILES)).to_have_count(len(auth_edge.statuses()), timeout=TIMEOUT_MS)

    # A stored token the service no longer takes (expired, its key rotated out): after a reload
    # the page asks again, and forgets it.
    expired = token(auth_edge.key, "desk-1", iat=int(time.time()) - 900, exp=int(time.time()) - 600)
    page.evaluate(f"sessionStorage.setItem('{TOKEN_KEY}', '{expired}')")
    with refused(tab):
        page.reload()
    expect(prompt(tab)).to_have_attribute("data-auth", "refused")
    expect(prompt(tab).get_by_role("status")).to_contain_text("refused the token")
    assert page.evaluate("sessionStorage.length") == 0
    expect(page.locator(TILES)).to_have_count(0)

    streams = [auth for url, auth in tab.sent if url.endswith("/api/health/models/watch")]
    assert None not in streams  # no stream without a token: the page knows one is asked for
    assert f"Bearer {wrong_key}" in streams
    assert f"Bearer {expired}" in streams
    assert "not a token!" not in str(tab.sent)
    # Each refused token: the health list and the stream, once each (none for the malformed
    # entry, none before the first token).
    assert_only_expected_401s(tab, 4)
