"""The trust panel and the "all methods" ranking of a static explorer, in chromium.

The page holds every map's figures (``metrics=True``) and sanity checks (``sanity=True``): the
panel must print the figures the page stores, draw the curves they stand for, and the ranking
must order the methods by the figure picked.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from explorer_pages import browser_page, payload, roots, settle

from saliency_widgets import explorer, zoo

BUILD = Path(__file__).resolve().parents[2] / "build" / "explorer"
PANEL = ".sw-trust-panel[data-state='ready']"


@pytest.fixture(scope="module")
def scored_page(tmp_path_factory) -> Path:
    """Four bundled images, top-3, three methods (one with a completeness gap), scored and checked,
    and a second explorer of the same data without sanity checks."""
    samples = zoo.load_samples(4)
    data = explorer.explain_top_k(
        zoo.load_shapes_model(),
        samples.images,
        zoo.preprocess(samples.images),
        methods=["gradients", "gradcam", "input_x_gradient"],
        top_k=3,
        class_names=zoo.class_names(),
        labels=samples.labels,
        masks=samples.masks,
        metrics=True,
        sanity=True,
    )
    unchecked = explorer.ExplorerData(**{**data.__dict__, "sanity": None})
    path = tmp_path_factory.mktemp("trust") / "trust.html"
    body = explorer.fragment(data) + explorer.fragment(unchecked)
    path.write_text(explorer.page(body, "Trust panel"), encoding="utf-8")
    return path


def _card(data: dict, image: int, k: int, method: str) -> list:
    return data["scores"]["methods"][method][image][k]


def _gain(data: dict, image: int, k: int, method: str, key: str) -> float | None:
    row, random = _card(data, image, k, method), data["scores"]["random"][image][k]
    return {
        "deletion": random[0] - row[0],
        "insertion": row[1] - random[1],
        "gini": row[2],
        "energy": row[4],
    }[key]


def test_the_panel_prints_and_plots_the_stored_figures(scored_page):
    with browser_page() as (page, watch):
        page.goto(scored_page.as_uri())
        first, second = roots(page)
        data = payload(first)
        state = settle(first)
        k = data["predictions"]["top"][0].index(state["classIndex"])
        panel = first.locator(PANEL)
        panel.wait_for()
        text = panel.inner_text()
        row, random = _card(data, 0, k, "gradients"), data["scores"]["random"][0][k]
        assert f"Deletion AUC {row[0]:.2f} (random {random[0]:.2f})" in text
        deletion_gain = random[0] - row[0]
        word = "better" if deletion_gain >= 0 else "worse"
        assert abs(deletion_gain) >= 0.005  # else the panel says "no better than random"
        assert f"{word} than random by {abs(deletion_gain):.2f}" in text
        assert f"Insertion AUC {row[1]:.2f} (random {random[1]:.2f})" in text
        assert f"Gini {row[2]:.2f}" in text
        assert f"energy in mask {100 * row[4]:.1f}%" in text
        assert "Completeness gap" not in text  # vanilla gradients have none
        check = data["scores"]["sanity"]["methods"]["gradients"][0][k]
        verdict = "does not depend" if abs(check[0]) >= 0.5 else "depends on the model"
        assert verdict in text and f"rank correlation {check[0]:.2f}" in text
        assert "Deletion AUC" in panel.get_attribute("aria-label")
        # Four curves of 17 points each; the map's deletion curve is where the stored one says.
        curves = panel.locator("polyline")
        assert curves.count() == 4
        points = panel.locator("polyline[data-curve='deletion']").get_attribute("points")
        ys = np.array([float(p.split(",")[1]) for p in points.split()])
        stored = explorer.curve_values(row[6], *data["scores"]["range"])
        assert len(ys) == 17 and len(stored) == 17
        expected = 6 + (1 - stored) * (120 - 6 - 18)  # the plot's frame (probability scores)
        np.testing.assert_allclose(ys, expected, atol=0.06)
        # The plot is drawn: its pixels are not one colour.
        shot = panel.locator("svg").screenshot()
        from io import BytesIO

        from PIL import Image

        pixels = np.asarray(Image.open(BytesIO(shot)).convert("RGB"))
        assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 8
        # Input x Gradient: its completeness gap is printed.
        first.evaluate("node => node.explorer.select({method: 'input_x_gradient'})")
        settle(first)
        gap = _card(data, 0, k, "input_x_gradient")[5]
        assert f"Completeness gap {100 * gap:.1f}%" in first.locator(PANEL).inner_text()
        BUILD.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(BUILD / "trust-panel.png"), full_page=False)
        # The page without sanity checks explains what the button needs.
        second.locator(".sw-sanity-button").click()
        assert "needs a live widget" in second.locator(".sw-trust-sanity").inner_text()
    assert watch.errors == [] and watch.requests == []


def test_all_methods_mode_ranks_the_methods_by_the_figure_picked(scored_page):
    with browser_page() as (page, watch):
        page.goto(scored_page.as_uri())
        root = roots(page)[0]
        data = payload(root)
        root.evaluate("node => node.explorer.select({image: 2, compare: 'methods'})")
        state = settle(root)
        k = data["predictions"]["top"][2].index(state["classIndex"])
        ranking = root.locator(".sw-ranking")
        assert ranking.is_visible()
        for key in ("deletion", "insertion", "gini", "energy"):
            root.locator("select[data-control='rank']").select_option(key)
            shown = root.locator(".sw-ranking-list li").evaluate_all(
                "items => items.map((li) => li.dataset.method)"
            )
            values = {m: _gain(data, 2, k, m, key) for m in data["scores"]["methods"]}
            assert shown == sorted(values, key=lambda m: -values[m]), (key, values)
            first = root.locator(".sw-ranking-list li").first.inner_text()
            assert re.search(r"\d", first)
        page.screenshot(path=str(BUILD / "trust-ranking.png"), full_page=False)
    assert watch.errors == [] and watch.requests == []
