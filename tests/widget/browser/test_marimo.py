"""The widget in a marimo app (``mo.ui.anywidget``), served by ``marimo run``, in a real chromium.

The app (written here) shows a ``SaliencyWidget`` of the bundled model and, below it, a button
whose cell prints the kernel's side as JSON: the widget's selection, how many custom messages
its views sent, and the quantised map of the selection as sent to the browser. Every canvas is
compared with :func:`saliency_widgets.display.overlay` of that map, pixel for pixel.

marimo draws an anywidget inside a shadow root: Playwright's CSS locators pierce it,
``document.querySelector`` does not. marimo's front end sends a widget's trait changes and custom
messages to the kernel as ``POST /api/kernel/set_model_value`` requests (not over its WebSocket),
which the page's request log counts.
"""

from __future__ import annotations

import base64
import json
import random
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jupyter_harness as harness
import numpy as np
import pytest
from quickstart_widget import VIEW

from saliency_widgets import display, zoo

pytestmark = pytest.mark.slow

ROOT = "[data-saliency-widget]"
IMAGES = 16
CLASS_ROWS = 5
APP = (
    """\
import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import base64
    import html
    import json

    import marimo as mo

    from saliency_widgets import explorer, zoo
    from saliency_widgets.widget import SaliencyWidget

"""
    + textwrap.indent(harness.BUNDLED_WIDGET, "    ")
    + """\
    mo.ui.anywidget(widget)
    return base64, explorer, html, json, mo, widget


@app.cell
def _(mo):
    probe = mo.ui.button(label="kernel state", value=0, on_click=lambda n: n + 1)
    probe
    return (probe,)


@app.cell
def _(base64, explorer, html, json, mo, probe, widget):
    widget.wait(120)
    _selection = widget.selection
    _key = (_selection["image"], _selection["class_index"], _selection["method"])
    _levels, _ = explorer.signed_bytes(widget._state.cache.get(_key)[None], 127)
    _state = {
        "clicks": probe.value,
        "selection": _selection,
        "received": widget._link.received,
        "top": widget.predictions["top"],
        "levels": base64.b64encode(_levels).decode(),
    }
    mo.Html(f"<pre data-kernel-state>{html.escape(json.dumps(_state))}</pre>")
    return
"""
)


@dataclass
class MarimoView:
    """The app's widget open in chromium, and the kernel's side read through the probe cell."""

    page: object
    widget: object
    console: harness.Console
    posts: list[str] = field(default_factory=list)
    clicks: int = 0

    def kernel_state(self) -> dict:
        """Clicks the probe button and returns what its cell prints once it has run again."""
        self.clicks += 1
        self.page.locator("button", has_text="kernel state").click()
        output = self.page.locator("pre[data-kernel-state]")
        self.page.wait_for_function(
            """([node, clicks]) => {
                try { return JSON.parse(node.textContent).clicks === clicks; }
                catch (error) { return false; }
            }""",
            arg=[output.element_handle(), self.clicks],
            timeout=180_000,
            polling=100,
        )
        return json.loads(output.text_content())

    def wait_for_view(self, image: int, class_index: int) -> dict:
        """Waits until the view draws the map of (image, class), then checks its pixels against
        ``display.overlay`` of the kernel's map of its selection; returns the view's state."""
        harness.wait_for_view(self.page, self.widget, image, class_index)
        shown = self.widget.evaluate(VIEW)
        kernel = self.kernel_state()
        state = shown["state"]
        assert kernel["selection"] == {
            "image": state["image"],
            "class_index": state["classIndex"],
            "method": state["method"],
        }
        levels = np.frombuffer(base64.b64decode(kernel["levels"]), np.int8).astype(float)
        picture = display.to_rgb(zoo.load_samples(IMAGES).images[state["image"]])
        expected = display.overlay(
            picture,
            levels.reshape(picture.shape[:2]),
            state["alpha"],
            state["cmap"],
            blend=state["blend"],
            clip=state["clip"],
            sign=state["sign"],
        )
        if state["outline"]:
            expected = display.outline(expected, zoo.load_samples(IMAGES).masks[state["image"]])
        pixels = np.frombuffer(base64.b64decode(shown["pixels"]), np.uint8)
        assert [shown["height"], shown["width"], 3] == list(expected.shape)
        assert np.array_equal(pixels, expected.ravel()), "the canvas is not the kernel's map"
        return state

    def canvas(self) -> str:
        return self.widget.evaluate(VIEW)["pixels"]


