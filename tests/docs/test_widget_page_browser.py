"""A real browser opens the built widget page, offline, and finds the widget drawn.

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

        widget = page.locator(".saliency-widget")
        widget.first.wait_for(state="visible", timeout=60_000)
        pictures = widget.locator("img")
        assert pictures.count() >= 17  # 16 thumbnails and the main view
        page.wait_for_function(
            "() => [...document.querySelectorAll('.saliency-widget img')]"
            ".every(img => img.complete && img.naturalWidth > 0)",
            timeout=30_000,
        )
        sizes = pictures.evaluate_all("(imgs) => imgs.map(img => img.naturalWidth)")
        assert max(sizes) >= 128
        methods = widget.locator("select").first
        assert methods.evaluate("s => s.options[s.selectedIndex].text") == "SmoothGrad"
        assert "image 6 of 16" in widget.first.inner_text()
        icons = page.evaluate(
            "() => document.fonts.check('12px \"Font Awesome 5 Free\"') "
            "|| [...document.fonts].some(f => f.family.includes('Font Awesome')"
            " && f.status === 'loaded')"
        )
        browser.close()
    assert outside == []
    assert missing == []
    assert errors == []
    assert icons
