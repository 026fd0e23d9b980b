"""tf-keras-vis ``Saliency`` (vanilla and SmoothGrad), as its documentation shows.

The softmax model goes in with ``model_modifier=ReplaceToLinear()`` (tf-keras-vis clones it).
Vanilla maps use its defaults (``|∂S/∂x|``, maximum over channels, min-max scaled); SmoothGrad
asks for raw mean gradients (``gradient_modifier=None``, ``keepdims=True``) so that the maps are
Smilkov et al.'s, like everyone else's. K classes per image means K calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tf_keras_vis.saliency import Saliency
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

from contenders.base import Adapter as BaseAdapter


class Adapter(BaseAdapter):
    """tf-keras-vis."""

    packages = ("tf-keras-vis", "tensorflow-cpu", "keras", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        maps = self.saliency(CategoricalScore(top1.tolist()), x)
        return np.asarray(maps)[:, None]

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        maps = self.saliency(
            CategoricalScore(top1.tolist()),
            x,
            smooth_samples=samples,
            smooth_noise=spread,
            gradient_modifier=None,
            keepdims=True,
            normalize_map=False,
        )
        return np.asarray(maps)[:, None]
