"""The quickstart notebook exported with ``jupyter nbconvert --to html``, opened over ``file://``.

A widget output carries the live view (``application/vnd.jupyter.widget-view+json``) and the
static explorer of the widget's state (``text/html``). nbconvert picks the widget view only when
the notebook stores the widget's state (its ``WidgetsDataTypeFilter``); the view then needs
``@jupyter-widgets/html-manager`` from unpkg, and even with it a page has no kernel to send the
images and maps. So:

- executed with ``store_widget_state=False`` (or saved from JupyterLab, whose "Save widget state
  automatically" is off by default), the export shows the static explorer, which draws
  ``display.overlay`` of its stored maps pixel for pixel and asks no server for anything;
- executed with nbclient's default (state stored), the default export shows nothing offline:
  the documented recipe (``docs/widget.rst``) clears the notebook's metadata at export time and
  brings the static explorer back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from explorer_pages import assert_drawn_as_kernel, browser_page, payload, roots
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HTML_MANAGER = "https://unpkg.com/@jupyter-widgets/html-manager@*/dist/embed-amd.js"
TEMPLATE_REQUESTS = ("/require.js/", "/mathjax/")
"""What nbconvert's own template asks cdnjs.cloudflare.com for, on every page it writes."""
RECIPE = (
    "--ClearMetadataPreprocessor.enabled=True",
    "--ClearMetadataPreprocessor.clear_cell_metadata=False",
)
"""The export options docs/widget.rst gives for a notebook that stores its widgets' state."""


def _execute(folder: Path, store_widget_state: bool) -> Path:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=store_widget_state,
    ).execute()
    path = folder / "quickstart.ipynb"
    nbformat.write(notebook, path)
    return path


def _export(notebook: Path, name: str, *options: str) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "nbconvert", "--to", "html", *options, "--output", name, notebook],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return notebook.parent / f"{name}.html"


@pytest.fixture(scope="module")
def without_state(tmp_path_factory) -> Path:
    return _execute(tmp_path_factory.mktemp("without-state"), store_widget_state=False)


@pytest.fixture(scope="module")
def with_state(tmp_path_factory) -> Path:
    return _execute(tmp_path_factory.mktemp("with-state"), store_widget_state=True)


def _widget_outputs(notebook: Path) -> list[dict]:
    cells = nbformat.read(notebook, as_version=4).cells
    return [o for c in cells for o in c.get("outputs", []) if WIDGET_VIEW in o.get("data", {})]


def _only_template_requests(requests: list[str]) -> bool:
    return all(
        url.startswith("https://cdnjs.cloudflare.com/ajax/libs/")
        and any(part in url for part in TEMPLATE_REQUESTS)
        for url in requests
    )


def _check_explorers(page, screenshot: Path) -> None:
    """The two widgets' explorers: each draws its stored map as the kernel does, and the first
    answers clicks (a class, a sign and colour map, an image it holds no maps of, and back)."""
    first, second = roots(page)
    data = payload(first)
    top = data["predictions"]["top"]
    assert first.locator("label.sw-thumb").count() == 24  # the page of the selected image
    state = assert_drawn_as_kernel(first)
    assert (state["image"], state["classIndex"], state["method"]) == (0, top[0][0], "gradients")
    first.locator("label.sw-class").nth(1).click()
    assert assert_drawn_as_kernel(first)["classIndex"] == top[0][1]
    first.locator(".sw-signs input[value=negative]").check()
    first.locator("select[data-control=cmap]").select_option("viridis")
    state = assert_drawn_as_kernel(first)
    assert (state["sign"], state["cmap"], state["classIndex"]) == ("negative", "viridis", top[0][1])
    # The snapshot holds the maps the kernel had computed when the output was made (image 0's,
    # and any prefetched by then); another image says so instead of drawing nothing.
    missing = next(i for i, strip in enumerate(data["maps"]["gradients"]["strips"]) if not strip)
    first.locator("label.sw-thumb").nth(missing).click()
    first.evaluate("(node) => node.explorer.ready")
    assert "(not in this page)" in first.locator("figcaption").last.inner_text()
    first.locator("label.sw-thumb").nth(0).click()
    assert assert_drawn_as_kernel(first)["image"] == 0
    assert assert_drawn_as_kernel(second)["image"] == 0  # the notebook's second widget
    page.screenshot(path=str(screenshot), full_page=True)


def test_without_widget_state_the_export_is_the_static_explorer(without_state, artefacts):
    notebook = nbformat.read(without_state, as_version=4)
    assert "widgets" not in notebook.metadata
    outputs = _widget_outputs(without_state)
    assert len(outputs) == 2 and all("text/html" in o["data"] for o in outputs)
    exported = _export(without_state, "exported")
    with browser_page(1300, 1000) as (page, watch):
        page.goto(exported.as_uri())
        _check_explorers(page, artefacts / "nbconvert-export.png")
    # nbconvert's template asks cdnjs for require.js and MathJax (aborted, as offline); the
    # explorer asks for nothing and works without them.
    assert watch.requests and _only_template_requests(watch.requests), watch.requests
    assert [e for e in watch.errors if "Failed to load resource" not in e] == []


def test_with_widget_state_the_default_export_shows_nothing_offline(with_state, artefacts):
    """What a reader of the default export gets offline: two empty outputs."""
    assert len(_widget_outputs(with_state)) == 2
    exported = _export(with_state, "default")
    with browser_page(1300, 1000) as (page, watch):
        page.goto(exported.as_uri())
        page.wait_for_load_state("load")
        assert page.locator("[data-saliency-explorer]").count() == 0  # text/html not chosen
        views = page.locator(f'script[type="{WIDGET_VIEW}"]')
        assert views.count() == 2
        for i in range(2):
            output = views.nth(i).locator("xpath=..")
            assert output.inner_text().strip() == ""
            assert output.locator("canvas, img").count() == 0
        page.screenshot(path=str(artefacts / "nbconvert-export-with-state.png"), full_page=True)
    assert HTML_MANAGER in watch.requests  # the widget renderer, from a CDN


def test_the_documented_recipe_exports_the_static_explorer_despite_widget_state(
    with_state, artefacts
):
    docs = (REPO / "docs" / "widget.rst").read_text(encoding="utf-8")
    assert " ".join(RECIPE) in " ".join(docs.split())
    exported = _export(with_state, "recipe", *RECIPE)
    with browser_page(1300, 1000) as (page, watch):
        page.goto(exported.as_uri())
        _check_explorers(page, artefacts / "nbconvert-export-recipe.png")
    assert HTML_MANAGER not in watch.requests
    assert watch.requests and _only_template_requests(watch.requests), watch.requests
    assert [e for e in watch.errors if "Failed to load resource" not in e] == []
