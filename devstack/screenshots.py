"""The README's pictures of the desk view, taken from a running service (``make run``) by
Debian's chromium driven by Playwright: ``python -m devstack screenshots`` writes
``docs/dashboard-desktop.png`` (1280x800, the drifting demo model selected) and
``docs/dashboard-phone.png`` (390 px wide). Never drawn by hand: run it again after a change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The demo model whose view the desktop picture shows (its feature pipeline broke).
SELECTED = "sac_transformer_v2.1"
TIMEOUT_MS = 60_000


def take_screenshots(
    base_url: str, out_dir: Path, chromium: str = "/usr/bin/chromium"
) -> list[Path]:
    """Both pictures of the desk view at ``base_url``, written into ``out_dir``."""
    from playwright.sync_api import sync_playwright  # only this command needs it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            return screenshots_with(browser, base_url, out_dir)
        finally:
            browser.close()


def screenshots_with(browser: Any, base_url: str, out_dir: Path) -> list[Path]:
    """Both pictures, taken with a Playwright browser already launched."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, viewport in (
        ("dashboard-desktop.png", {"width": 1280, "height": 800}),
        ("dashboard-phone.png", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(base_url=base_url, viewport=viewport)
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            _show(page, phone=viewport["width"] < 500)
            page.screenshot(path=out_dir / name)
        finally:
            context.close()
        written.append(out_dir / name)
    return written


def _show(page: Any, *, phone: bool) -> None:
    """The page with its tiles, and on the desktop a model's view drawn."""
    page.goto("/dashboard")
    page.wait_for_selector("button[data-model-id][data-status]")
    if phone:
        return
    tiles = page.eval_on_selector_all("button[data-model-id]", "t => t.map(b => b.dataset.modelId)")
    chosen = SELECTED if SELECTED in tiles else tiles[0]
    page.locator(f'button[data-model-id="{chosen}"]').click()
    page.wait_for_selector('[data-chart="equity"][data-end-time]')
    page.wait_for_selector("[data-feature]")
    page.evaluate("document.activeElement && document.activeElement.blur()")
