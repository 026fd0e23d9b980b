"""notebooks/quickstart.ipynb as a Voila app in a real chromium: the widget renders, a thumbnail
click and a class click change the drawn map, and the page logs no JavaScript error."""

from __future__ import annotations

import jupyter_harness as harness

ROOT = "[data-saliency-widget]"


def test_quickstart_runs_as_a_voila_app(browser, jupyter_home, logs, artefacts):
    server = harness.start_voila(jupyter_home, "quickstart.ipynb", logs / "voila.log")
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    try:
        page.goto(server.url, timeout=harness.KERNEL_TIMEOUT_MS)  # Voila runs every cell first
        widget = page.locator(ROOT).first
        widget.wait_for(state="visible", timeout=harness.KERNEL_TIMEOUT_MS)
        first = harness.wait_for_view(page, widget, 5, 2)  # where the notebook left it
        before = widget.evaluate(harness.PIXELS)
        assert widget.locator("label.sw-thumb").count() == 24
        assert first["method"] == "gradients"

        widget.locator("label.sw-thumb").nth(3).click()
        after_thumbnail = harness.wait_for_view(page, widget, 3)
        thumbnail_pixels = widget.evaluate(harness.PIXELS)
        assert thumbnail_pixels != before

        second = widget.locator("label.sw-class").nth(1)
        index = int(second.get_attribute("data-class"))
        second.click()
        after_class = harness.wait_for_view(page, widget, 3, index)
        assert after_class["classIndex"] != after_thumbnail["classIndex"]
        assert widget.evaluate(harness.PIXELS) not in (before, thumbnail_pixels)
        page.screenshot(path=str(artefacts / "voila-quickstart.png"), full_page=True)
        assert console.errors == []
        assert all("fontawesome" in url for url in page.off_host_requests)
    finally:
        context.close()
        server.stop()
