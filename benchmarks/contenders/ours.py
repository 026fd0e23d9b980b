"""saliency_widgets itself, as a user calls it (``sw.gradients``, ``sw.smoothgrad``, ``sw.rise`` …).

The model given is the softmax-headed one: removing the head is the engine's job and is timed.
SmoothGrad's ``noise`` is, as for tf-keras-vis and PAIR, a fraction of each image's value range.
``mode`` is the jit setting: ``auto`` (``jit_compile=None``), ``on`` or ``off``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import saliency_widgets as sw
from contenders.base import Adapter as BaseAdapter
from contenders.base import Unsupported

JIT = {"auto": None, "on": True, "off": False}


def find_smoothgrad() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """The engine's SmoothGrad shortcut (``samples``, ``noise`` as a fraction of the range).

    Returns:
        ``smoothgrad(model, x, indices, samples=, noise=, **options) -> (logits, maps)``.

    Raises:
        Unsupported: If this version of the engine has no SmoothGrad.
    """
    function = getattr(sw, "smoothgrad", None)
    if function is None:
        raise Unsupported("saliency_widgets has no smoothgrad")
    return function


class Adapter(BaseAdapter):
    """saliency_widgets with one jit setting."""

    packages = ("saliency-widgets", "tensorflow-cpu", "keras", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.jit = JIT[mode or "auto"]

    def _maps(self, x: np.ndarray, indices: np.ndarray, batch: int | None = None) -> np.ndarray:
        _, maps = sw.gradients(
            self.model, x, indices, batch_size=batch or len(x), jit_compile=self.jit, verbose=False
        )
        return np.moveaxis(maps, -1, 1)

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        return self._maps(x, top1)

    def classes(self, x: np.ndarray, topk: np.ndarray) -> np.ndarray:
        return self._maps(x, topk)

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        _, maps = find_smoothgrad()(
            self.model,
            x,
            top1,
            samples=samples,
            noise=spread,
            batch_size=len(x),
            jit_compile=self.jit,
            verbose=False,
        )
        return np.moveaxis(maps, -1, 1)

    def method(
        self, name: str, x: np.ndarray, top1: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        _, maps = getattr(sw, name)(
            self.model, x, top1, batch_size=len(x), jit_compile=self.jit, verbose=False, **params
        )
        return np.moveaxis(maps, -1, 1)

    def stream(self, x: np.ndarray, top1: np.ndarray, batch: int, deadline: float) -> np.ndarray:
        # One call: batching, padding and the compiled step are the engine's job.
        return self._maps(x, top1, batch)
