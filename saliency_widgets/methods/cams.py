"""Gradient-weighted class activation maps (CAM, Grad-CAM, Grad-CAM++, HiResCAM, XGrad-CAM …).

The rest of the family here is LayerCAM and Guided Grad-CAM. Each weighs a spatial activation
``A`` (``(B, h, w, c)``, by default the last 4-D activation before global pooling, see
:func:`saliency_widgets.inspection.spatial_model`) with the gradient ``g = ∂S/∂A`` of the class
score and sums over channels into a ``(B, h, w, K)`` map at the layer's resolution;
:func:`saliency_widgets.explain` resizes it to the input when ``resizing=True``. The layer may
be given by name or path, including inside a nested backbone (``"resnet50v2/post_relu"``). A
vision transformer's token layer ``(B, p + h·w, d)`` is one too: its class / register tokens left
out, its patch tokens folded into their grid (see
:class:`~saliency_widgets.inspection.TokenLayer`). How ``g`` becomes weights:

- **CAM**: one weight per channel, ``Σ_ij g_ij`` (the ``Dense`` weight on a GAP head); signed.
- **Grad-CAM**: one weight per channel, the spatial mean of ``g``.
- **Grad-CAM++**: one weight per channel, positive gradients weighted per position.
- **XGrad-CAM**: one weight per channel, ``g`` averaged with the activation as the weight.
- **HiResCAM**: a weight per position, ``g`` itself: the map is ``Σ_c g_c ⊙ A_c``.
- **LayerCAM**: a weight per position, ``relu(g)``: the map is ``Σ_c relu(g_c) ⊙ A_c``.

CAMs computed from forward passes only (Score-CAM, Ablation-CAM, Eigen-CAM) are in
:mod:`~saliency_widgets.methods.forward_cams`; ``scorecam`` and ``activation_gradients`` are
still importable from here.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from saliency_widgets.methods.feature_maps import Layer, activation_gradients, weighted_sum
from saliency_widgets.methods.forward_cams import scorecam
from saliency_widgets.methods.gradient import Reduce, guided_backprop


def cam(
    model: keras.Model, inputs: tf.Tensor, indices: tf.Tensor | None = None, layer: Layer = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """CAM: the feature maps summed with the class's weights (Zhou et al. 2016).

    The channel weights are ``Σ_ij ∂S/∂A_ij``: for a global-average-pooling + ``Dense`` head this
    is the ``Dense`` kernel column of the class, so the map is the paper's
    ``M_k = Σ_c w_ck A_c`` exactly, with no need to locate the head's weights; for other heads
    it is its linearisation. The map is signed (no ReLU).

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer: ``None`` for the last 4-D activation, or a name / path /
            layer (see :func:`saliency_widgets.inspection.spatial_model`).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` maps at the layer's size.

    References:
        Zhou, B., Khosla, A., Lapedriza, A., Oliva, A., & Torralba, A. (2016). Learning deep
        features for discriminative localization. https://arxiv.org/abs/1512.04150
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    return logits, weighted_sum(activations, tf.reduce_sum(grads, axis=[2, 3]))


def gradcam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    relu: bool = True,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Grad-CAM: feature maps weighted by their spatially averaged gradient (Selvaraju et al.).

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer: ``None`` for the last 4-D activation (before global pooling),
            or a name, a path into a nested model (``"resnet50v2/post_relu"``) or a layer; a
            transformer's token layer is folded into its patch grid (a
            :class:`~saliency_widgets.inspection.TokenLayer` gives the grid when it is not found).
        relu: Keep only the positive part, as the paper does (``False`` for the signed map).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` maps at the layer's size.

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> logits, maps = sw.gradcam(model, sw.zoo.preprocess(samples.images), samples.labels,
        ...                           resizing=False)
        >>> maps.shape
        (2, 8, 8, 1)

    References:
        Selvaraju, R. R., Cogswell, M., Das, A., Vedantam, R., Parikh, D., & Batra, D. (2017).
        Grad-CAM: Visual explanations from deep networks via gradient-based localization.
        https://arxiv.org/abs/1610.02391
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    maps = weighted_sum(activations, tf.reduce_mean(grads, axis=[2, 3]))
    return logits, tf.nn.relu(maps) if relu else maps


