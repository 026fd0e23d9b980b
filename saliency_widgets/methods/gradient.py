"""Gradient back-propagation (vanilla gradients, Simonyan et al. 2013).

All methods here are pure functions ``method(model, inputs, indices, **params) -> (logits, maps)``
that can be wrapped in ``tf.function(jit_compile=...)``; :func:`saliency_widgets.explain` does the
batching, compilation, filtering and resizing around them.
"""

from __future__ import annotations

from typing import Literal

import keras
import tensorflow as tf

from saliency_widgets.inspection import guided_model

Reduce = Literal["max", "signed_max", "mean", "sum"] | None
REDUCTIONS = ("max", "signed_max", "mean", "sum", None)
MAX_UNROLLED_CLASSES = 16
"""Up to this many classes per call, backward passes are unrolled in the graph (faster on CPU);
beyond it ``batch_jacobian`` keeps the graph small."""


def class_indices(indices: tf.Tensor | None, logits: tf.Tensor) -> tf.Tensor:
    """Turns ``indices`` into a ``(B, K)`` int32 tensor of units to explain.

    Args:
        indices: ``None`` (every unit), ``(B,)`` or ``(B, K)`` integers.
        logits: The model's ``(B, L)`` outputs.

    Returns:
        ``(B, K)`` int32 indices.
    """
    if indices is None:
        units = tf.range(tf.shape(logits)[-1], dtype=tf.int32)
        return tf.tile(units[None], [tf.shape(logits)[0], 1])
    indices = tf.cast(tf.convert_to_tensor(indices), tf.int32)
    return indices[:, None] if indices.shape.rank == 1 else indices


