"""Xplique ``Saliency`` and ``SmoothGrad``, as its documentation shows.

Xplique asks for a model without softmax: it gets the linear-head model, one-hot targets and
``batch_size`` equal to the benchmark's batch (so it holds as many images in memory as we do).
K classes per image means K calls. SmoothGrad keeps channels (``reducer=None``) and its noise is
absolute, so it gets ``spread × (max − min)`` of the batch. ``Occlusion`` and ``Rise`` (7 × 7
grid, as ours by default) take the case's window and number of masks, and 256 perturbed images
per model call (ours: a 64 MiB budget of copies, about 170 masks × 8 images for the bundled model).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xplique.attributions import Occlusion, Rise, Saliency, SmoothGrad

from contenders.base import Adapter as BaseAdapter
from contenders.base import Unsupported

PERTURBED_BATCH = 256


def _layout(maps: Any) -> np.ndarray:
    """``(N, H, W, 1)`` or ``(N, H, W, C)`` Xplique output to ``(N, 1, H, W[, C])``."""
    maps = np.asarray(maps)
    if maps.ndim == 4 and maps.shape[-1] == 1:
        maps = maps[..., 0]
    return maps[:, None]


class Adapter(BaseAdapter):
    """Xplique."""

    packages = ("xplique", "tensorflow-cpu", "keras", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.units = int(logits_model.outputs[0].shape[-1])
        self._explainers: dict[tuple, Any] = {}

    def _explainer(self, kind: str, batch: int, **options: Any) -> Any:
        key = (kind, batch, tuple(sorted(options.items())))
        if key not in self._explainers:
            cls = Saliency if kind == "saliency" else SmoothGrad
            self._explainers[key] = cls(self.logits_model, batch_size=batch, **options)
        return self._explainers[key]

    def _targets(self, top1: np.ndarray) -> np.ndarray:
        return np.eye(self.units, dtype=np.float32)[top1]

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        explainer = self._explainer("saliency", len(x))
        return _layout(explainer.explain(x, self._targets(top1)))

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        sigma = float(spread * (x.max() - x.min()))
        explainer = self._explainer(
            "smoothgrad", len(x), nb_samples=samples, noise=sigma, reducer=None
        )
        return _layout(explainer.explain(x, self._targets(top1)))

    def method(
        self, name: str, x: np.ndarray, top1: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        if name == "occlusion":
            explainer = Occlusion(
                self.logits_model,
                batch_size=PERTURBED_BATCH,
                patch_size=params["window"],
                patch_stride=params["stride"],
            )
        elif name == "rise":
            explainer = Rise(
                self.logits_model, batch_size=PERTURBED_BATCH, nb_samples=params["samples"]
            )
        else:
            raise Unsupported(f"Xplique has no {name}")
        return _layout(explainer.explain(x, self._targets(top1)))