def gradcampp(
    model: keras.Model, inputs: tf.Tensor, indices: tf.Tensor | None = None, layer: Layer = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Grad-CAM++: positive gradients weighted per position (Chattopadhyay et al. 2018).

    With ``g = ∂S/∂A`` and the exponential of the score as the paper does, the position weights
    are ``α_ij = g_ij² / (2 g_ij² + g_ij³ Σ_ab A_ab)`` (zero where ``g = 0``), normalised to sum
    to one per channel as in the authors' code; the channel weight is ``Σ_ij α_ij relu(g_ij)``
    and the map is the positive part of the weighted sum of feature maps. The constant factor
    ``exp(S)`` is left out: it scales each class's map and no filter sees it.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`gradcam`).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` non-negative maps.

    References:
        Chattopadhyay, A., Sarkar, A., Howlader, P., & Balasubramanian, V. N. (2018).
        Grad-CAM++: Improved visual explanations for deep convolutional networks.
        https://arxiv.org/abs/1710.11063
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    square = tf.square(grads)
    total = tf.reduce_sum(activations, axis=[1, 2])[:, None, None, None]  # (B, 1, 1, 1, c)
    alphas = tf.math.divide_no_nan(square, 2 * square + square * grads * total)
    alphas = tf.math.divide_no_nan(alphas, tf.reduce_sum(alphas, axis=[2, 3], keepdims=True))
    weights = tf.reduce_sum(alphas * tf.nn.relu(grads), axis=[2, 3])
    return logits, tf.nn.relu(weighted_sum(activations, weights))


def hirescam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    relu: bool = True,
) -> tuple[tf.Tensor, tf.Tensor]:
    """HiResCAM: feature maps times their gradient, position by position (Draelos & Carin).

    The map is ``Σ_c g_c ⊙ A_c`` with ``g = ∂S/∂A``: Grad-CAM without averaging the gradient
    over positions, so that, for heads ending in a linear layer, the map shows exactly the
    positions the score was computed from. On a global-average-pooling + ``Dense`` head the
    gradient is the same at every position and HiResCAM equals Grad-CAM.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`gradcam`).
        relu: Keep only the positive part, as pytorch-grad-cam does (``False``: signed).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` maps at the layer's size.

    References:
        Draelos, R. L., & Carin, L. (2020). Use HiResCAM instead of Grad-CAM for faithful
        explanations of convolutional neural networks. https://arxiv.org/abs/2011.08891
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    maps = tf.einsum("bkhwc,bhwc->bhwk", grads, activations)
    return logits, tf.nn.relu(maps) if relu else maps


def xgradcam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    relu: bool = True,
) -> tuple[tf.Tensor, tf.Tensor]:
    """XGrad-CAM: channels weighted by their activation-weighted gradient (Fu et al. 2020).

    The channel weight is ``α_c = Σ_ij (A_ijc / Σ_ab A_abc) g_ijc``, the weights that make
    the map satisfy the paper's sensitivity and conservation axioms; a channel that is zero
    everywhere gets weight 0. On a global-average-pooling + ``Dense`` head (gradient
    ``w_c / (h·w)`` at every position) ``α_c`` is that per-position weight and XGrad-CAM
    equals Grad-CAM.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`gradcam`).
        relu: Keep only the positive part, as the paper does (``False``: signed).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` maps at the layer's size.

    References:
        Fu, R., Hu, Q., Dong, X., Guo, Y., Gao, Y., & Li, B. (2020). Axiom-based Grad-CAM:
        Towards accurate visualization and explanation of CNNs.
        https://arxiv.org/abs/2008.02312
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    totals = tf.reduce_sum(activations, axis=[1, 2])[:, None]  # (B, 1, c)
    weights = tf.math.divide_no_nan(tf.einsum("bkhwc,bhwc->bkc", grads, activations), totals)
    maps = weighted_sum(activations, weights)
    return logits, tf.nn.relu(maps) if relu else maps


def layercam(
    model: keras.Model, inputs: tf.Tensor, indices: tf.Tensor | None = None, layer: Layer = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """LayerCAM: feature maps times their positive gradient, position by position.

    The map is ``relu(Σ_c relu(g_c) ⊙ A_c)``: each position of each channel weighed by how much
    raising it raises the score, so that shallow layers, where Grad-CAM's averaged weights blur,
    still give fine-grained maps (Jiang et al. 2021, eq. 5-6).

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`gradcam`); LayerCAM is meant for any depth, so
            try shallow layers too.

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` non-negative maps.

    References:
        Jiang, P.-T., Zhang, C.-B., Hou, Q., Cheng, M.-M., & Wei, Y. (2021). LayerCAM:
        Exploring hierarchical class activation maps for localization. IEEE Transactions on
        Image Processing 30, 5875-5888. https://doi.org/10.1109/TIP.2021.3089943
    """
    logits, activations, grads = activation_gradients(model, inputs, indices, layer)
    maps = tf.einsum("bkhwc,bhwc->bhwk", tf.nn.relu(grads), activations)
    return logits, tf.nn.relu(maps)


def guided_gradcam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    reduce: Reduce = "max",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Guided Grad-CAM: guided back-propagation times the upsampled Grad-CAM map.

    The product keeps the pixel-level detail of guided back-propagation where Grad-CAM says the
    class is (Selvaraju et al. 2017, section 3.1). Maps are at the input's resolution.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The Grad-CAM layer (see :func:`gradcam`).
        reduce: Channel reduction of the guided gradients, as for
            :func:`saliency_widgets.methods.gradient.gradients`.

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` maps (``(B, H, W, C, K)``
        when ``reduce`` is ``None``).

    References:
        Selvaraju, R. R., Cogswell, M., Das, A., Vedantam, R., Parikh, D., & Batra, D. (2017).
        Grad-CAM: Visual explanations from deep networks via gradient-based localization.
        https://arxiv.org/abs/1610.02391
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits, coarse = gradcam(model, inputs, indices, layer)
    _, guided = guided_backprop(model, inputs, indices, reduce)
    upsampled = tf.image.resize(coarse, tf.shape(inputs)[1:3])  # (B, H, W, K)
    if reduce is None:
        upsampled = upsampled[:, :, :, None, :]
    return logits, guided * upsampled


__all__ = [
    "activation_gradients",
    "cam",
    "gradcam",
    "gradcampp",
    "guided_gradcam",
    "hirescam",
    "layercam",
    "scorecam",
    "xgradcam",
]
