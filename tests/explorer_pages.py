"""Drives explorers in chromium (Playwright) and renders their selections kernel-side.

Shared by the explorer's browser tests (exported pages, nbconvert) and the directive's (built
docs pages). The reference of a canvas is :func:`saliency_widgets.display.overlay` of the map
the page stores, decoded here from the page's own data object: the same bytes, the same
arithmetic, so the pixels must agree exactly.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from chromium import ARGS, CHROMIUM
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from saliency_widgets import display
from saliency_widgets.explorer import _encode


@dataclass
class Watch:
    """What a page did that it should not: console errors and requests leaving the page."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@contextmanager
def browser_page(width: int = 1200, height: int = 900) -> Iterator[tuple[Page, Watch]]:
    """A chromium page that records errors and aborts every request but ``file:``/``data:``."""
    watch = Watch()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})

        def route(request_route) -> None:
            url = request_route.request.url
            if url.startswith(("file:", "data:")):
                request_route.continue_()
            else:
                watch.requests.append(url)
                request_route.abort()

        page.route("**/*", route)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
        try:
            yield page, watch
        finally:
            browser.close()


def roots(page: Page) -> list:
    """The mounted explorers of the page, waiting until each has drawn."""
    page.wait_for_selector("[data-saliency-explorer][data-drawn]", timeout=30_000)
    found = page.locator("[data-saliency-explorer]")
    for i in range(found.count()):
        found.nth(i).evaluate("node => node.explorer.ready")
    return [found.nth(i) for i in range(found.count())]


def settle(root) -> dict:
    """Waits for the explorer's latest drawing and returns its selection."""
    root.evaluate("node => node.explorer.ready")
    return root.evaluate("node => node.explorer.selection()")


def canvases(root) -> list[np.ndarray]:
    """RGB pixels of every overlay canvas of an explorer, in panel order."""
    settle(root)
    found = root.evaluate(
        """node => [...node.querySelectorAll('canvas.sw-overlay')].map(c => ({
            w: c.width, h: c.height,
            data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)}))"""
    )
    return [np.asarray(c["data"], np.uint8).reshape(c["h"], c["w"], 4)[..., :3] for c in found]


def payload(root) -> dict:
    """The explorer's data object (as the page holds it)."""
    return root.evaluate("node => node.explorer.source.data")


def _png(url: str) -> np.ndarray:
    raw = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)))


def stored_map(data: dict, image: int, class_index: int, method: str) -> np.ndarray:
    """The levels a page stores for one map (what its canvas is drawn from)."""
    entry = data["maps"][method]
    classes = data["predictions"]["top"][image]
    assert entry["encoding"] == "zigzag"
    strip = _encode.unzigzag(_png(entry["strips"][image]))
    return strip.reshape(len(classes), -1, strip.shape[1])[classes.index(class_index)]


def reference(data: dict, state: dict, class_index: int | None = None, method: str | None = None):
    """The kernel-side picture of a selection: ``display.overlay`` of the stored map (and
    ``display.outline`` of the mask when the page outlines it)."""
    method = method or state["method"]
    class_index = state["classIndex"] if class_index is None else class_index
    image_index = state["image"]
    saliency = stored_map(data, image_index, class_index, method)
    image = _png(data["images"][image_index])[..., :3]
    picture = display.overlay(
        image,
        saliency,
        state["alpha"],
        state["cmap"],
        blend=state["blend"],
        clip=state["clip"],
        sign=state["sign"],
    )
    if state["outline"] and data.get("masks"):
        mask = _png(data["masks"][image_index]) > 127
        picture = display.outline(picture, mask, tuple(data["meta"]["outlineColour"]))
    return picture


def assert_drawn_as_kernel(root) -> dict:
    """Every panel of the explorer equals its kernel-side render; returns the selection."""
    state = settle(root)
    data = payload(root)
    pictures = canvases(root)
    if state["compare"] == "classes":
        top = data["predictions"]["top"][state["image"]]
        expected = [reference(data, state, class_index=c) for c in top]
    elif state["compare"] == "methods":
        expected = [reference(data, state, method=m["name"]) for m in data["meta"]["methods"]]
    else:
        expected = [reference(data, state)]
    assert len(pictures) == len(expected)
    for picture, wanted in zip(pictures, expected, strict=True):
        difference = np.abs(picture.astype(int) - wanted.astype(int))
        assert difference.max() == 0, (state, int(difference.max()), int((difference > 0).sum()))
    return state


def click_through(page: Page, root) -> None:
    """Clicks a thumbnail, a class, a method, a sign, a colour map, a blend, the opacity, the
    clip, the outline and the compare mode, checking the pixels after each change."""
    root.locator("label.sw-thumb").nth(3).click()
    assert assert_drawn_as_kernel(root)["image"] == 3
    second = payload(root)["predictions"]["top"][3][1]
    root.locator("label.sw-class").nth(1).click()
    assert assert_drawn_as_kernel(root)["classIndex"] == second
    methods = [m["name"] for m in payload(root)["meta"]["methods"]]
    if len(methods) > 1:
        root.locator("select[data-control=method]").select_option(methods[1])
        assert assert_drawn_as_kernel(root)["method"] == methods[1]
    for sign in ("positive", "negative"):
        root.locator(f".sw-signs input[value={sign}]").check()
        assert assert_drawn_as_kernel(root)["sign"] == sign
    root.locator("select[data-control=cmap]").select_option("gray")
    assert assert_drawn_as_kernel(root)["cmap"] == "gray"
    for blend in ("mask", "mask-image", "heat"):
        root.locator("select[data-control=blend]").select_option(blend)
        assert assert_drawn_as_kernel(root)["blend"] == blend
    root.locator("input[data-control=alpha]").fill("0.35")
    assert assert_drawn_as_kernel(root)["alpha"] == 0.35
    root.locator("input[data-control=clip]").fill("95")
    assert assert_drawn_as_kernel(root)["clip"] == 95
    if payload(root)["meta"]["masks"]:
        root.locator("input[data-control=outline]").uncheck()
        assert assert_drawn_as_kernel(root)["outline"] is False
        root.locator("input[data-control=outline]").check()
    for mode in ("classes", "methods"):
        root.locator("select[data-control=compare]").select_option(mode)
        assert assert_drawn_as_kernel(root)["compare"] == mode


__all__ = [
    "ARGS",
    "CHROMIUM",
    "Watch",
    "assert_drawn_as_kernel",
    "browser_page",
    "canvases",
    "click_through",
    "payload",
    "reference",
    "roots",
    "settle",
    "stored_map",
]
