"""Sphinx configuration of the saliency-widgets documentation.

The site builds offline and warning-free (``make docs``, or ``sphinx-build -W docs out``):
widgets render from ``_static/vendor`` (fetched from npm once, see ``_ext/docs_assets.py``), not
from a CDN, and nothing here imports TensorFlow, so ``-j`` is safe.
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
# Widgets are drawn by files served from _static, fetched from npm at build time.
jupyter_sphinx_require_url = "vendor/require.js"
jupyter_sphinx_embed_url = "vendor/html-manager/embed-amd.js"
# A kernel forwards what C++ libraries write to file descriptor 2 (TensorFlow's oneDNN notice,
# absl logs) into the cell's output as if the code had printed it, and jupyter-sphinx warns about
# every cell that "printed to stderr". With fd capture off, that native logging goes to the build
# log where it belongs, while Python's own stderr (warnings, tracebacks) still reaches the cell
# and still fails a -W build. oneDNN stays on.
jupyter_execute_kwargs = {
    "timeout": 900,
    "allow_errors": False,
    "store_widget_state": True,
    "extra_arguments": ["--IPKernelApp.capture_fd_output=False"],
}


VENDOR_SCRIPTS = (jupyter_sphinx_require_url, jupyter_sphinx_embed_url)

# html-manager's bundle defines its AMD modules by name (@jupyter-widgets/controls, ...), and
# each finds its Font Awesome files next to the URL require.js derives from that name: by default
# the page's own folder, where they are not. A global ``require`` object set before require.js
# loads is its configuration: map every bundled name into the vendor folder. The page root comes
# from Sphinx's data-content_root attribute.
BUNDLED_MODULES = (
    "@jupyter-widgets/base",
    "@jupyter-widgets/base7",
    "@jupyter-widgets/controls",
    "@jupyter-widgets/controls7",
    "@jupyter-widgets/html-manager",
    "@jupyter-widgets/html-manager/dist/libembed-amd",
)
REQUIRE_CONFIG = (
    "(() => {const root = new URL(document.documentElement.dataset.content_root || './', "
    "document.baseURI); const vendor = new URL('_static/vendor/html-manager/', root).href; "
    "window.require = {paths: Object.fromEntries("
    + repr(list(BUNDLED_MODULES)).replace('"', "'")
    + ".map((name) => [name, vendor + name.split('/').pop()]))};})();"
)


def _widget_assets(app, pagename, templatename, context, doctree) -> None:
    """Load the widget renderer only where there are widgets; drop Thebe's missing files.

    jupyter-sphinx links require.js, the embedder (7 MB) and Thebe's files on every page;
    Thebe is off here and its files do not exist.
    """
    from jupyter_sphinx.ast import JupyterWidgetStateNode

    widgets = doctree is not None and any(doctree.findall(JupyterWidgetStateNode))
    if widgets:
        app.add_js_file(None, body=REQUIRE_CONFIG, priority=400)  # this page only

    def wanted(asset: object) -> bool:
        filename = str(getattr(asset, "filename", "") or "")
        if Path(filename).name.startswith("thebelab"):
            return False
        return widgets or not filename.endswith(VENDOR_SCRIPTS)

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if wanted(asset)]


def setup(app) -> None:
    app.connect("html-page-context", _widget_assets)
