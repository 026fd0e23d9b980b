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
import importlib.util
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("saliency-widgets")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+source"

INSTALL_HINT = (
    "saliency-widgets needs TensorFlow 2.16 or newer, which it leaves to you so that it never "
    "replaces the one you have. Install one flavour: pip install 'saliency-widgets[cpu]' "
    "(tensorflow-cpu), pip install 'saliency-widgets[gpu]' (tensorflow[and-cuda]), or "
    "pip install tensorflow"
)
"""What ``import saliency_widgets`` says when no TensorFlow is installed."""


def _tensorflow_installed() -> bool:
    try:
        return importlib.util.find_spec("tensorflow") is not None
    except (ImportError, ValueError):  # a blocked or half-imported module
        return False


# Looked up without importing it (importing TensorFlow takes seconds and is done on first use).
if not _tensorflow_installed():
    raise ImportError(INSTALL_HINT, name="tensorflow")

# Everything below is imported on first use (PEP 562): ``import saliency_widgets`` does not import
# TensorFlow, so the command line can quiet TensorFlow's C++ log before it loads, the Sphinx
# extension stays fork-safe, and the widget extra (ipywidgets) stays optional.
_SUBMODULES = (
    "display",
    "filters",
    "inspection",
    "methods",
    "metrics",
    "predict",
    "render",
    "utils",
    "widget",
    "zoo",
)
_ATTRIBUTES = {
    "auto_jit": "saliency_widgets.engine",
    "explain": "saliency_widgets.engine",
    "partial_explain": "saliency_widgets.engine",
    "top_k": "saliency_widgets.targets",
    "SaliencyWidget": "saliency_widgets.widget",
}
SHORTCUTS = (
    "gradients",
    "smoothgrad",
    "vargrad",
    "squaregrad",
    "integrated_gradients",
    "input_x_gradient",
    "cam",
    "gradcam",
    "gradcampp",
    "hirescam",
    "xgradcam",
    "layercam",
    "scorecam",
    "ablationcam",
    "eigencam",
    "guided_backprop",
    "guided_gradcam",
    "guided_integrated_gradients",
    "blur_integrated_gradients",
    "xrai",
    "lrp",
    "occlusion",
    "rise",
)
"""Methods reachable as ``sw.<name>(model, x, indices=None, batch_size=32, **options)``: each runs
the registered method through :func:`explain` with its registered postprocessing (vanilla
``gradients``: Simonyan et al. 2013, with ``absolute_normalize``)."""

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from saliency_widgets import (
        display,
        filters,
        inspection,
        methods,
        metrics,
        predict,
        render,
        utils,
        zoo,
    )
    from saliency_widgets import widget as widget
    from saliency_widgets.engine import auto_jit, explain, partial_explain
    from saliency_widgets.targets import top_k
    from saliency_widgets.widget import SaliencyWidget as SaliencyWidget


def _shortcut(name: str) -> Any:
    from saliency_widgets.engine import partial_explain
    from saliency_widgets.methods import get_method

    spec = get_method(name)
    return partial_explain(spec.function, name=name, postprocessing=spec.postprocessing)


def __getattr__(name: str) -> Any:
    value: Any
    if name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    elif name in _ATTRIBUTES:
        value = getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    elif name in SHORTCUTS:
        value = _shortcut(name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES, *_ATTRIBUTES})


__all__ = [
    "SHORTCUTS",
    "__version__",
    "ablationcam",
    "auto_jit",
    "blur_integrated_gradients",
    "cam",
    "display",
    "eigencam",
    "explain",
    "filters",
    "gradcam",
    "gradcampp",
    "gradients",
    "guided_backprop",
    "guided_gradcam",
    "guided_integrated_gradients",
    "hirescam",
    "input_x_gradient",
    "inspection",
    "integrated_gradients",
    "layercam",
    "lrp",
    "methods",
    "metrics",
    "occlusion",
    "partial_explain",
    "predict",
    "render",
    "rise",
    "scorecam",
    "smoothgrad",
    "squaregrad",
    "top_k",
    "utils",
    "vargrad",
    "xgradcam",
    "xrai",
    "zoo",
]
# ``widget`` and ``SaliencyWidget`` need the optional ``widget`` extra (ipywidgets), so a star
# import leaves them out; ``sw.SaliencyWidget`` imports them.
