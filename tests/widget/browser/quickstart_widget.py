"""The quickstart notebook's ``SaliencyWidget`` as a user sees it in JupyterLab or Notebook 7.

Shared by ``test_jupyterlab.py`` and ``test_notebook7.py``: both front ends are built from
JupyterLab's packages, so one driver opens the notebook, runs it, clicks the widget and compares
what the page draws with what the kernel has (through a :class:`~jupyter_harness.KernelProbe`):
the canvas must equal :func:`saliency_widgets.display.overlay` of the kernel's cached map,
quantised as it was sent, pixel for pixel.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jupyter_harness as harness
import numpy as np

from saliency_widgets import zoo

NOTEBOOK = "quickstart.ipynb"
ROOT = "[data-saliency-widget]"
THUMBNAILS = 24
"""Thumbnails on the widget's first page (the notebook shows 32 images)."""
CLASS_ROWS = 5
"""Class rows, the model's top 5 for the selected image."""
REFERENCE = '''
import base64, json
import numpy as np
from saliency_widgets import display, explorer
from saliency_widgets.widget.testing import View

def _sw_reference(state):
    """The overlay the browser must draw for its state, from the kernel's cached map."""
    widget.wait(120)
    key = (state["image"], state["classIndex"], state["method"])
    signed = widget._state.cache.get(key)
    levels, _ = explorer.signed_bytes(signed[None], 127)
    levels = np.frombuffer(levels, np.int8).reshape(signed.shape).astype(float)
    picture = display.overlay(
        widget._catalogue.shown[state["image"]], levels, state["alpha"], state["cmap"],
        blend=state["blend"], clip=state["clip"], sign=state["sign"],
    )
    if state["outline"] and widget._catalogue.masks is not None:
        picture = display.outline(picture, widget._catalogue.masks[state["image"]])
    pixels = base64.b64encode(picture.tobytes()).decode()
    return json.dumps({"shape": picture.shape, "pixels": pixels})
'''
STATE = """json.dumps({
    "selection": widget.selection,
    "top": widget.predictions["top"],
    "received": widget._link.received,
})"""
VIEW = """(root) => root.explorer.ready.then(() => {
    const canvas = root.querySelector('canvas.sw-overlay');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let text = '';
    for (let i = 0; i < data.length; i += 4) {
        text += String.fromCharCode(data[i], data[i + 1], data[i + 2]);
    }
    return {state: root.explorer.selection(), width: canvas.width, height: canvas.height,
            pixels: btoa(text), pending: root.dataset.pending};
})"""


