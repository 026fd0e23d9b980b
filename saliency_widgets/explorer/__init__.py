"""A saliency explorer that needs no kernel: precomputed maps, drawn in the browser.

:func:`explain_top_k` asks the engine for the maps of every image's top-K classes with each
method; :func:`fragment` writes them, with the view (``explorer.js``, one ES module) and its CSS,
as one self-contained HTML fragment. The sign, percentile clip, colour map, blend and opacity
are applied in the browser with :mod:`saliency_widgets.display`'s arithmetic, so switching them
costs no bytes. Used by ``SaliencyWidget.to_html()``/``save_html()``, the
``saliency-widgets explore`` command and the ``.. saliency-explorer::`` Sphinx directive.

Example:
    >>> from saliency_widgets import explorer, zoo
    >>> samples = zoo.load_samples(4)
    >>> data = explorer.explain_top_k(
    ...     zoo.load_shapes_model(), samples.images, zoo.preprocess(samples.images),
    ...     methods=["gradients"], top_k=2, class_names=zoo.class_names())
    >>> html = explorer.fragment(data)  # doctest: +SKIP
"""

from __future__ import annotations

from saliency_widgets.explorer._data import (
    DEFAULT_METHODS,
    ExplorerData,
    MethodMaps,
    checked_masks,
    explain_top_k,
    parse_methods,
)
from saliency_widgets.explorer._encode import (
    DEFAULT_STEPS,
    mask_png,
    png_bytes,
    shown_maps,
    signed_bytes,
    thumbnail_png,
)
from saliency_widgets.explorer._figures import complete, curve_values, packed_scores
from saliency_widgets.explorer._html import asset, fragment, page, summary, wrap
from saliency_widgets.explorer._meta import COMPARE_MODES, RANKINGS, ViewOptions, view_meta
from saliency_widgets.explorer._size import Estimate, Progress, estimate_page
from saliency_widgets.explorer._sources import explorer_from_sources, explorer_options

__all__ = [
    "COMPARE_MODES",
    "DEFAULT_METHODS",
    "DEFAULT_STEPS",
    "RANKINGS",
    "Estimate",
    "ExplorerData",
    "MethodMaps",
    "Progress",
    "ViewOptions",
    "asset",
    "checked_masks",
    "complete",
    "curve_values",
    "estimate_page",
    "explain_top_k",
    "explorer_from_sources",
    "explorer_options",
    "fragment",
    "mask_png",
    "packed_scores",
    "page",
    "parse_methods",
    "png_bytes",
    "shown_maps",
    "signed_bytes",
    "summary",
    "thumbnail_png",
    "view_meta",
    "wrap",
]
