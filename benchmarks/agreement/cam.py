"""The CAM family against tf-keras-vis (Keras, same model file) and pytorch-grad-cam (the bundled
model ported to PyTorch by :mod:`harness.torch_port`, its logits checked first).

Every comparison explains the images' own class at the same layer. pytorch-grad-cam returns
maps at the input's size, min-max scaled then resized with OpenCV's bilinear (half-pixel
centres); ours are asked for the same way (registered ``normalize`` postprocessing, then the
engine's bilinear resize, also half-pixel). tf-keras-vis is asked for maps at the layer's size
(``expand_cam=False``), and so are ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agreement import Comparison, Inputs

LAST = "last_relu"
"""The bundled model's default CAM layer (8 × 8 × 128, before global average pooling)."""
MIDDLE = "relu3"
"""A shallower layer (16 × 16 × 64), where LayerCAM's per-position weights matter."""
GRAD_CAM = ("grad-cam", "torch")
TF_KERAS_VIS = ("tf-keras-vis", "tensorflow-cpu")


def ours(method: str, resizing: bool, **params: Any) -> Callable[[Inputs], np.ndarray]:
    """Our registered method through its shortcut (registered postprocessing), one class."""

    def run(inputs: Inputs) -> np.ndarray:
        import saliency_widgets as sw

        _, maps = getattr(sw, method)(
            inputs.keras_model, inputs.x, inputs.labels, resizing=resizing, verbose=False, **params
        )
        return np.asarray(maps)[..., 0]

    return run


def pytorch_grad_cam(kind: str, layer: str, **options: Any) -> Callable[[Inputs], np.ndarray]:
    """A pytorch-grad-cam class on the ported model, as its README shows."""

    def run(inputs: Inputs) -> np.ndarray:
        import torch
        from harness.torch_port import import_pytorch_grad_cam

        pytorch_grad_cam = import_pytorch_grad_cam()
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        model = inputs.torch_model
        x = torch.from_numpy(np.ascontiguousarray(inputs.x.transpose(0, 3, 1, 2)))
        targets = [ClassifierOutputTarget(int(label)) for label in inputs.labels]
        cam = getattr(pytorch_grad_cam, kind)(
            model=model, target_layers=[getattr(model, layer)], **options
        )
        with cam:
            return np.asarray(cam(input_tensor=x, targets=targets))

    return run


def tf_keras_vis(kind: str, layer: str, **options: Any) -> Callable[[Inputs], np.ndarray]:
    """A tf-keras-vis CAM on the Keras model, softmax replaced as its documentation shows."""

    def run(inputs: Inputs) -> np.ndarray:
        import importlib

        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore

        module = importlib.import_module(f"tf_keras_vis.{kind.lower()}")
        cam = getattr(module, kind)(
            inputs.keras_model, model_modifier=ReplaceToLinear(), clone=True
        )
        maps = cam(
            CategoricalScore(inputs.labels.tolist()),
            inputs.x,
            penultimate_layer=layer,
            seek_penultimate_conv_layer=False,
            expand_cam=False,
            **options,
        )
        return np.asarray(maps)

    return run


SCORE_CAM_WEIGHTS = (
    "pytorch-grad-cam weighs channel k by the softmax over the channels of the masked images' "
    "logits, exp(y_k) / Σ_j exp(y_j); Score-CAM's paper and reference code (and ours) by the "
    "class's softmax probability among the classes for each masked image. It also upsamples "
    "the masks with align_corners=True bilinear, ours half-pixel bilinear."
)

COMPARISONS = [
    Comparison(
        "layercam-tf-keras-vis",
        "LayerCAM",
        "tf-keras-vis",
        f"layer {LAST} (8×8)",
        ours("layercam", False),
        tf_keras_vis("Layercam", LAST),
        packages=TF_KERAS_VIS,
    ),
    Comparison(
        "layercam-tf-keras-vis-relu3",
        "LayerCAM",
        "tf-keras-vis",
        f"layer {MIDDLE} (16×16)",
        ours("layercam", False, layer=MIDDLE),
        tf_keras_vis("Layercam", MIDDLE),
        packages=TF_KERAS_VIS,
    ),
    Comparison(
        "scorecam-tf-keras-vis",
        "Score-CAM",
        "tf-keras-vis",
        f"layer {LAST}, all 128 channels",
        ours("scorecam", False),
        tf_keras_vis("Scorecam", LAST, max_N=-1),
        note=(
            "tf-keras-vis upsamples each channel into a mask with scipy's zoom (order 1, "
            "corners aligned), ours with half-pixel bilinear (the paper's reference code uses "
            "PyTorch's align_corners=False); the masks, hence the weights, differ slightly."
        ),
        packages=TF_KERAS_VIS,
    ),
    *(
        Comparison(
            f"{method}-pytorch-grad-cam",
            label,
            "pytorch-grad-cam",
            f"layer {LAST} (8×8), maps resized to 64×64",
            ours(method, True, **params),
            pytorch_grad_cam(kind, LAST, **options),
            note=note,
            packages=GRAD_CAM,
        )
        for method, label, kind, params, options, note in (
            ("gradcam", "Grad-CAM", "GradCAM", {}, {}, ""),
            ("hirescam", "HiResCAM", "HiResCAM", {}, {}, ""),
            ("xgradcam", "XGrad-CAM", "XGradCAM", {}, {}, ""),
            ("layercam", "LayerCAM", "LayerCAM", {}, {}, ""),
            (
                "eigencam",
                "Eigen-CAM (centred)",
                "EigenCAM",
                {"center": True},
                {},
                "pytorch-grad-cam centres the activations and keeps the SVD's sign as LAPACK "
                "returns it; ours (center=True) fixes the sign so that the map correlates "
                "positively with the summed activations. Our default, center=False, is the "
                "paper's projection of the uncentred activations.",
            ),
            ("ablationcam", "Ablation-CAM", "AblationCAM", {}, {"batch_size": 128}, ""),
            ("scorecam", "Score-CAM", "ScoreCAM", {}, {}, SCORE_CAM_WEIGHTS),
        )
    ),
    Comparison(
        "layercam-pytorch-grad-cam-relu3",
        "LayerCAM",
        "pytorch-grad-cam",
        f"layer {MIDDLE} (16×16), maps resized to 64×64",
        ours("layercam", True, layer=MIDDLE),
        pytorch_grad_cam("LayerCAM", MIDDLE),
        packages=GRAD_CAM,
    ),
]
"""The rows of ``benchmarks/results/agreement-cam.json``."""
