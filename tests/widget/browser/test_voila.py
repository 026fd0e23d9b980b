"""notebooks/quickstart.ipynb as a Voila app in a real chromium: the widget renders, a thumbnail
click and a class click change the drawn map, and the page logs no JavaScript error."""

from __future__ import annotations

import jupyter_harness as harness

ROOT = "[data-saliency-widget]"
READY = """([selector, image, index]) => {
    const root = document.querySelector(selector);
    const state = root && root.explorer && root.explorer.state;
    return Boolean(state) && state.image === image && (index === null || state.classIndex === index)
        && root.dataset.pending === 'false';
}"""
PIXELS = """(root) => root.explorer.ready.then(() => {
    const canvas = root.querySelector('canvas.sw-overlay');
    return Array.from(canvas.getContext('2d').getImageData(0, 0, 64, 64).data);
})"""


def wait_for(page, image: int, class_index: int | None = None) -> dict:
    page.wait_for_function(READY, arg=[ROOT, image, class_index], timeout=120_000, polling=50)
    return page.locator(ROOT).first.evaluate("(root) => root.explorer.selection()")


def test_quickstart_runs_as_a_voila_app(browser, jupyter_home, logs, artefacts):
    server = harness.start_voila(jupyter_home, "quickstart.ipynb", logs / "voila.log")
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    try:
        page.goto(server.url, timeout=harness.KERNEL_TIMEOUT_MS)  # Voila runs every cell first
        widget = page.locator(ROOT).first
        widget.wait_for(state="visible", timeout=harness.KERNEL_TIMEOUT_MS)
        first = wait_for(page, 5, 2)  # where the notebook left it
        before = widget.evaluate(PIXELS)
        assert widget.locator("label.sw-thumb").count() == 24
        assert first["method"] == "gradients"

        widget.locator("label.sw-thumb").nth(3).click()
        after_thumbnail = wait_for(page, 3)
        thumbnail_pixels = widget.evaluate(PIXELS)
        assert thumbnail_pixels != before

        second = widget.locator("label.sw-class").nth(1)
        index = int(second.get_attribute("data-class"))
        second.click()
        after_class = wait_for(page, 3, index)
        assert after_class["classIndex"] != after_thumbnail["classIndex"]
        assert widget.evaluate(PIXELS) not in (before, thumbnail_pixels)
        page.screenshot(path=str(artefacts / "voila-quickstart.png"), full_page=True)
        assert console.errors == []
        assert all("fontawesome" in url for url in page.off_host_requests)
    finally:
        context.close()
        server.stop()
