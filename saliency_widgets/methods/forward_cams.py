"""Class activation maps from forward passes only: Score-CAM, Ablation-CAM and Eigen-CAM.

No gradient is taken. Each weighs the channels of a spatial activation ``A`` (``(B, h, w, c)``,
the same layer as the gradient CAMs of :mod:`~saliency_widgets.methods.cams`, nested backbones
included, and a transformer's token layers folded into their patch grid) and sums them into
``(B, h, w, K)`` maps at the layer's resolution:

- **Score-CAM**: the class score of the input masked by each upsampled channel.
- **Ablation-CAM**: the relative drop of the class score when the channel is zeroed; only the
  layers after the cut run again (:func:`saliency_widgets.inspection.head_model`), on all the
  ablations of a batch at once or in chunks of ``channel_batch``.
- **Eigen-CAM**: no class at all: the activations projected on their first principal component.

Perturbed copies go through the model in chunks (:mod:`~saliency_widgets.methods.chunks`), so
memory does not grow with the number of channels.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from saliency_widgets._checks import positive_int
from saliency_widgets.inspection import fed, head_model, repeated, spatial_model, unwrapped
from saliency_widgets.methods.chunks import chunk_size, chunked_sum
from saliency_widgets.methods.feature_maps import Layer, ScoreActivation, class_scores
from saliency_widgets.methods.gradient import class_indices


def _check_chunk(name: str, value: int | None) -> None:
    if value is not None:
        positive_int(name, value)


def scorecam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    top_channels: int | None = None,
    channel_batch: int | None = 8,
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
        layer: The feature layer (see :func:`saliency_widgets.methods.cams.gradcam`).
        top_channels: Keep only this many channels per image (``None``: all).
        channel_batch: Channels masked per model call (``None``: as many as keep the masked
            copies under :data:`~saliency_widgets.methods.chunks.COPIES_BUDGET_BYTES`).
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
    _check_chunk("channel_batch", channel_batch)
    _check_chunk("top_channels", top_channels)
    class_scores(tf.zeros([1, 1]), activation)  # validates before tracing the loop
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    activations, logits = spatial_model(model, layer).model(inputs, training=False)
    indices = class_indices(indices, logits)
    channels = int(activations.shape[-1])
    if top_channels is not None and top_channels < channels:
        spread = tf.math.reduce_variance(activations, axis=[1, 2])  # (B, c)
        chosen = tf.math.top_k(spread, k=top_channels).indices
        activations = tf.gather(activations, chosen, axis=3, batch_dims=1)
        channels = top_channels
    image_bytes = 4 * math.prod(inputs.shape[1:])
    chunk = chunk_size(channel_batch, channels, image_bytes, inputs.shape[0])
    per_copy = repeated(model, chunk)  # other inputs (if any) beside each masked copy
    size = tf.shape(inputs)[1:3]
    k = indices.shape[-1]

    def weighted(numbers: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
        maps = tf.gather(activations, numbers, axis=3)  # (B, h, w, n)
        upsampled = tf.image.resize(maps, size)  # (B, H, W, n)
        low = tf.reduce_min(upsampled, axis=[1, 2], keepdims=True)
        high = tf.reduce_max(upsampled, axis=[1, 2], keepdims=True)
        masks = tf.math.divide_no_nan(upsampled - low, high - low)
        varies = tf.cast(tf.squeeze(high > low, [1, 2]), tf.float32) * valid  # (B, n)
        masked = inputs[:, None] * tf.transpose(masks, [0, 3, 1, 2])[..., None]  # (B, n, H, W, C)
        masked = tf.reshape(masked, tf.concat([[-1], tf.shape(inputs)[1:]], 0))
        scores = class_scores(per_copy(masked, training=False), activation)  # (B·n, L)
        scores = tf.reshape(scores, [-1, chunk, tf.shape(scores)[-1]])
        chosen = tf.gather(scores, indices, axis=2, batch_dims=1)  # (B, n, K)
        chosen.set_shape([None, chunk, k])
        return tf.einsum("bhwn,bnk->bhwk", maps, chosen * varies[..., None])

    return logits, tf.nn.relu(chunked_sum(channels, chunk, weighted))


def ablationcam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    channel_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Ablation-CAM: channels weighted by how much the score drops when each is zeroed.

    With ``y`` the class score (logit) and ``y_k`` the score once channel ``k`` of the layer's
    activations is set to zero, the channel weight is ``(y - y_k) / y`` (Desai & Ramaswamy 2020,
    eq. 3) and the map is the positive part of the weighted sum of feature maps. A score of 0
    gives weights 0.

    Only the layers after the cut run on the ablated activations
    (:func:`saliency_widgets.inspection.head_model`): one forward pass of the whole model per
    batch, then ``c`` ablations per image through the head, ``channel_batch`` channels per call
    (``None``: as many as keep the ablated copies under
    :data:`~saliency_widgets.methods.chunks.COPIES_BUDGET_BYTES`; all 128 of the bundled model's
    last layer in one call for a batch of 32). If a skip connection jumps over the layer, the
    part before it runs again on the copies, so the result is still exact. On a transformer's
    token layer the same happens for the class / register tokens, which are not in the grid but
    are read after it: each ablated copy costs a pass of the whole model.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        layer: The feature layer (see :func:`saliency_widgets.methods.cams.gradcam`); it must
            be called once in the model.
        channel_batch: Channels ablated per call of the head (``None``: the budget's).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` non-negative maps.

    Raises:
        ValueError: For ``channel_batch < 1``.

    References:
        Desai, S., & Ramaswamy, H. G. (2020). Ablation-CAM: Visual explanations for deep
        convolutional network via gradient-free localization. WACV 2020, 983-991.
        https://doi.org/10.1109/WACV45572.2020.9093360
    """
    _check_chunk("channel_batch", channel_batch)
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    head = head_model(unwrapped(model), layer)  # fed every input when it reads them
    activations, logits = spatial_model(model, layer).model(inputs, training=False)
    indices = class_indices(indices, logits)
    scores = tf.gather(logits, indices, batch_dims=1)  # (B, K)
    channels = int(activations.shape[-1])
    copy_bytes = 4 * math.prod(activations.shape[1:])
    if head.takes_inputs:
        copy_bytes += 4 * math.prod(inputs.shape[1:])
    chunk = chunk_size(channel_batch, channels, copy_bytes, inputs.shape[0])
    per_copy = repeated(model, chunk)

    def weighted(numbers: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
        keep = 1.0 - tf.one_hot(numbers, channels)  # (n, c)
        ablated = activations[:, None] * keep[None, :, None, None, :]  # (B, n, h, w, c)
        ablated = tf.reshape(ablated, tf.concat([[-1], tf.shape(activations)[1:]], 0))
        if head.takes_inputs:
            copies = tf.repeat(inputs, chunk, axis=0)  # image b for each of its n ablations
            outputs = head.model([fed(per_copy, copies), ablated], training=False)
        else:
            outputs = head.model(ablated, training=False)
        outputs = tf.reshape(outputs, [-1, chunk, tf.shape(outputs)[-1]])  # (B, n, L)
        dropped = tf.gather(outputs, indices, axis=2, batch_dims=1)  # (B, n, K)
        weights = tf.math.divide_no_nan(scores[:, None] - dropped, scores[:, None])
        maps = tf.gather(activations, numbers, axis=3)  # (B, h, w, n)
        return tf.einsum("bhwn,bnk->bhwk", maps, weights * valid[None, :, None])

    return logits, tf.nn.relu(chunked_sum(channels, chunk, weighted))


def eigencam(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    layer: Layer = None,
    center: bool = False,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Eigen-CAM: the activations projected on their first principal component.

    The ``(h·w, c)`` matrix of the layer's activations is projected on its first right
    singular vector ``v₁`` (the top eigenvector of ``AᵀA``): the map is ``A v₁``, the
    direction in channel space along which the positions differ most. No gradient and no class
    enter: every class of an image gets the same map.

    A singular vector's sign is arbitrary; here it is chosen so that the map correlates
    positively with the channel-summed activation ``Σ_c A_c`` (where the layer is most active
    is highlighted), and the map's positive part is kept. With ``center=False`` (the paper) and
    non-negative activations (after a ReLU) ``v₁`` has one sign and the map is non-negative
    before the ReLU; ``center=True`` subtracts each channel's spatial mean first, as
    pytorch-grad-cam does.

    Args:
        model: A functional or Sequential model with one ``(B, L)`` logits output.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain (they set K, the number of identical maps per image).
        layer: The feature layer (see :func:`saliency_widgets.methods.cams.gradcam`).
        center: Center the activations per channel before the decomposition.

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, h, w, K)`` non-negative maps.

    References:
        Muhammad, M. B., & Yeasin, M. (2020). Eigen-CAM: Class activation map using principal
        components. https://arxiv.org/abs/2008.00299
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    activations, logits = spatial_model(model, layer).model(inputs, training=False)
    indices = class_indices(indices, logits)
    shape = tf.shape(activations)
    flat = tf.reshape(activations, [shape[0], -1, shape[3]])  # (B, hw, c)
    if center:
        flat = flat - tf.reduce_mean(flat, axis=1, keepdims=True)
    _, vectors = tf.linalg.eigh(tf.einsum("bnc,bnd->bcd", flat, flat))
    projection = tf.einsum("bnc,bc->bn", flat, vectors[:, :, -1])  # eigenvalues ascend
    # Σ_n p_n t_n with t uncentered: the covariance with t when p is centered, and never
    # negative for non-negative activations and the one-signed v₁ they have.
    total = tf.reduce_sum(tf.reshape(activations, [shape[0], -1, shape[3]]), axis=2)
    sign = tf.where(tf.reduce_sum(projection * total, axis=1, keepdims=True) < 0, -1.0, 1.0)
    maps = tf.nn.relu(tf.reshape(sign * projection, shape[:3]))[..., None]
    return logits, tf.tile(maps, [1, 1, 1, tf.shape(indices)[1]])


__all__ = ["ablationcam", "eigencam", "scorecam"]
