"""A real browser opens the built widget page, offline, and finds the widget's explorer drawn.

The page is served from 127.0.0.1 by a static file server; Playwright drives the system's
chromium (installed by ``make system-deps``) and aborts every request that leaves 127.0.0.1,
recording it: the test asserts that none was made and that no local file was missing.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import ARGS, CHROMIUM
from playwright.sync_api import sync_playwright

SHOTS = Path(__file__).resolve().parents[2] / "build" / "browser-tests"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(docs_site) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(docs_site.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_widget_renders_in_a_real_browser_with_no_network(served):
    assert Path(CHROMIUM).is_file(), "chromium missing: run `make system-deps`"
    outside, missing, errors = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})

        def route(request_route) -> None:
            if request_route.request.url.startswith(served + "/"):
                request_route.continue_()
            else:
                outside.append(request_route.request.url)
                request_route.abort()

        page.route("**/*", route)
        page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{served}/widget.html", wait_until="load")
        SHOTS.mkdir(parents=True, exist_ok=True)

        snapshot, directive = page.locator("[data-saliency-explorer]").all()
        for root in (snapshot, directive):
            root.evaluate("node => node.explorer.ready")
        # The widget's own output, drawn where it was saved: image 3, every method.
        state = snapshot.evaluate("node => node.explorer.selection()")
        assert (state["image"], state["compare"]) == (3, "methods")
        panels = snapshot.locator("canvas.sw-overlay")
        assert panels.count() == 5
        assert snapshot.locator("canvas.sw-pending").count() == 0  # every map was saved
        snapshot.locator("label.sw-thumb").nth(7).click()  # not computed when the page was built
        snapshot.evaluate("node => node.explorer.ready")
        assert snapshot.locator("canvas.sw-pending").count() == 5
        assert "not in this page" in snapshot.locator("figcaption").first.inner_text()
        directive.locator("label.sw-thumb").nth(7).click()
        directive.evaluate("node => node.explorer.ready")
        assert directive.locator("canvas.sw-pending").count() == 0
        page.screenshot(path=str(SHOTS / "docs-widget-page.png"), full_page=True)
        browser.close()
    assert outside == []
    assert missing == []
    assert errors == []