def _marimo_env(home: Path) -> dict[str, str]:
    """marimo's config, cache and state under ``home``; no update check (the network is closed)."""
    folders = {
        name: home / name.lower()
        for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        **{name: str(folder) for name, folder in folders.items()},
        "MARIMO_SKIP_UPDATE_CHECK": "1",
    }


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory, logs) -> Iterator[harness.Server]:
    home = tmp_path_factory.mktemp("marimo")
    dirs = {name: home / name for name in ("config", "data", "runtime", "root")}
    for folder in dirs.values():
        folder.mkdir()
    (dirs["root"] / "app.py").write_text(APP)
    port = harness.free_port()
    server = harness.Server(
        ["marimo", "run", "app.py", "--headless", "--host", "127.0.0.1", "--port", str(port)],
        port,
        dirs,
        logs / "marimo.log",
        env=_marimo_env(home / "home"),
    )
    try:
        server.wait_until_up("/health")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def session(browser, marimo_app, artefacts) -> Iterator[MarimoView]:
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    try:
        page.goto(marimo_app.url)
        widget = page.locator(ROOT).first
        widget.wait_for(state="visible", timeout=harness.KERNEL_TIMEOUT_MS)
        yield MarimoView(page, widget, console, posts)
    finally:
        page.screenshot(path=str(artefacts / "marimo-final.png"), full_page=True)
        context.close()


def test_the_widget_renders_in_a_marimo_app(session, artefacts):
    kernel = session.kernel_state()
    assert kernel["selection"] == {
        "image": 0,
        "class_index": kernel["top"][0][0],
        "method": "gradients",
    }
    session.wait_for_view(0, kernel["top"][0][0])
    widget = session.widget
    assert widget.locator("label.sw-thumb").count() == IMAGES
    names = zoo.class_names()
    shown = widget.locator("label.sw-class .sw-name")
    assert [shown.nth(i).inner_text() for i in range(CLASS_ROWS)] == [
        names[c] for c in kernel["top"][0][:CLASS_ROWS]
    ]
    assert "Ready" in widget.locator(".sw-status").inner_text()
    assert "≥" in widget.locator(".sw-bar-high").inner_text()
    assert widget.locator(".sw-body").bounding_box()["width"] > 600  # the explorer's layout
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(artefacts / "marimo-widget.png"))


def test_a_class_click_then_a_thumbnail_click_show_their_maps(session):
    top = session.kernel_state()["top"]
    image = session.widget.evaluate("(root) => root.explorer.state.image")
    before = session.canvas()
    posts = len(session.posts)
    session.widget.locator("label.sw-class").nth(2).click()
    state = session.wait_for_view(image, top[image][2])
    assert state["classIndex"] == top[image][2]
    after_class = session.canvas()
    assert after_class != before
    # The selection went to the kernel the way marimo sends a widget's changes (the request
    # the cosmetic test counts)
    assert any("/api/kernel/set_model_value" in url for url in session.posts[posts:])
    session.widget.locator("label.sw-thumb").nth(7).click()
    assert session.wait_for_view(7, top[7][0])["image"] == 7
    assert session.canvas() not in (before, after_class)


def test_50_random_rapid_clicks_end_on_the_last_selection(session, artefacts):
    top = session.kernel_state()["top"]
    state = session.widget.evaluate("(root) => root.explorer.selection()")
    image, class_index = state["image"], state["classIndex"]
    thumbs = session.widget.locator("label.sw-thumb")
    classes = session.widget.locator("label.sw-class")
    rng = random.Random(50_505)
    for _ in range(50):
        if rng.random() < 0.6:
            clicked = rng.randrange(IMAGES)
            thumbs.nth(clicked).click(timeout=30_000)
            if clicked != image:
                image, class_index = clicked, top[clicked][0]
        else:
            row = rng.randrange(CLASS_ROWS)
            classes.nth(row).click(timeout=30_000)
            class_index = top[image][row]
    session.wait_for_view(image, class_index)  # the kernel's selection too
    session.widget.screenshot(path=str(artefacts / "marimo-after-50-clicks.png"))


def test_cosmetic_changes_change_pixels_and_send_nothing_to_the_kernel(session):
    before = session.kernel_state()
    selection = before["selection"]
    posts = len(session.posts)
    pixels = session.canvas()
    root = session.widget
    root.locator(".sw-signs input[value=positive]").check()
    root.locator("select[data-control=cmap]").select_option("viridis")
    root.locator("select[data-control=blend]").select_option("mask")
    root.locator("input[data-control=alpha]").fill("0.8")
    root.locator("input[data-control=clip]").fill("95")
    state = root.evaluate("(root) => root.explorer.ready.then(() => root.explorer.selection())")
    assert (state["sign"], state["cmap"], state["blend"]) == ("positive", "viridis", "mask")
    assert (state["alpha"], state["clip"]) == (0.8, 95)
    assert session.canvas() != pixels
    sent = [url for url in session.posts[posts:] if "/api/kernel/set_model_value" in url]
    assert sent == [], "a cosmetic change reached the kernel"
    after = session.wait_for_view(selection["image"], selection["class_index"])
    assert after["cmap"] == "viridis"
    kernel = session.kernel_state()
    assert kernel["received"] == before["received"] and kernel["selection"] == selection


def test_no_javascript_errors_and_nothing_fetched_off_the_machine(session):
    assert session.console.errors == []
    # marimo's own front end included: its fonts and scripts are served by the app.
    assert session.page.off_host_requests == []
