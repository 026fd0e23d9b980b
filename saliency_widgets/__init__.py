"""saliency-widgets: fast, batched saliency maps for Keras 3 image models.

The engine (:func:`explain` and the methods in :mod:`saliency_widgets.methods`) computes maps;
:mod:`saliency_widgets.render` draws them; the widget and the Sphinx directive call both.

Example:
    >>> import saliency_widgets as sw
    >>> model = sw.zoo.load_shapes_model()
    >>> samples = sw.zoo.load_samples(4)
    >>> logits, maps = sw.gradients(model, sw.zoo.preprocess(samples.images), samples.labels)
    >>> maps.shape
    (4, 64, 64, 1)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from saliency_widgets import filters, inspection, methods, render, utils
from saliency_widgets.engine import auto_jit, explain, partial_explain
from saliency_widgets.targets import top_k

try:
    __version__ = version("saliency-widgets")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

gradients = partial_explain(
    methods.gradient.gradients, name="gradients", postprocessing=filters.absolute_normalize
)
"""Vanilla gradient maps (Simonyan et al. 2013) through :func:`explain`, ``absolute_normalize``d.

``gradients(model, x, indices=None, batch_size=32, **options) -> (logits, maps)``.
"""


def __getattr__(name: str) -> object:
    # The zoo is imported on first use: it is data, not needed to explain a user's own model.
    if name == "zoo":
        return importlib.import_module("saliency_widgets.zoo")
    raise AttributeError(f"module 'saliency_widgets' has no attribute {name!r}")


__all__ = [
    "__version__",
    "auto_jit",
    "explain",
    "filters",
    "gradients",
    "inspection",
    "methods",
    "partial_explain",
    "render",
    "top_k",
    "utils",
    "zoo",
]
