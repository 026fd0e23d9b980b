"""Explorers in a real browser (chromium via Playwright), opened over ``file://``.

Every test checks the canvases against the kernel-side render of the same selection
(:func:`saliency_widgets.display.overlay` of the stored map: see ``explorer_pages.py``), and
that the page logged no error and made no request.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from explorer_pages import (
    assert_drawn_as_kernel,
    browser_page,
    canvases,
    click_through,
    payload,
    roots,
    settle,
)

from saliency_widgets import display, explorer

BUILD = Path(__file__).resolve().parents[2] / "build" / "explorer"


@pytest.fixture(scope="module")
def two_explorers(bundled_data, tmp_path_factory) -> Path:
    """A page with two explorers of different data and options."""
    second = explorer.ExplorerData(**{**bundled_data.__dict__, "methods": bundled_data.methods[1:]})
    body = explorer.fragment(bundled_data) + explorer.fragment(
        second, cmap="viridis", alpha=0.45, sign="positive"
    )
    path = tmp_path_factory.mktemp("explorer") / "two.html"
    path.write_text(explorer.page(body, "Two explorers"), encoding="utf-8")
    return path


def test_exported_page_draws_what_the_kernel_draws_after_every_click(two_explorers, bundled_data):
    with browser_page() as (page, watch):
        page.goto(two_explorers.as_uri())
        first, second = roots(page)
        state = assert_drawn_as_kernel(first)
        # The first view, against the maps as computed in Python (not decoded from the page).
        shown = explorer.shown_maps(bundled_data)["gradients"][0, 0]
        expected = display.outline(
            display.overlay(bundled_data.images[0], shown), bundled_data.masks[0]
        )
        np.testing.assert_array_equal(canvases(first)[0], expected)
        assert state["classIndex"] == int(bundled_data.indices[0, 0])
        BUILD.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(BUILD / "file-two-explorers.png"), full_page=True)
        before = canvases(second)
        click_through(page, first)
        page.screenshot(path=str(BUILD / "file-after-clicks.png"), full_page=True)
        # The second explorer kept its own selection and pixels.
        assert settle(second)["image"] == 0 and settle(second)["cmap"] == "viridis"
        assert all((a == b).all() for a, b in zip(canvases(second), before, strict=True))
        click_through(page, second)
        assert settle(first)["compare"] == "methods" and settle(first)["image"] == 3
    assert watch.errors == [] and watch.requests == []


def _focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement;
            const root = e.closest('[data-saliency-explorer]');
            const all = [...document.querySelectorAll('[data-saliency-explorer]')];
            return {tag: e.tagName, type: e.type || '', name: e.name || '',
                    control: e.dataset.control || '', explorer: all.indexOf(root),
                    label: e.getAttribute('aria-label') || ''}; }"""
    )


def test_keyboard_alone_reaches_and_works_every_control(two_explorers):
    with browser_page() as (page, watch):
        page.goto(two_explorers.as_uri())
        first, _ = roots(page)
        page.keyboard.press("Tab")  # the first Tab stop of the page is the image picker
        focus = _focused(page)
        assert focus["explorer"] == 0 and focus["name"].endswith("-image"), focus
        assert "predicted" in focus["label"]  # the thumbnail's text alternative
        page.keyboard.press("ArrowRight")
        assert settle(first)["image"] == 1
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowLeft")
        assert settle(first)["image"] == 1
        # The trust panel beside the maps comes first (its sanity button), then the controls.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "sw-sanity-button"
        visited = []
        for _ in range(9):
            page.keyboard.press("Tab")
            focus = _focused(page)
            visited.append(focus["control"] or focus["name"].rsplit("-", 1)[-1] or focus["type"])
        assert visited == [
            "class", "text", "method", "sign", "cmap", "blend", "alpha", "clip", "compare",
        ]  # fmt: skip
        # Shift+Tab back through each control and change it with the arrow keys.
        page.keyboard.press("ArrowDown")  # compare: single -> classes
        assert settle(first)["compare"] == "classes"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowLeft")  # clip 99 -> 98.5
        assert settle(first)["clip"] == 98.5
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowLeft")  # opacity 0.60 -> 0.55
        assert settle(first)["alpha"] == 0.55
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowDown")  # blend heat -> mask
        assert settle(first)["blend"] == "mask"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowDown")  # cmap inferno -> magma
        assert settle(first)["cmap"] == "magma"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowRight")  # sign absolute -> positive
        assert settle(first)["sign"] == "positive"
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowDown")  # method gradients -> gradcam
        assert settle(first)["method"] == "gradcam"
        page.keyboard.press("Shift+Tab")  # the box for typing a class
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowDown")  # class: the next of the top classes
        state = settle(first)
        assert state["classIndex"] == payload(first)["predictions"]["top"][1][1]
        assert _focused(page)["name"].endswith("-class")  # focus stays on the class picker
        assert_drawn_as_kernel(first)
    assert watch.errors == [] and watch.requests == []


