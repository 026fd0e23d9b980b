"""A notebook with the widget rendered as a documentation page by MyST-NB, opened in chromium.

Two tiny Sphinx projects are built with ``-W`` in a temp dir: one where MyST-NB executes the
notebook (``nb_execution_mode = "force"``), one rendering a notebook executed beforehand by
nbclient (``"off"``). Both use the configuration ``docs/widget.rst`` gives, which makes MyST-NB
render the widget's ``text/html`` output (the static explorer of its state) instead of the
widget view, and load no ipywidgets script from a CDN. The explorer must draw what
:func:`saliency_widgets.display.overlay` draws from its stored maps, answer clicks, and ask
for nothing. Builds with MyST-NB's defaults, with and without widget state, show why the
configuration is needed: MyST-NB renders the widget view either way.
"""

from __future__ import annotations

import os
from pathlib import Path

import jupyter_harness as harness
import nbformat
import pytest
from explorer_pages import assert_drawn_as_kernel, browser_page, payload, roots
from nbclient import NotebookClient
from sphinx.cmd.build import build_main

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
EXPLORER = '<div class="sw-explorer" data-saliency-explorer>'
"""The static explorer's element (:func:`saliency_widgets.explorer.fragment`)."""
CONFIG = """\
extensions = ["myst_nb"]
nb_execution_mode = "{mode}"
nb_execution_timeout = 600
"""
RECIPE = """\
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
"""
"""The lines of ``conf.py`` that docs/widget.rst gives (checked against the page below)."""
CODE = (
    "from saliency_widgets import zoo\n"
    "from saliency_widgets.widget import SaliencyWidget\n\n" + harness.BUNDLED_WIDGET + "widget"
)


def _notebook() -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# The widget on a page\n\nThe bundled model."),
            nbformat.v4.new_code_cell(CODE),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


def _build(root: Path, notebook: nbformat.NotebookNode, config: str) -> Path:
    """Sphinx ``-W`` on a project holding ``index.rst`` and ``widget.ipynb``; its HTML page."""
    source = root / "source"
    source.mkdir(parents=True)
    (source / "conf.py").write_text(config)
    (source / "index.rst").write_text("Docs\n====\n\n.. toctree::\n\n   widget\n")
    nbformat.write(notebook, source / "widget.ipynb")
    # TensorFlow's native start-up notice would land in the page as a stderr output
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    flags = ["-W", "--keep-going", "--no-color", "-b", "html", "-q"]
    assert build_main([*flags, str(source), str(root / "html")]) == 0  # warnings: see stderr
    return root / "html" / "widget.html"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    """The notebook executed by nbclient, which stores the widget's state (its default)."""
    notebook = _notebook()
    folder = tmp_path_factory.mktemp("executed")
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    assert notebook.metadata["widgets"]  # the case MyST-NB adds CDN scripts for
    return notebook


def _check_page(page_path: Path, screenshot: Path) -> None:
    html = page_path.read_text(encoding="utf-8")
    assert f'<script type="{WIDGET_VIEW}">' not in html and EXPLORER in html
    with browser_page(1200, 1000) as (page, watch):
        page.goto(page_path.as_uri())
        (root,) = roots(page)
        top = payload(root)["predictions"]["top"]
        state = assert_drawn_as_kernel(root)
        assert (state["image"], state["classIndex"]) == (0, top[0][0])
        root.locator("label.sw-class").nth(1).click()
        assert assert_drawn_as_kernel(root)["classIndex"] == top[0][1]
        root.locator("select[data-control=blend]").select_option("mask")
        root.locator("input[data-control=clip]").fill("95")
        state = assert_drawn_as_kernel(root)
        assert (state["blend"], state["clip"]) == ("mask", 95)
        assert root.locator("label.sw-thumb").count() == 16
        page.screenshot(path=str(screenshot), full_page=True)
    assert watch.errors == [] and watch.requests == []


def test_a_notebook_executed_by_myst_nb_shows_the_static_explorer(tmp_path, artefacts):
    page = _build(tmp_path, _notebook(), CONFIG.format(mode="force") + RECIPE)
    _check_page(page, artefacts / "myst-nb-executed.png")


def test_a_pre_executed_notebook_shows_the_static_explorer(executed, tmp_path, artefacts):
    page = _build(tmp_path, executed, CONFIG.format(mode="off") + RECIPE)
    _check_page(page, artefacts / "myst-nb-pre-executed.png")


def test_myst_nb_defaults_pick_the_widget_view_with_or_without_widget_state(executed, tmp_path):
    """Why the configuration: by default MyST-NB renders the widget view whatever the notebook
    holds. With widget state it links ipywidgets' renderer from cdnjs and jsdelivr (which, with
    no kernel, would have no maps to draw); without (as ``store_widget_state=False`` or
    JupyterLab's default saves it) the output is an empty element. Never the explorer."""
    stateless = nbformat.from_dict(executed)
    del stateless.metadata["widgets"]
    for name, notebook in (("with-state", executed), ("without-state", stateless)):
        html = _build(tmp_path / name, notebook, CONFIG.format(mode="off"))
        text = html.read_text(encoding="utf-8")
        assert f'<script type="{WIDGET_VIEW}">' in text and EXPLORER not in text, name
        cdn = 'src="https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager@' in text
        assert cdn == (name == "with-state"), name


def test_the_docs_give_the_configuration_tested_here():
    docs = " ".join((REPO / "docs" / "widget.rst").read_text(encoding="utf-8").split())
    for line in RECIPE.splitlines():
        assert line in docs, line
