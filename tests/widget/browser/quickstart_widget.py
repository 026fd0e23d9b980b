"""The quickstart notebook's ``SaliencyWidget`` as a user sees it in JupyterLab or Notebook 7.

Shared by ``test_jupyterlab.py`` and ``test_notebook7.py``: both front ends are built from
JupyterLab's packages, so one driver opens the notebook, runs it, clicks the widget and compares
what the page shows with what the kernel reports (through a :class:`~jupyter_harness.KernelProbe`).
"""

from __future__ import annotations

import base64
import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jupyter_harness as harness
import numpy as np

from saliency_widgets import zoo

NOTEBOOK = "quickstart.ipynb"
THUMBNAILS = 24
"""Thumbnails on the widget's first page (the notebook shows 32 images)."""
CLASS_ROWS = 5
"""Class buttons whose order is the model's top 5 for the selected image."""
WAIT = "import base64, json\nfrom saliency_widgets.widget.testing import shown\nwidget.wait(120)"
STATE = """json.dumps({
    "selection": widget.selection,
    "probabilities": widget.probabilities.tolist(),
    "detail": shown(widget).overlay.detail,
    "overlay": base64.b64encode(shown(widget).overlay.png).decode(),
})"""


@dataclass
class QuickstartView:
    """The first ``SaliencyWidget`` of the quickstart notebook, open in a browser page."""

    page: object
    widget: object
    probe: harness.KernelProbe
    console: harness.Console

    def kernel_state(self) -> dict:
        """The widget's selection, probabilities, view description and overlay PNG (base64) as
        the kernel has them once its maps are computed; ``top`` ranks the classes per image."""
        state = self.probe.json(WAIT, STATE)
        state["top"] = np.argsort(-np.asarray(state["probabilities"]), axis=1, kind="stable")
        return state

    def overlay(self) -> object:
        """The ``<img>`` of the displayed map."""
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
        # The picture and its title are two widgets: the browser may apply them a moment apart.
        deadline = time.monotonic() + 20
        shown = harness.image_bytes(self.overlay())
        while shown != wanted and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = harness.image_bytes(self.overlay())
        return shown, state

    def click_randomly(self, clicks: int, seed: int) -> tuple[int, int]:
        """Clicks thumbnails (60 %) and class buttons at random, as fast as the page takes them.

        Returns:
            The (image, class index) the last click selects: a new image shows its predicted
            class, a class button picks that rank of the current image's top classes.
        """
        state = self.kernel_state()
        top = state["top"]
        image, class_index = state["selection"]["image"], state["selection"]["class_index"]
        thumbs = self.widget.locator("button.sw-thumb")
        classes = self.widget.locator("button.sw-class")
        rng = random.Random(seed)
        for _ in range(clicks):
            if rng.random() < 0.6:
                clicked = rng.randrange(THUMBNAILS)
                thumbs.nth(clicked).click(timeout=30_000)
                if clicked != image:
                    image, class_index = clicked, int(top[clicked][0])
            else:
                row = rng.randrange(CLASS_ROWS)
                classes.nth(row).click(timeout=30_000)
                class_index = int(top[image][row])
        return image, class_index

    def check_first_view(self, screenshot: Path) -> None:
        """Asserts the notebook's first view: image 5, class 2, thumbnails, top-5 class names,
        and the browser's overlay equal to the kernel's; saves the widget to ``screenshot``."""
        state = self.kernel_state()
        assert state["selection"] == {"image": 5, "class_index": 2, "method": "gradients"}
        assert self.widget.locator("button.sw-thumb").count() == THUMBNAILS  # page 1 of 32
        assert self.widget.locator("text=page 1 / 2").count() == 1
        assert "Ready" in self.widget.locator(".sw-status").inner_text()
        shown, state = self.wait_for_view(5, 2)
        assert shown == base64.b64decode(state["overlay"])
        assert len(shown) > 1000 and shown.startswith(b"\x89PNG")
        classes = self.widget.locator("button.sw-class")
        names = zoo.class_names()
        top = state["top"][5][:CLASS_ROWS]
        assert [classes.nth(i).inner_text() for i in range(CLASS_ROWS)] == [names[c] for c in top]
        self.widget.scroll_into_view_if_needed()
        self.widget.screenshot(path=str(screenshot))

    def check_thumbnail_then_class(self, image: int, row: int) -> None:
        """Clicks thumbnail ``image``, then class button ``row``: each click changes the map,
        and the browser then shows exactly the kernel's selection and overlay."""
        state = self.kernel_state()
        before = harness.image_bytes(self.overlay())
        self.widget.locator("button.sw-thumb").nth(image).click()
        top = state["top"][image]
        after_thumbnail, state = self.wait_for_view(image, int(top[0]))
        assert after_thumbnail != before
        assert state["selection"]["image"] == image
        assert after_thumbnail == base64.b64decode(state["overlay"])

        self.widget.locator("button.sw-class").nth(row).click()
        after_class, state = self.wait_for_view(image, int(top[row]))
        assert after_class not in (before, after_thumbnail)
        expected = {"image": image, "class_index": int(top[row]), "method": "gradients"}
        assert state["selection"] == expected
        assert after_class == base64.b64decode(state["overlay"])

    def check_rapid_clicks(self, clicks: int, seed: int, screenshot: Path) -> None:
        """``clicks`` random rapid clicks end with the view (page and kernel) on the last one."""
        image, class_index = self.click_randomly(clicks, seed)
        shown, state = self.wait_for_view(image, class_index)
        expected = {"image": image, "class_index": class_index, "method": "gradients"}
        assert state["selection"] == expected
        assert shown == base64.b64decode(state["overlay"])
        self.widget.screenshot(path=str(screenshot))


@contextmanager
def open_quickstart(
    browser: object,
    server: harness.Server,
    screenshot: Path,
    known_errors: Sequence[re.Pattern[str]] = (),
) -> Iterator[QuickstartView]:
    """Opens the quickstart notebook in ``server``'s front end, runs all its cells and yields
    its first widget; the whole page is saved to ``screenshot`` at the end.

    Args:
        browser: Playwright's chromium (:func:`jupyter_harness.launch_chromium`).
        server: JupyterLab or Notebook 7 (:func:`jupyter_harness.start_lab`,
            :func:`jupyter_harness.start_notebook`).
        screenshot: Where the final page goes (PNG).
        known_errors: Passed to :class:`jupyter_harness.Console`.
    """
    context, page = harness.new_page(browser)
    console = harness.Console(page, known_errors)
    harness.open_notebook(page, server, NOTEBOOK)
    errors = harness.run_all_cells(page)
    assert errors == [], f"the quickstart notebook raised: {errors}"
    widget = page.locator(".saliency-widget").first
    widget.wait_for(state="visible")
    probe = harness.KernelProbe(server, NOTEBOOK)
    try:
        yield QuickstartView(page, widget, probe, console)
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        probe.close()
        context.close()