def class_gradients(
    model: keras.Model, inputs: tf.Tensor, indices: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Input gradients of K units per image, from one forward pass.

    One forward pass per batch whatever K is. With K known at trace time (always the case under
    :func:`saliency_widgets.explain`, which pads batches), a persistent tape runs K backward passes
    through the recorded graph. Measured on a 2-core CPU (B=32, K=5, one process): 6.5× a forward
    pass on MobileNetV2 (96²) and on the bundled model, against 9.0× and 14.7× for
    ``batch_jacobian``'s vectorised loop and about 11× for K separate calls; with one backward pass
    costing about 1.2 forward passes there, 6.5× is close to the floor of K backward passes.
    ``batch_jacobian`` remains the fallback when K is only known at run time or exceeds
    ``MAX_UNROLLED_CLASSES``.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)``.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: ``None``, ``(B,)`` or ``(B, K)`` unit indices.

    Returns:
        ``(logits, grads)``: ``(B, L)`` outputs and ``(B, K, H, W, C)`` gradients. Units that do
        not depend on the input get zero gradients, not ``None``/NaN.
    """
    inputs = tf.convert_to_tensor(inputs)
    zero = tf.UnconnectedGradients.ZERO
    with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        tape.watch(inputs)
        logits = model(inputs, training=False)
        chosen = class_indices(indices, logits)
        k = chosen.shape[-1]
        unrolled = k is not None and k <= MAX_UNROLLED_CLASSES
        scores = _picked(logits, chosen) if unrolled else tf.gather(logits, chosen, batch_dims=1)
        # Slices must be recorded on the tape, hence taken inside the context.
        per_class = [scores[:, i] for i in range(k)] if unrolled else []
    if not unrolled:
        grads = tape.batch_jacobian(scores, inputs, unconnected_gradients=zero)
    else:
        grads = tf.stack(
            [tape.gradient(s, inputs, unconnected_gradients=zero) for s in per_class], axis=1
        )
    del tape
    return logits, grads


def _picked(logits: tf.Tensor, chosen: tf.Tensor) -> tf.Tensor:
    """``logits[b, chosen[b, k]]`` as ``(B, K)``, through a one-hot product.

    Same values and gradients as ``tf.gather(logits, chosen, batch_dims=1)``, but each class's
    backward pass goes through a product and a sum instead of ``_GatherV2Grad``, which adds
    hundreds of ops to trace per class: the first (tracing) call of a 6-class explain on the
    bundled model took 2.9-3.7 s instead of 6.3-8.3 s (2-core CPU, load average 9-10;
    ``benchmarks/widget_latency.py``'s cold start). Unrolled classes only (K is small).
    """
    hot = tf.one_hot(chosen, tf.shape(logits)[-1], dtype=logits.dtype)
    return tf.reduce_sum(logits[:, None, :] * hot, axis=-1)


def reduce_channels(grads: tf.Tensor, reduce: Reduce) -> tf.Tensor:
    """Reduces ``(B, K, H, W, C)`` attributions to maps with the class axis last.

    Args:
        grads: Per-class attributions ``(B, K, H, W, C)``.
        reduce: ``"max"`` (max of absolute values, Simonyan et al.), ``"signed_max"`` (the
            signed value of the channel with the largest magnitude: its absolute value is
            ``"max"``'s map, its sign that of the dominant channel), ``"mean"`` or ``"sum"``
            (signed), or ``None`` to keep channels.

    Returns:
        ``(B, H, W, K)`` maps, or ``(B, H, W, C, K)`` when ``reduce`` is ``None``.

    Raises:
        ValueError: For an unknown ``reduce``.
    """
    if reduce == "max":
        maps = tf.reduce_max(tf.abs(grads), axis=-1)
    elif reduce == "signed_max":
        dominant = tf.argmax(tf.abs(grads), axis=-1, output_type=tf.int32)
        maps = tf.gather(grads, dominant, axis=-1, batch_dims=grads.shape.rank - 1)
    elif reduce == "mean":
        maps = tf.reduce_mean(grads, axis=-1)
    elif reduce == "sum":
        maps = tf.reduce_sum(grads, axis=-1)
    elif reduce is None:
        return tf.transpose(grads, [0, 2, 3, 4, 1])
    else:
        raise ValueError(f"reduce={reduce!r}: expected one of {REDUCTIONS}")
    return tf.transpose(maps, [0, 2, 3, 1])


def gradients(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    reduce: Reduce = "max",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Vanilla gradient saliency: how much each pixel moves the score of a class.

    For each image and each unit ``c`` in ``indices``, computes ``∂S_c/∂x`` and reduces it over
    colour channels. With ``reduce="max"`` (the default) this is Simonyan et al.'s saliency map,
    ``M_ij = max_c |∂S/∂x_ijc|``.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits. Use
            :func:`saliency_widgets.explain` to have softmax heads and multi-output models handled.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        reduce: Channel reduction: ``"max"`` of absolute values, signed ``"mean"``/``"sum"``,
            or ``None`` to keep channels.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs and ``(B, H, W, K)`` maps (``(B, H, W, C, K)``
        when ``reduce`` is ``None``).

    Example:
        >>> import numpy as np, tensorflow as tf
        >>> import saliency_widgets as sw
        >>> fn = tf.function(sw.methods.gradient.gradients, jit_compile=True)
        >>> model = sw.zoo.load_shapes_model()
        >>> x = sw.zoo.preprocess(sw.zoo.load_samples(2).images)
        >>> logits, maps = fn(sw.inspection.explained_model(model).model, x, [[0], [1]])
        >>> maps.shape
        TensorShape([2, 64, 64, 1])

    References:
        Simonyan, K., Vedaldi, A., & Zisserman, A. (2013). Deep inside convolutional networks:
        Visualising image classification models and saliency maps.
        https://arxiv.org/abs/1312.6034
    """
    logits, grads = class_gradients(model, inputs, indices)
    return logits, reduce_channels(grads, reduce)


def input_x_gradient(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    reduce: Reduce = "sum",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Input × Gradient: each input value times the gradient of the class score on it.

    A first-order Taylor attribution ``x · ∂S_c/∂x``; for a linear model without bias it sums to
    the score exactly. Integrated Gradients with a zero baseline reduces to it when the model is
    linear along the path.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        reduce: Channel reduction; the default signed ``"sum"`` keeps the attributions additive
            (a pixel's attribution is the sum of its channels').

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` signed maps
        (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    References:
        Shrikumar, A., Greenside, P., Shcherbina, A., & Kundaje, A. (2016). Not just a black
        box: Learning important features through propagating activation differences.
        https://arxiv.org/abs/1605.01713
    """
    inputs = tf.convert_to_tensor(inputs)
    logits, grads = class_gradients(model, inputs, indices)
    return logits, reduce_channels(grads * inputs[:, None], reduce)


def guided_backprop(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    reduce: Reduce = "max",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Guided back-propagation: gradients where every ReLU also blocks negative gradients.

    Computed on :func:`saliency_widgets.inspection.guided_model`, a rebuilt model with the same
    layers and a gradient gate after each ReLU (public ``tf.custom_gradient``, no private Keras
    or TensorFlow internals, no gradient override map). The maps look sharp, but Adebayo et al.
    (2018) showed they barely depend on the model's upper layers: run
    :func:`saliency_widgets.metrics.randomization_check` before trusting them.

    Args:
        model: A functional or Sequential model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        reduce: Channel reduction, as for :func:`gradients`.

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` maps (``(B, H, W, C, K)``
        when ``reduce`` is ``None``).

    References:
        Springenberg, J. T., Dosovitskiy, A., Brox, T., & Riedmiller, M. (2015). Striving for
        simplicity: The all convolutional net. https://arxiv.org/abs/1412.6806
    """
    logits, grads = class_gradients(guided_model(model), inputs, indices)
    return logits, reduce_channels(grads, reduce)


__all__ = [
    "REDUCTIONS",
    "class_gradients",
    "class_indices",
    "gradients",
    "guided_backprop",
    "input_x_gradient",
    "reduce_channels",
]
