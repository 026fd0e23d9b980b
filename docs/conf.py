"""Sphinx configuration of the saliency-widgets documentation.

The site builds offline and warning-free (``make docs``, or ``sphinx-build -W docs out``):
the widget's output is shown as its static explorer (one inline ES module: no widget renderer,
no CDN), and nothing here imports TensorFlow, so ``-j`` is safe.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))  # this site's own extensions (not shipped)

import docs_assets  # noqa: E402

docs_assets.ensure_all(DOCS / "_static")

project = "saliency-widgets"
author = "the saliency-widgets authors"
copyright = "the saliency-widgets authors"
try:
    release = version("saliency-widgets")
except PackageNotFoundError:
    release = "0+source"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "jupyter_sphinx",
    "sphinxext.saliency_grid",
    "results_table",
]

exclude_patterns = ["_build", ".gitignore"]
templates_path: list[str] = []
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme = "furo"
html_title = f"saliency-widgets {release}"
numfig = True
nitpicky = False

# --- autodoc -------------------------------------------------------------------------------
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True  # dataclass "Attributes:" as fields, not duplicates of autodoc's members

# --- saliency-grid ---------------------------------------------------------------------------
saliency_grid_model = "saliency_widgets.zoo:load_shapes_model"
saliency_grid_preprocess = "saliency_widgets.zoo:preprocess"
saliency_grid_class_names = "saliency_widgets.zoo:class_names"

# --- jupyter-sphinx --------------------------------------------------------------------------
# A SaliencyWidget's output carries its static explorer as text/html beside the live view; a
# page has no kernel, so the explorer is what readers get (text/html first). No widget state is
# stored, so jupyter-sphinx links no widget renderer.
# A kernel forwards what C++ libraries write to file descriptor 2 (TensorFlow's oneDNN notice,
# absl logs) into the cell's output as if the code had printed it, and jupyter-sphinx warns about
# every cell that "printed to stderr". With fd capture off, that native logging goes to the build
# log where it belongs, while Python's own stderr (warnings, tracebacks) still reaches the cell
# and still fails a -W build. oneDNN stays on.
render_priority_html = [
    "text/html",
    "application/vnd.jupyter.widget-view+json",
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/latex",
    "text/plain",
]
jupyter_execute_kwargs = {
    "timeout": 900,
    "allow_errors": False,
    "store_widget_state": False,
    "extra_arguments": ["--IPKernelApp.capture_fd_output=False"],
}


def _no_widget_renderer(app, pagename, templatename, context, doctree) -> None:
    """jupyter-sphinx links require.js and the widget embedder (from CDNs, whatever its
    settings say) and Thebe's files on every page; no page here needs them."""

    def wanted(asset: object) -> bool:
        filename = str(getattr(asset, "filename", "") or "")
        remote = filename.startswith(("http://", "https://", "//"))
        return not (remote or Path(filename).name.startswith(("thebelab", "require")))

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if wanted(asset)]


def setup(app) -> None:
    app.connect("html-page-context", _no_widget_renderer)
