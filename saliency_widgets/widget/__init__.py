"""An interactive explorer of saliency maps for notebooks.

An anywidget drawn by the explorer's ES module (:mod:`saliency_widgets.explorer`), its maps
computed by the kernel.

Example:
    >>> from saliency_widgets import zoo
    >>> from saliency_widgets.widget import SaliencyWidget
    >>> samples = zoo.load_samples(16)
    >>> SaliencyWidget(zoo.load_shapes_model(), samples.images, samples.labels,
    ...                preprocess=zoo.preprocess, class_names=zoo.class_names(),
    ...                masks=samples.masks)  # doctest: +SKIP
"""

from __future__ import annotations

from saliency_widgets.widget._images import Pictures, load_pictures
from saliency_widgets.widget._widget import SaliencyWidget

__all__ = ["Pictures", "SaliencyWidget", "load_pictures"]
