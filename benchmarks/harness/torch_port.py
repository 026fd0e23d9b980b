"""The bundled Keras model ported to PyTorch, for the references that only exist in PyTorch.

pytorch-grad-cam and zennit explain ``torch.nn.Module`` s; to compare them with our methods on the
*same weights*, :func:`port` builds a module from a Keras chain model layer by layer (weights
copied, nothing retrained) and :func:`check_logits` proves the two compute the same logits before
anything else is compared.

The module takes ``(N, C, H, W)`` images, PyTorch's layout, and returns pre-activation logits (a
softmax head is dropped, as :func:`saliency_widgets.inspection.explained_model` does). Every Keras
layer becomes a child module *of the same name*, so a method's target layer is
``ported.last_relu`` where ours is ``layer="last_relu"``. Layers before the first convolution
(the bundled model's space-to-depth ``Reshape``/``Permute``) run in Keras's channels-last layout
on the batch; the convolutions onwards run channels-first.

Supported layers: ``InputLayer``, ``Reshape``, ``Permute``, ``Conv2D`` (stride 1 ``same`` with odd
kernels, or ``valid``), ``BatchNormalization`` (inference), ``ReLU``, ``Activation("relu")``,
``MaxPooling2D`` / ``AveragePooling2D`` (``valid``), ``GlobalAveragePooling2D``, ``Flatten`` (after
global pooling) and ``Dense`` (linear, ReLU, softmax or sigmoid: the last two dropped on the
output). Anything else raises ``NotImplementedError`` naming the layer.

Runs wherever both TensorFlow (to read the Keras model) and PyTorch are installed: the
``pytorch-grad-cam`` virtualenv of ``benchmarks/requirements.txt``. Nothing here imports either
framework at import time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

LOGIT_TOLERANCE = 1e-5
"""Largest absolute logit difference accepted between the Keras model and its port."""


def _dense_activation(layer: Any, last: bool) -> str:
    name = getattr(layer.activation, "__name__", str(layer.activation))
    if name in ("softmax", "sigmoid") and last:
        return "linear"  # the port explains logits
    if name not in ("linear", "relu"):
        raise NotImplementedError(f"layer {layer.name!r}: Dense activation {name!r} is not ported")
    return name


def _module(layer: Any, channels_last: bool, last: bool) -> tuple[Any, bool]:
    """One Keras layer as a torch module, and whether the tensor is channels-last after it."""
    import keras
    import torch
    from torch import nn

    config = layer.get_config()
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Reshape | keras.layers.Permute):
        if not channels_last:
            raise NotImplementedError(f"layer {layer.name!r}: {kind} after a convolution")
        if isinstance(layer, keras.layers.Reshape):
            shape = tuple(config["target_shape"])
            return _op(lambda x: x.reshape(x.shape[0], *shape)), True
        dims = (0, *config["dims"])
        return _op(lambda x: x.permute(*dims)), True
    if isinstance(layer, keras.layers.Conv2D) and kind == "Conv2D":
        kernel = layer.kernel.numpy()  # (kh, kw, in, out)
        kh, kw = kernel.shape[:2]
        if config["strides"] != (1, 1) and config["padding"] == "same":
            raise NotImplementedError(f"layer {layer.name!r}: strided 'same' padding")
        if config["padding"] == "same" and (kh % 2 == 0 or kw % 2 == 0):
            raise NotImplementedError(f"layer {layer.name!r}: 'same' padding of an even kernel")
        if config["dilation_rate"] != (1, 1) or config["groups"] != 1:
            raise NotImplementedError(f"layer {layer.name!r}: dilation or groups")
        padding = (kh // 2, kw // 2) if config["padding"] == "same" else (0, 0)
        conv = nn.Conv2d(
            kernel.shape[2],
            kernel.shape[3],
            (kh, kw),
            stride=config["strides"],
            padding=padding,
            bias=config["use_bias"],
        )
        conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        if config["use_bias"]:
            conv.bias.data = torch.from_numpy(layer.bias.numpy())
        activation = getattr(layer.activation, "__name__", "linear")
        if activation not in ("linear", "relu"):
            raise NotImplementedError(f"layer {layer.name!r}: activation {activation!r}")
        modules = [_op(_to_channels_first)] if channels_last else []
        modules.append(conv)
        if activation == "relu":
            modules.append(nn.ReLU())
        return (nn.Sequential(*modules) if len(modules) > 1 else conv), False
    if channels_last and not isinstance(layer, keras.layers.InputLayer):
        raise NotImplementedError(f"layer {layer.name!r}: {kind} before the first convolution")
    if isinstance(layer, keras.layers.BatchNormalization):
        if config["axis"] not in (-1, 3, [3], [-1]):
            raise NotImplementedError(f"layer {layer.name!r}: normalisation axis {config['axis']}")
        mean, variance = layer.moving_mean.numpy(), layer.moving_variance.numpy()
        norm = nn.BatchNorm2d(len(mean), eps=config["epsilon"], affine=True)
        norm.weight.data = torch.from_numpy(
            layer.gamma.numpy() if config["scale"] else np.ones_like(mean)
        )
        norm.bias.data = torch.from_numpy(
            layer.beta.numpy() if config["center"] else np.zeros_like(mean)
        )
        norm.running_mean.data = torch.from_numpy(mean)
        norm.running_var.data = torch.from_numpy(variance)
        return norm, False
    if isinstance(layer, keras.layers.ReLU):
        if config.get("max_value") or config.get("negative_slope") or config.get("threshold"):
            raise NotImplementedError(f"layer {layer.name!r}: a clipped or leaky ReLU")
        return nn.ReLU(), False
    if isinstance(layer, keras.layers.Activation) and config["activation"] == "relu":
        return nn.ReLU(), False
    if isinstance(layer, keras.layers.MaxPooling2D | keras.layers.AveragePooling2D):
        if config["padding"] != "valid":
            raise NotImplementedError(f"layer {layer.name!r}: 'same' pooling")
        pool = nn.MaxPool2d if isinstance(layer, keras.layers.MaxPooling2D) else nn.AvgPool2d
        return pool(config["pool_size"], config["strides"]), False
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), False
    if isinstance(layer, keras.layers.Flatten):
        return nn.Flatten(), False  # only after global pooling: (N, C) stays (N, C)
    if isinstance(layer, keras.layers.Dense):
        linear = nn.Linear(*layer.kernel.shape, bias=layer.use_bias)
        linear.weight.data = torch.from_numpy(np.ascontiguousarray(layer.kernel.numpy().T))
        if layer.use_bias:
            linear.bias.data = torch.from_numpy(layer.bias.numpy())
        if _dense_activation(layer, last) == "relu":
            return nn.Sequential(linear, nn.ReLU()), False
        return linear, False
    raise NotImplementedError(f"layer {layer.name!r}: {kind} is not ported")


def _op(function: Any) -> Any:
    """A weightless module applying ``function`` (a layout change); torch imported on use."""
    from torch import nn

    class KerasOp(nn.Module):
        def forward(self, x: Any) -> Any:
            return function(x)

    return KerasOp()


def _to_channels_first(x: Any) -> Any:
    return x.permute(0, 3, 1, 2)


def _to_channels_last(x: Any) -> Any:
    return x.permute(0, 2, 3, 1)


def port(model: Any) -> Any:
    """Builds the PyTorch twin of a Keras chain model (same weights, logits out, eval mode).

    Args:
        model: A Keras functional or Sequential model whose layers form one chain (the bundled
            ``saliency_widgets.zoo.load_shapes_model()``).

    Returns:
        A ``torch.nn.Sequential`` taking ``(N, C, H, W)`` float32 images, with one child per
        Keras layer under the layer's name (``ported.last_relu``), in eval mode.

    Raises:
        NotImplementedError: For a layer or configuration the port does not cover (named).
    """
    from torch import nn

    children: OrderedDict[str, Any] = OrderedDict()
    children["to_channels_last"] = _op(_to_channels_last)
    channels_last = True
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for position, layer in enumerate(layers):
        module, channels_last = _module(layer, channels_last, position == len(layers) - 1)
        children[layer.name] = module
    ported = nn.Sequential(children)
    return ported.eval()


def torch_logits(ported: Any, x: np.ndarray) -> np.ndarray:
    """Logits of the ported module on channels-last images ``(N, H, W, C)``."""
    import torch

    with torch.no_grad():
        return ported(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))).numpy()


def check_logits(model: Any, ported: Any, x: np.ndarray) -> float:
    """The largest absolute difference between the Keras model's logits and the port's.

    Args:
        model: The Keras model (softmax head or not: its logits are compared).
        ported: The result of :func:`port`.
        x: ``(N, H, W, C)`` float32 images.

    Returns:
        The maximum absolute logit difference.

    Raises:
        AssertionError: If it exceeds :data:`LOGIT_TOLERANCE`.
    """
    from harness.models import logits_model

    linear = logits_model(model) if _squashes(model.layers[-1]) else model
    keras_logits = np.asarray(linear(x, training=False))
    difference = float(np.abs(keras_logits - torch_logits(ported, x)).max())
    if difference > LOGIT_TOLERANCE:
        raise AssertionError(
            f"the PyTorch port's logits differ from Keras's by {difference:.2e} "
            f"(> {LOGIT_TOLERANCE:g}): the port is wrong, no comparison on it means anything"
        )
    return difference


def _squashes(layer: Any) -> bool:
    name = getattr(getattr(layer, "activation", None), "__name__", "")
    return name in ("softmax", "sigmoid")


def load_ported(path: str, x: np.ndarray) -> tuple[Any, Any, float]:
    """Loads a saved Keras model, ports it and checks the port's logits.

    Args:
        path: A ``.keras`` file (as saved by :func:`harness.models.save`).
        x: ``(N, H, W, C)`` images to check the logits on.

    Returns:
        ``(keras_model, ported, max_logit_difference)``.
    """
    from harness import models

    model = models.load(path)
    ported = port(model)
    return model, ported, check_logits(model, ported, x)


_SCHEMAS: list[Any] = []
"""Operator schemas declared for torchvision (a ``torch.library.Library`` must stay alive)."""


def import_pytorch_grad_cam() -> Any:
    """Imports pytorch-grad-cam beside the CPU build of PyTorch.

    PyPI's torchvision (0.28, the one for torch 2.13) is a CUDA build: next to the CPU torch its
    C operators cannot load (``libc10_cuda.so`` is missing), and ``import torchvision`` then fails
    registering fake kernels for two of them (``operator torchvision::nms does not exist``).
    pytorch-grad-cam imports torchvision only for ``torchvision.transforms``, which needs no C
    operator: declaring the two schemas lets the Python part import. Nothing declared here is
    ever called.

    Returns:
        The ``pytorch_grad_cam`` module.
    """
    import sys

    import torch

    try:
        import torchvision  # noqa: F401
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        library = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _SCHEMAS.append(library)
    import pytorch_grad_cam

    return pytorch_grad_cam
