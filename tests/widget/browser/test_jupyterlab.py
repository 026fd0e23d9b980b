"""notebooks/quickstart.ipynb in JupyterLab, driven by a real chromium: clicks change the view,
200 random rapid clicks end on the last selection, and the page logs no JavaScript error."""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import jupyter_harness as harness
import numpy as np
import pytest

from saliency_widgets import zoo

NOTEBOOK = "quickstart.ipynb"
WAIT = "import base64, json\nwidget.wait(120)"
STATE = """json.dumps({
    "selection": widget.selection,
    "probabilities": widget.probabilities.tolist(),
    "detail": widget._ui.overlay_panel.detail,
    "overlay": base64.b64encode(widget._ui.overlay_panel.image.value).decode(),
})"""


@dataclass
class Session:
    page: object
    widget: object
    probe: harness.KernelProbe
    console: harness.Console

    def kernel_state(self) -> dict:
        state = self.probe.json(WAIT, STATE)
        state["top"] = np.argsort(-np.asarray(state["probabilities"]), axis=1, kind="stable")
        return state

    def overlay(self) -> object:
        return self.widget.locator("img.sw-view-overlay")

    def wait_for_view(self, image: int, class_index: int) -> tuple[bytes, dict]:
        """Waits until the browser shows the ready map of (image, class).

        Returns:
            The bytes of the overlay the browser shows (once they equal the kernel's) and the
            kernel's state.
        """
        expected = f"image {image} · class {class_index} · gradients · absolute · ready"
        self.page.wait_for_function(
            """(expected) => {
                const title = document.querySelector(
                    '.saliency-widget .sw-view-overlay-title span[title]');
                return title !== null && title.getAttribute('title') === expected;
            }""",
            arg=expected,
            timeout=120_000,
            polling=50,
        )
        state = self.kernel_state()
        assert state["detail"] == expected
        wanted = base64.b64decode(state["overlay"])
        deadline = time.monotonic() + 20
        shown = harness.image_bytes(self.overlay())
        while shown != wanted and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = harness.image_bytes(self.overlay())
        return shown, state


@pytest.fixture(scope="module")
def session(browser, lab, artefacts) -> Iterator[Session]:
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    harness.open_in_lab(page, lab, NOTEBOOK)
    errors = harness.run_all_cells(page)
    assert errors == [], f"the quickstart notebook raised: {errors}"
    widget = page.locator(".saliency-widget").first
    widget.wait_for(state="visible")
    probe = harness.KernelProbe(lab, NOTEBOOK)
    try:
        yield Session(page, widget, probe, console)
    finally:
        page.screenshot(path=str(artefacts / "jupyterlab-final.png"), full_page=True)
        probe.close()
        context.close()


def test_the_widget_renders_with_its_thumbnails_classes_and_view(session, artefacts):
    state = session.kernel_state()
    assert state["selection"] == {"image": 5, "class_index": 2, "method": "gradients"}
    widget = session.widget
    assert widget.locator("button.sw-thumb").count() == 24  # first page of 32 images
    assert widget.locator("text=page 1 / 2").count() == 1
    assert "Ready" in widget.locator(".sw-status").inner_text()
    shown, state = session.wait_for_view(5, 2)
    assert shown == base64.b64decode(state["overlay"])
    classes = widget.locator("button.sw-class")
    top = state["top"][5]
    names = zoo.class_names()
    assert [classes.nth(i).inner_text() for i in range(5)] == [names[c] for c in top[:5]]
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(artefacts / "jupyterlab-widget.png"))


def test_clicking_a_thumbnail_then_a_class_changes_the_map(session):
    state = session.kernel_state()
    before = harness.image_bytes(session.overlay())
    session.widget.locator("button.sw-thumb").nth(9).click()
    top = state["top"][9]
    after_thumbnail, state = session.wait_for_view(9, int(top[0]))
    assert after_thumbnail != before
    assert state["selection"]["image"] == 9
    assert after_thumbnail == base64.b64decode(state["overlay"])

    session.widget.locator("button.sw-class").nth(2).click()
    after_class, state = session.wait_for_view(9, int(top[2]))
    assert after_class not in (before, after_thumbnail)
    assert state["selection"] == {"image": 9, "class_index": int(top[2]), "method": "gradients"}
    assert after_class == base64.b64decode(state["overlay"])


def test_200_random_rapid_clicks_end_on_the_last_selection(session, artefacts):
    state = session.kernel_state()
    top = state["top"]
    image, class_index = state["selection"]["image"], state["selection"]["class_index"]
    thumbs = session.widget.locator("button.sw-thumb")
    classes = session.widget.locator("button.sw-class")
    rng = random.Random(20_240)
    for _ in range(200):
        if rng.random() < 0.6:
            clicked = rng.randrange(24)
            thumbs.nth(clicked).click(timeout=30_000)
            if clicked != image:  # a new image shows its predicted class
                image, class_index = clicked, int(top[clicked][0])
        else:
            row = rng.randrange(5)
            classes.nth(row).click(timeout=30_000)
            class_index = int(top[image][row])
    shown, state = session.wait_for_view(image, class_index)
    assert state["selection"] == {"image": image, "class_index": class_index, "method": "gradients"}
    assert shown == base64.b64decode(state["overlay"])
    session.widget.screenshot(path=str(artefacts / "jupyterlab-after-200-clicks.png"))


def test_no_javascript_errors_and_nothing_fetched_off_the_machine(session):
    assert session.console.errors == []
    assert session.page.off_host_requests == []