@dataclass
class QuickstartView:
    """The first ``SaliencyWidget`` of the quickstart notebook, open in a browser page."""

    page: object
    widget: object
    probe: harness.KernelProbe
    console: harness.Console

    def kernel_state(self) -> dict:
        """The widget's selection, top classes and the number of messages views sent it."""
        return self.probe.json("widget.wait(120)", STATE)

    def wait_for_view(self, image: int, class_index: int) -> dict:
        """Waits until the browser draws the map of (image, class), then checks its pixels.

        Returns:
            The browser view's state.
        """
        for _ in range(5):  # a message landing in between (the kernel's echo of the
            # selection, another class's maps) may start one more draw: wait for it too
            self.page.wait_for_function(
                """([selector, image, index]) => {
                    const root = document.querySelector(selector);
                    const state = root && root.explorer && root.explorer.state;
                    return state && state.image === image && state.classIndex === index
                        && root.dataset.pending === 'false';
                }""",
                arg=[ROOT, image, class_index],
                timeout=120_000,
                polling=50,
            )
            shown = self.widget.evaluate(VIEW)
            if shown["pending"] == "false":
                break
        assert shown["pending"] == "false"
        state = shown["state"]
        wanted = self.probe.json("", f"_sw_reference({state!r})")
        picture = np.frombuffer(base64.b64decode(shown["pixels"]), np.uint8)
        expected = np.frombuffer(base64.b64decode(wanted["pixels"]), np.uint8)
        assert [shown["height"], shown["width"], 3] == wanted["shape"]
        assert np.array_equal(picture, expected), int(np.abs(picture - expected.astype(int)).max())
        return state

    def click_randomly(self, clicks: int, seed: int) -> tuple[int, int]:
        """Clicks thumbnails (60 %) and classes at random, as fast as the page takes them.

        Returns:
            The (image, class index) the last click selects: a new image shows its predicted
            class, a class row picks that rank of the current image's top classes.
        """
        state = self.kernel_state()
        top = state["top"]
        image, class_index = state["selection"]["image"], state["selection"]["class_index"]
        thumbs = self.widget.locator("label.sw-thumb")
        classes = self.widget.locator("label.sw-class")
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
        and the canvas equal to the kernel's map; saves the widget to ``screenshot``."""
        state = self.kernel_state()
        assert state["selection"] == {"image": 5, "class_index": 2, "method": "gradients"}
        self.wait_for_view(5, 2)
        assert self.widget.locator("label.sw-thumb").count() == THUMBNAILS  # page 1 of 32
        assert self.widget.locator(".sw-page").inner_text() == "1–24 of 32"
        assert "Ready" in self.widget.locator(".sw-status").inner_text()
        classes = self.widget.locator("label.sw-class .sw-name")
        names = zoo.class_names()
        top = state["top"][5][:CLASS_ROWS]
        assert [classes.nth(i).inner_text() for i in range(CLASS_ROWS)] == [names[c] for c in top]
        assert "≥" in self.widget.locator(".sw-bar-high").inner_text()  # the colour bar's value
        self.widget.scroll_into_view_if_needed()
        self.widget.screenshot(path=str(screenshot))

    def check_thumbnail_then_class(self, image: int, row: int) -> None:
        """Clicks thumbnail ``image``, then class row ``row``: each click changes the map,
        and the canvas then equals the kernel's map of the selection."""
        top = self.kernel_state()["top"][image]
        self.widget.locator("label.sw-thumb").nth(image).click()
        self.wait_for_view(image, int(top[0]))
        assert self.kernel_state()["selection"]["image"] == image
        self.widget.locator("label.sw-class").nth(row).click()
        self.wait_for_view(image, int(top[row]))
        expected = {"image": image, "class_index": int(top[row]), "method": "gradients"}
        assert self.kernel_state()["selection"] == expected

    def check_cosmetic_changes_stay_in_the_browser(self) -> None:
        """Sign, colour map, blend, opacity, clip, compare and outline send the kernel
        nothing, and each redraw still equals the kernel's reference."""
        before = self.kernel_state()
        root = self.widget
        selection = before["selection"]
        root.locator(".sw-signs input[value=positive]").check()
        root.locator("select[data-control=cmap]").select_option("viridis")
        root.locator("select[data-control=blend]").select_option("mask")
        root.locator("input[data-control=alpha]").fill("0.8")
        root.locator("input[data-control=clip]").fill("95")
        root.locator("input[data-control=outline]").uncheck()
        state = self.wait_for_view(selection["image"], selection["class_index"])
        assert (state["sign"], state["cmap"], state["blend"]) == ("positive", "viridis", "mask")
        assert (state["alpha"], state["clip"], state["outline"]) == (0.8, 95, False)
        root.locator("select[data-control=compare]").select_option("classes")
        root.evaluate("(node) => node.explorer.ready")
        assert root.locator("canvas.sw-overlay").count() == CLASS_ROWS
        root.locator("select[data-control=compare]").select_option("single")
        root.locator(".sw-signs input[value=absolute]").check()
        root.locator("input[data-control=outline]").check()
        self.wait_for_view(selection["image"], selection["class_index"])
        after = self.kernel_state()
        assert after["received"] == before["received"]  # no custom message: nothing to compute
        assert after["selection"] == selection

    def check_rapid_clicks(self, clicks: int, seed: int, screenshot: Path) -> None:
        """``clicks`` random rapid clicks end with the view (page and kernel) on the last one."""
        image, class_index = self.click_randomly(clicks, seed)
        self.wait_for_view(image, class_index)
        expected = {"image": image, "class_index": class_index, "method": "gradients"}
        assert self.kernel_state()["selection"] == expected
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
    widget = page.locator(ROOT).first
    widget.wait_for(state="visible")
    probe = harness.KernelProbe(server, NOTEBOOK)
    probe.json(REFERENCE, "'0'")
    try:
        yield QuickstartView(page, widget, probe, console)
    finally:
        page.screenshot(path=str(screenshot), full_page=True)
        probe.close()
        context.close()
