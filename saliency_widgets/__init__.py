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
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

import numpy as np

from saliency_widgets import filters, inspection, methods, metrics, render, utils
from saliency_widgets.engine import auto_jit, explain, partial_explain
from saliency_widgets.targets import top_k

try:
    __version__ = version("saliency-widgets")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

gradients = partial_explain(
    methods.gradient.gradients, name="gradients", postprocessing=filters.absolute_normalize
)
"""Vanilla gradient maps (Simonyan et al. 2013) via :func:`explain` and ``absolute_normalize``.

``gradients(model, x, indices=None, batch_size=32, **options) -> (logits, maps)``.
"""


def _shortcut(name: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    spec = methods.get_method(name)
    return partial_explain(spec.function, name=name, postprocessing=spec.postprocessing)


# Shortcuts through explain with each method's registered postprocessing; every one takes
# ``(model, x, indices=None, batch_size=32, **options)`` and the method's own parameters.
smoothgrad = _shortcut("smoothgrad")
vargrad = _shortcut("vargrad")
squaregrad = _shortcut("squaregrad")
integrated_gradients = _shortcut("integrated_gradients")
input_x_gradient = _shortcut("input_x_gradient")
cam = _shortcut("cam")
gradcam = _shortcut("gradcam")
gradcampp = _shortcut("gradcampp")
scorecam = _shortcut("scorecam")
guided_backprop = _shortcut("guided_backprop")
guided_gradcam = _shortcut("guided_gradcam")


def __getattr__(name: str) -> object:
    # The zoo is imported on first use: it is data, not needed to explain a user's own model.
    if name == "zoo":
        return importlib.import_module("saliency_widgets.zoo")
    if name in ("widget", "SaliencyWidget"):  # needs ipywidgets, the optional ``widget`` extra
        module = importlib.import_module("saliency_widgets.widget")
        return module if name == "widget" else module.SaliencyWidget
    raise AttributeError(f"module 'saliency_widgets' has no attribute {name!r}")


__all__ = [
    "__version__",
    "auto_jit",
    "cam",
    "explain",
    "filters",
    "gradcam",
    "gradcampp",
    "gradients",
    "guided_backprop",
    "guided_gradcam",
    "input_x_gradient",
    "inspection",
    "integrated_gradients",
    "methods",
    "metrics",
    "partial_explain",
    "render",
    "scorecam",
    "smoothgrad",
    "squaregrad",
    "top_k",
    "utils",
    "vargrad",
    "zoo",
]
