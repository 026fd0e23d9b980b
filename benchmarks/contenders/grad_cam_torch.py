"""pytorch-grad-cam on the bundled model ported to PyTorch, as its README shows.

The Keras model is ported layer by layer (:mod:`harness.torch_port`; its logits are checked
against Keras's before the first case) and each CAM class is built on the ported module with
the last 4-D layer as the target, explaining the top-1 class. Ablation-CAM and Score-CAM get 128
perturbed images per model call (their defaults are 32 and 16). Maps come back resized to the
input by pytorch-grad-cam (OpenCV). Only CPU PyTorch runs here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from harness import torch_port

from contenders.base import Adapter as BaseAdapter
from contenders.base import Unsupported

CLASSES = {
    "layercam": ("LayerCAM", {}),
    "hirescam": ("HiResCAM", {}),
    "xgradcam": ("XGradCAM", {}),
    "eigencam": ("EigenCAM", {}),
    "ablationcam": ("AblationCAM", {"batch_size": 128}),
    "scorecam": ("ScoreCAM", {}),
}
"""Our method names and pytorch-grad-cam's classes, with constructor options."""


class Adapter(BaseAdapter):
    """pytorch-grad-cam."""

    packages = ("grad-cam", "torch", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.library = torch_port.import_pytorch_grad_cam()
        self.ported = torch_port.port(model)
        spatial = [layer for layer in model.layers if len(layer.output.shape) == 4]
        self.layer = getattr(self.ported, spatial[-1].name)
        self.checked = False

    def method(
        self, name: str, x: np.ndarray, top1: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        import torch
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        if name not in CLASSES:
            raise Unsupported(f"pytorch-grad-cam has no {name}")
        if not self.checked:
            torch_port.check_logits(self.model, self.ported, x)
            self.checked = True
        kind, options = CLASSES[name]
        cam = getattr(self.library, kind)(model=self.ported, target_layers=[self.layer], **options)
        if name == "scorecam":
            cam.batch_size = 128
        tensor = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        with cam:
            maps = cam(input_tensor=tensor, targets=[ClassifierOutputTarget(int(c)) for c in top1])
        return np.asarray(maps)[:, None]
