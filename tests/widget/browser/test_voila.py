"""notebooks/quickstart.ipynb as a Voila app in a real chromium: the widget renders, a thumbnail
click and a class click change the displayed map, and the page logs no JavaScript error."""

from __future__ import annotations

import time

import jupyter_harness as harness

VIEW_TITLE = ".saliency-widget .sw-view-overlay-title span[title]"


def wait_for_ready_view(page, prefix: str, other_than: str = "") -> str:
    """Waits until the first widget shows a ready map described as ``prefix…`` (and not as
    ``other_than``); returns the description."""
    handle = page.wait_for_function(
        """([selector, prefix, old]) => {
            const title = document.querySelector(selector);
            const text = title === null ? '' : title.getAttribute('title');
            return text.startsWith(prefix) && text.endsWith('ready') && text !== old ? text : false;
        }""",
        arg=[VIEW_TITLE, prefix, other_than],
        timeout=120_000,
        polling=50,
    )
    return handle.json_value()


def new_bytes(overlay, old: bytes, timeout: float = 20.0) -> bytes:
    """The overlay's bytes once they differ from ``old`` (the picture and its title are two
    widgets, so the browser may apply their updates a moment apart)."""
    deadline = time.monotonic() + timeout
    shown = harness.image_bytes(overlay)
    while shown == old and time.monotonic() < deadline:
        time.sleep(0.1)
        shown = harness.image_bytes(overlay)
    assert shown != old, "the displayed map did not change"
    return shown


def test_quickstart_runs_as_a_voila_app(browser, jupyter_home, logs, artefacts):
    server = harness.start_voila(jupyter_home, "quickstart.ipynb", logs / "voila.log")
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    try:
        page.goto(server.url, timeout=harness.KERNEL_TIMEOUT_MS)  # Voila runs every cell first
        widget = page.locator(".saliency-widget").first
        widget.wait_for(state="visible", timeout=harness.KERNEL_TIMEOUT_MS)
        first = wait_for_ready_view(page, "image 5 · class 2 ·")  # where the notebook left it
        overlay = widget.locator("img.sw-view-overlay")
        before = harness.image_bytes(overlay)
        assert widget.locator("button.sw-thumb").count() == 24

        widget.locator("button.sw-thumb").nth(3).click()
        after_thumbnail = wait_for_ready_view(page, "image 3 ·", other_than=first)
        thumbnail_bytes = new_bytes(overlay, before)

        widget.locator("button.sw-class").nth(1).click()
        after_class = wait_for_ready_view(page, "image 3 ·", other_than=after_thumbnail)
        assert after_class.split(" · ")[1] != after_thumbnail.split(" · ")[1]  # the class
        class_bytes = new_bytes(overlay, thumbnail_bytes)
        assert class_bytes != before
        page.screenshot(path=str(artefacts / "voila-quickstart.png"), full_page=True)
        assert console.errors == []
        assert all("fontawesome" in url for url in page.off_host_requests)
    finally:
        context.close()
        server.stop()
