"""Class activation maps: CAM, Grad-CAM, Grad-CAM++, Score-CAM and Guided Grad-CAM.

Each weighs the channels of a spatial activation ``A`` (``(B, h, w, c)``, by default the last
4-D activation before global pooling, see :func:`saliency_widgets.inspection.spatial_model`) and
sums them into a ``(B, h, w, K)`` map at the layer's resolution;
:func:`saliency_widgets.explain` resizes it to the input when ``resizing=True``. The layer may be
given by name or path, including inside a nested backbone (``"resnet50v2/post_relu"``).

How the channel weights are found:

- **CAM**: the summed gradient of the score over the activation, which for the architecture CAM
  was defined on (global average pooling then ``Dense``) is exactly the ``Dense`` weight of the
  channel; for other heads it is the first-order equivalent.
- **Grad-CAM**: the spatially averaged gradient; the map keeps its positive part.
- **Grad-CAM++**: pixel-wise weighted positive gradients (the paper's closed form for the second
  and third derivatives of ``exp(S)``).
- **Score-CAM**: no gradients; the softmax score of the class when the input is masked by each
  channel's activation (upsampled, scaled to ``[0, 1]``). The masked images go through the
  model ``channel_batch`` channels at a time, and ``top_channels`` keeps only the channels with
  the largest spatial variance (Faster Score-CAM).
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import keras
import tensorflow as tf

from saliency_widgets.inspection import spatial_model
from saliency_widgets.methods.gradient import (
    MAX_UNROLLED_CLASSES,
    Reduce,
    class_indices,
    guided_backprop,
)

Layer: TypeAlias = "str | keras.Layer | None"
ScoreActivation = Literal["softmax", "sigmoid"] | None


def activation_gradients(
    model: keras.Model, inputs: tf.Tensor, indices: tf.Tensor | None, layer: Layer = None
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Activations of a spatial layer and the gradients of K class scores on them.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` output.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: Units to explain: ``None``, ``(B,)`` or ``(B, K)`` integers.
        layer: The spatial layer (see :func:`saliency_widgets.inspection.spatial_model`).

    Returns:
        ``(logits, activations, grads)``: ``(B, L)``, ``(B, h, w, c)`` and ``(B, K, h, w, c)``.
    """
    two = spatial_model(model, layer).model
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    zero = tf.UnconnectedGradients.ZERO
    # Watching the inputs records the forward pass, so the tape can differentiate with respect
    # to the intermediate activation (nothing is back-propagated below it).
    with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(inputs)
        activations, logits = two(inputs, training=False)
        scores = tf.gather(logits, class_indices(indices, logits), batch_dims=1)
        k = scores.shape[-1]
        unrolled = k is not None and k <= MAX_UNROLLED_CLASSES
        per_class = [scores[:, i] for i in range(k)] if unrolled else []
    if unrolled:
        grads = tf.stack(
            [tape.gradient(s, activations, unconnected_gradients=zero) for s in per_class], axis=1
        )
    else:
        grads = tape.batch_jacobian(scores, activations, unconnected_gradients=zero)
    del tape
    return logits, activations, grads


