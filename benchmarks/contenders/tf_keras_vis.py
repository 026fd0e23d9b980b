"""tf-keras-vis ``Saliency`` (vanilla and SmoothGrad), as its documentation shows.

The softmax model goes in with ``model_modifier=ReplaceToLinear()`` (tf-keras-vis clones it).
Vanilla maps use its defaults (``|∂S/∂x|``, maximum over channels, min-max scaled); SmoothGrad
asks for raw mean gradients (``gradient_modifier=None``, ``keepdims=True``) so that the maps are
Smilkov et al.'s, like everyone else's. K classes per image means K calls. ``Layercam`` and
``Scorecam`` (all channels, ``max_N=-1``) run at the model's last 4-D layer, every contender's
default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tf_keras_vis.layercam import Layercam
from tf_keras_vis.saliency import Saliency
from tf_keras_vis.scorecam import Scorecam
from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
from tf_keras_vis.utils.scores import CategoricalScore

from contenders.base import Adapter as BaseAdapter
from contenders.base import Unsupported


class Adapter(BaseAdapter):
    """tf-keras-vis."""

    packages = ("tf-keras-vis", "tensorflow-cpu", "keras", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.saliency = Saliency(model, model_modifier=ReplaceToLinear(), clone=True)
        self.cams = {
            "layercam": (Layercam(model, model_modifier=ReplaceToLinear(), clone=True), {}),
            "scorecam": (
                Scorecam(model, model_modifier=ReplaceToLinear(), clone=True),
                {"max_N": -1},
            ),
        }
        spatial = [layer for layer in model.layers if len(layer.output.shape) == 4]
        self.layer = spatial[-1].name

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

    def method(
        self, name: str, x: np.ndarray, top1: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        if name not in self.cams:
            raise Unsupported(f"tf-keras-vis has no {name}")
        cam, options = self.cams[name]
        maps = cam(
            CategoricalScore(top1.tolist()),
            x,
            penultimate_layer=self.layer,
            seek_penultimate_conv_layer=False,
            **options,
        )
        return np.asarray(maps)[:, None]
