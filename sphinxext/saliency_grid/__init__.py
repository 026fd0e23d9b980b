"""The ``.. saliency-grid::`` directive: saliency maps computed at build time, cached by content.

.. code-block:: rst

    .. saliency-grid::
       :model: saliency_widgets.zoo:load_shapes_model
       :images: _static/samples/*.png
       :preprocess: saliency_widgets.zoo:preprocess
       :class-names: saliency_widgets.zoo:class_names
       :method: gradients
       :classes: top-3
       :cols: 4

       Optional caption.

Enable it with ``extensions = ["sphinxext.saliency_grid"]``, which also brings
``.. saliency-explorer::`` (:mod:`._explorer`), ``.. saliency-scores::`` (:mod:`._scores`: methods
ranked by their figures) and ``.. saliency-grid-defaults::``. The computed directives are small
subclasses of one pipeline (:mod:`._directive`: settings, inputs, hash, cache, compute, nodes,
warnings); the cache's fingerprints are in :mod:`._cache`, the per-page
records and pruning in :mod:`._files`, paths and globs in :mod:`._paths`. The maps come from
:mod:`saliency_widgets`, which imports TensorFlow only when something has to be computed, so
TensorFlow is never loaded by ``setup()`` or by a build whose outputs are all cached (and never
before Sphinx forks for ``-j``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sphinxext.saliency_grid import _files as grid_files
from sphinxext.saliency_grid import _paths as paths
from sphinxext.saliency_grid._directive import (
    GRID_OPTIONS,
    INPUT_OPTIONS,
    SaliencyGridDefaults,
    SaliencyGridError,
)
from sphinxext.saliency_grid._explorer import SaliencyExplorer
from sphinxext.saliency_grid._grid import FIGURE_OPTIONS, SaliencyGrid
from sphinxext.saliency_grid._scores import SaliencyScores

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.util.typing import ExtensionMetadata

__version__ = "1.0"


def setup(app: Sphinx) -> ExtensionMetadata:
    """Registers the directives and their ``conf.py`` values.

    Args:
        app: The Sphinx application.

    Returns:
        Extension metadata: parallel reading and writing are safe.
    """
    for name in ("model", "images", "preprocess", "class_names", "model_inputs"):
        app.add_config_value(f"saliency_grid_{name}", None, "env", types=frozenset({str}))
    app.add_config_value("saliency_grid_defaults", {}, "env", types=frozenset({dict}))
    app.add_config_value("saliency_grid_cache_dir", None, "env", types=frozenset({str}))
    app.add_config_value("saliency_grid_raise_errors", False, "", types=frozenset({bool}))
    app.add_directive("saliency-grid", SaliencyGrid)
    app.add_directive("saliency-grid-defaults", SaliencyGridDefaults)
    app.add_directive("saliency-explorer", SaliencyExplorer)
    app.add_directive("saliency-scores", SaliencyScores)
    app.connect("env-purge-doc", paths.WATCHED_GLOBS.purge)
    app.connect("env-merge-info", paths.WATCHED_GLOBS.merge)
    app.connect("env-get-outdated", paths.pages_whose_globs_changed)
    app.connect("env-purge-doc", grid_files.USED_FILES.purge)
    app.connect("env-merge-info", grid_files.USED_FILES.merge)
    app.connect("env-get-outdated", grid_files.pages_missing_files)
    counter = grid_files.WarningCounter()
    app.connect("builder-inited", functools.partial(grid_files.watch_warnings, counter=counter))
    app.connect("build-finished", functools.partial(grid_files.prune_cache, counter=counter))
    return {
        "version": __version__,
        "env_version": grid_files.ENV_VERSION,
        "parallel_read_safe": True,
        "parallel_write_safe": True,
    }


__all__ = [
    "FIGURE_OPTIONS",
    "GRID_OPTIONS",
    "INPUT_OPTIONS",
    "SaliencyExplorer",
    "SaliencyGrid",
    "SaliencyGridDefaults",
    "SaliencyGridError",
    "SaliencyScores",
    "setup",
]