def test_an_nbconvert_export_shows_a_working_explorer(bundled_data, tmp_path):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("widget.to_html()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": explorer.fragment(bundled_data)})
    ]
    notebook.cells = [nbformat.v4.new_markdown_cell("# Exported"), cell]
    source = tmp_path / "exported.ipynb"
    nbformat.write(notebook, source)
    result = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with browser_page() as (page, watch):
        page.goto((tmp_path / "exported.html").as_uri())
        (root,) = roots(page)
        root.locator("label.sw-thumb").nth(2).click()
        root.locator(".sw-signs input[value=negative]").check()
        assert assert_drawn_as_kernel(root)["image"] == 2
        page.screenshot(path=str(BUILD / "nbconvert.png"), full_page=True)
    # nbconvert's own template asks CDNs for require.js and MathJax (aborted here, as they
    # would be offline); the explorer asks for nothing and works without them.
    print("nbconvert template requests:", watch.requests)
    assert all("explorer" not in url for url in watch.requests)
    assert [e for e in watch.errors if "Failed to load resource" not in e] == []
    assert len(watch.errors) <= len(watch.requests)


def test_a_thousand_images_page_through_by_click_and_key(tmp_path):
    rng = np.random.default_rng(5)
    count = 1000
    data = explorer.ExplorerData(
        images=tuple(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(count)),
        names=tuple(f"img{i}" for i in range(count)),
        labels=None,
        class_names=("a", "b", "c"),
        indices=np.tile([2, 0], (count, 1)),
        probabilities=np.tile([0.7, 0.2], (count, 1)),
        activation="softmax",
        methods=(
            explorer.MethodMaps("gradients", "Vanilla gradient", rng.normal(size=(count, 2, 8, 8))),
        ),
    )
    path = tmp_path / "thousand.html"
    path.write_text(explorer.page(explorer.fragment(data, per_page=48)), encoding="utf-8")
    with browser_page() as (page, watch):
        page.goto(path.as_uri())
        (root,) = roots(page)
        assert root.locator("label.sw-thumb").count() == 48  # one page in the document
        assert root.locator(".sw-page").inner_text() == "1–48 of 1000"
        root.locator(".sw-next-page").click()
        assert root.locator(".sw-page").inner_text() == "49–96 of 1000"
        root.locator("label.sw-thumb").nth(47).click()
        assert settle(root)["image"] == 95
        root.locator("label.sw-thumb input").nth(47).press("ArrowRight")  # on to the next page
        assert settle(root)["image"] == 96
        assert root.locator(".sw-page").inner_text() == "97–144 of 1000"
        assert _focused(page)["name"].endswith("-image")
        root.evaluate("node => node.explorer.select({image: 999})")
        assert root.locator(".sw-page").inner_text() == "961–1000 of 1000"
        assert assert_drawn_as_kernel(root)["image"] == 999
    assert watch.errors == [] and watch.requests == []


def test_save_png_downloads_the_figures_on_screen(two_explorers, tmp_path):
    from PIL import Image

    with browser_page() as (page, watch):
        page.goto(two_explorers.as_uri())
        first, _ = roots(page)
        state = settle(first)
        with page.expect_download() as download:
            first.locator("button.sw-export").click()
        saved = tmp_path / "view.png"
        download.value.save_as(saved)
        assert download.value.suggested_filename == (
            f"saliency-image0-class{state['classIndex']}-gradients.png"
        )
        picture = np.asarray(Image.open(saved).convert("RGB"))
        # Image and overlay side by side, enlarged by whole pixels, a caption below.
        scale = 256 // 64
        assert picture.shape[1] == (64 + 8 + 64) * scale
        overlay = picture[: 64 * scale : scale, (64 + 8) * scale :: scale]
        np.testing.assert_array_equal(overlay, canvases(first)[0])
    assert watch.errors == [] and watch.requests == []


def test_the_true_objects_outline_is_drawn_where_the_mask_ends(two_explorers, bundled_data):
    with browser_page() as (page, watch):
        page.goto(two_explorers.as_uri())
        first, _ = roots(page)
        assert settle(first)["outline"] is True
        with_outline = canvases(first)[0]
        first.locator("input[data-control=outline]").uncheck()
        without = canvases(first)[0]
        changed = (with_outline != without).any(axis=-1)
        mask = bundled_data.masks[0]
        inside = np.pad(mask, 1)
        interior = inside[1:-1, 1:-1] & inside[:-2, 1:-1] & inside[2:, 1:-1]
        interior &= inside[1:-1, :-2] & inside[1:-1, 2:]
        boundary = mask & ~interior
        assert boundary.sum() > 20
        assert (with_outline[boundary] == display.OUTLINE_COLOUR).all()
        assert not changed[~boundary].any()  # nothing else moved
    assert watch.errors == [] and watch.requests == []
