"""Built pages with explorers, opened over ``file://`` in chromium, in three Sphinx themes.

The theme's CSS must not break the explorer: after every click its canvases equal the
kernel-side render of the selection (``explorer_pages.py``), the two explorers of the page act
independently, and the page logs no error and makes no request.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from explorer_pages import browser_page, canvases, click_through, roots, settle

BUILD = Path(__file__).resolve().parents[2] / "build" / "explorer"
THEMES = ["alabaster", "furo", "sphinx_rtd_theme"]


@pytest.mark.parametrize("theme", THEMES)
def test_explorers_work_inside_the_theme(project, build, theme):
    # every theme is in the dev extra: a missing one fails here rather than skipping silently
    assert importlib.util.find_spec(theme) is not None, f"{theme} is not installed"
    srcdir = project("saliency-explorer")
    app = build(srcdir, confoverrides={"html_theme": theme})
    page_file = app.outdir / "index.html"
    with browser_page(width=1280, height=1000) as (page, watch):
        page.goto(page_file.as_uri())
        first, second = roots(page)
        page.screenshot(path=str(BUILD / f"docs-{theme}.png"), full_page=True)
        before = canvases(second)
        click_through(page, first)
        assert settle(second)["image"] == 0
        assert all((a == b).all() for a, b in zip(canvases(second), before, strict=True))
        second.locator("label.sw-thumb").nth(2).click()
        assert settle(first)["image"] == 3 and settle(second)["image"] == 2
        width = first.evaluate("node => node.getBoundingClientRect().width")
        assert width > 300  # the theme leaves the explorer room to lay out
    assert watch.errors == [] and watch.requests == []
