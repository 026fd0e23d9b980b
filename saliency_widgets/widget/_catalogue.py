"""What a widget shows besides maps.

The pictures as displayed, their names, labels and masks, the classes and the methods offered
(what the model predicts is the :class:`~saliency_widgets.widget._state.WidgetState`'s).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets import explorer
from saliency_widgets.widget._images import Pictures


@dataclass
class Catalogue:
    """The widget's facts, read by its kernel side, its snapshot and its Python API.

    Attributes:
        pictures: The images as given, with their names.
        shown: Each image as displayed, ``(H, W, 3)`` uint8.
        labels: The true class of each image, or ``None``.
        class_names: Names by class index (``None`` until the model says how many classes).
        masks: A boolean mask of each image's object, or ``None``.
        methods: The registry names the widget offers.
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.
        per_page: Thumbnails per page.
    """

    pictures: Pictures
    shown: list[np.ndarray]
    labels: np.ndarray | None
    class_names: list[str] | None
    masks: tuple[np.ndarray, ...] | None
    methods: tuple[str, ...]
    activation: str
    per_page: int

    def __len__(self) -> int:
        return len(self.shown)

    def class_name(self, index: int) -> str:
        """The name of a class."""
        return self.class_names[index] if self.class_names else f"class {index}"

    def classes(self) -> int | None:
        """The number of classes, when known."""
        return len(self.class_names) if self.class_names else None

    def meta(self, view: explorer.ViewOptions, top_k: int, metrics: bool = True) -> dict[str, Any]:
        """The ``meta`` trait every view starts from (see :func:`explorer.view_meta`)."""
        return explorer.view_meta(
            names=self.pictures.names,
            labels=None if self.labels is None else self.labels.tolist(),
            class_names=self.class_names or [],
            activation=self.activation,
            methods=self.methods,
            top_k=top_k,
            view=view,
            masks=self.masks is not None,
            per_page=self.per_page,
            live=True,
            metrics=metrics,
            sanity=True,
        )


__all__ = ["Catalogue"]