def _weighted_sum(activations: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """``Σ_c weights[b, k, c] · A[b, :, :, c]`` as ``(B, h, w, K)``."""
    return tf.einsum("bhwc,bkc->bhwk", activations, weights)


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
    return logits, _weighted_sum(activations, tf.reduce_sum(grads, axis=[2, 3]))


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
            or a name, a path into a nested model (``"resnet50v2/post_relu"``) or a layer.
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
    maps = _weighted_sum(activations, tf.reduce_mean(grads, axis=[2, 3]))
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
    return logits, tf.nn.relu(_weighted_sum(activations, weights))


def _scores(logits: tf.Tensor, activation: ScoreActivation) -> tf.Tensor:
    if activation == "softmax":
        return tf.nn.softmax(logits, axis=-1)
    if activation == "sigmoid":
        return tf.sigmoid(logits)
    if activation is None:
        return logits
    raise ValueError(f"activation={activation!r}: expected 'softmax', 'sigmoid' or None")


def scorecam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    top_channels: int | None = None,
    channel_batch: int = 8,
    activation: ScoreActivation = "softmax",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Score-CAM: channels weighted by the class score of the input masked by each of them.

    Each channel's activation is upsampled to the input size and scaled to ``[0, 1]``; the
    input multiplied by it goes through the model, and the class's softmax score (as in the
    paper and its reference code) becomes the channel's weight. Constant channels carry no
    location and get weight 0. The map is the positive part of the weighted sum of feature maps.

    Cost is one forward pass per (image, channel), shared by all K classes; masked images go
    through the model ``channel_batch`` channels at a time, ``channel_batch × B`` images per
    call. ``top_channels=N`` keeps, per image, the N channels with the largest spatial variance
    (Faster Score-CAM), dividing the cost by ``c / N``.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model; masking
            multiplies them, so a masked-out pixel becomes 0.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`gradcam`).
        top_channels: Keep only this many channels per image (``None``: all).
        channel_batch: Channels masked per model call.
        activation: Turns the logits into scores: ``"softmax"`` (the paper), ``"sigmoid"`` for
            multi-label heads, ``None`` when the model already outputs scores
            (``explain(..., logits=False)``).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` non-negative maps.

    Raises:
        ValueError: For ``channel_batch < 1``, ``top_channels < 1`` or an unknown activation.

    References:
        Wang, H., Wang, Z., Du, M., Yang, F., Zhang, Z., Ding, S., Mardziel, P., & Hu, X.
        (2020). Score-CAM: Score-weighted visual explanations for convolutional neural
        networks. https://arxiv.org/abs/1910.01279
    """
    if isinstance(channel_batch, bool) or not isinstance(channel_batch, int) or channel_batch < 1:
        raise ValueError(f"channel_batch must be a positive int, got {channel_batch!r}")
    if top_channels is not None and (not isinstance(top_channels, int) or top_channels < 1):
        raise ValueError(f"top_channels must be a positive int or None, got {top_channels!r}")
    _scores(tf.zeros([1, 1]), activation)  # validates before tracing the loop
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    activations, logits = spatial_model(model, layer).model(inputs, training=False)
    indices = class_indices(indices, logits)
    channels = int(activations.shape[-1])
    if top_channels is not None and top_channels < channels:
        spread = tf.math.reduce_variance(activations, axis=[1, 2])  # (B, c)
        chosen = tf.math.top_k(spread, k=top_channels).indices
        activations = tf.gather(activations, chosen, axis=3, batch_dims=1)
        channels = top_channels
    channel_batch = min(channel_batch, channels)
    chunks = -(-channels // channel_batch)
    padding = chunks * channel_batch - channels
    padded = tf.pad(activations, [[0, 0], [0, 0], [0, 0], [0, padding]])
    shape = tf.shape(padded)
    grouped = tf.reshape(padded, tf.concat([shape[:3], [chunks, channel_batch]], 0))
    size = tf.shape(inputs)[1:3]
    k = indices.shape[-1]

    def weighted(chunk: tf.Tensor) -> tf.Tensor:
        maps = tf.gather(grouped, chunk, axis=3)  # (B, h, w, n)
        upsampled = tf.image.resize(maps, size)  # (B, H, W, n)
        low = tf.reduce_min(upsampled, axis=[1, 2], keepdims=True)
        high = tf.reduce_max(upsampled, axis=[1, 2], keepdims=True)
        masks = tf.math.divide_no_nan(upsampled - low, high - low)
        varies = tf.cast(tf.squeeze(high > low, [1, 2]), tf.float32)  # (B, n)
        masked = inputs[:, None] * tf.transpose(masks, [0, 3, 1, 2])[..., None]  # (B, n, H, W, C)
        masked = tf.reshape(masked, tf.concat([[-1], tf.shape(inputs)[1:]], 0))
        scores = _scores(model(masked, training=False), activation)  # (B·n, L)
        scores = tf.reshape(scores, [-1, channel_batch, tf.shape(scores)[-1]])
        chosen = tf.gather(scores, indices, axis=2, batch_dims=1)  # (B, n, K)
        chosen.set_shape([None, channel_batch, k])
        return tf.einsum("bhwn,bnk->bhwk", maps, chosen * varies[..., None])

    total = weighted(tf.constant(0))
    _, total = tf.while_loop(
        lambda c, _: c < chunks,
        lambda c, acc: (c + 1, acc + weighted(c)),
        (tf.constant(1), total),
        parallel_iterations=1,
    )
    return logits, tf.nn.relu(total)


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


__all__ = ["activation_gradients", "cam", "gradcam", "gradcampp", "guided_gradcam", "scorecam"]
