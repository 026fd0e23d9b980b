"""What class activation maps are made of: activations, gradients, weighted sums, scores.

A spatial layer's activations and the gradients of class scores on them, channel weights summed
into maps, and the class scores of perturbed inputs. The CAM modules
(:mod:`~saliency_widgets.methods.cams` for gradient-weighted CAMs,
:mod:`~saliency_widgets.methods.forward_cams` for those computed from forward passes only) and
the perturbation methods build on these.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import keras
import tensorflow as tf

from saliency_widgets.inspection import TokenLayer, spatial_model
from saliency_widgets.methods.gradient import MAX_UNROLLED_CLASSES, class_indices

Layer: TypeAlias = "str | keras.Layer | TokenLayer | None"
ScoreActivation = Literal["softmax", "sigmoid"] | None
SCORE_ACTIVATIONS = ("softmax", "sigmoid", None)
"""How perturbation methods turn logits into scores: the softmax or sigmoid head, or as they are."""


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


def weighted_sum(activations: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Feature maps summed with per-class channel weights.

    Args:
        activations: ``(B, h, w, c)`` feature maps ``A``.
        weights: ``(B, K, c)`` channel weights ``w``.

    Returns:
        ``Σ_c w[b, k, c] · A[b, :, :, c]`` as ``(B, h, w, K)``.
    """
    return tf.einsum("bhwc,bkc->bhwk", activations, weights)


def class_scores(logits: tf.Tensor, activation: ScoreActivation) -> tf.Tensor:
    """The scores a perturbation method compares: logits through the head's activation.

    Args:
        logits: ``(N, L)`` logits.
        activation: ``"softmax"``, ``"sigmoid"`` or ``None`` (the logits as they are).

    Returns:
        ``(N, L)`` scores.

    Raises:
        ValueError: For another activation.
    """
    if activation == "softmax":
        return tf.nn.softmax(logits, axis=-1)
    if activation == "sigmoid":
        return tf.sigmoid(logits)
    if activation is None:
        return logits
    raise ValueError(f"activation={activation!r}: expected 'softmax', 'sigmoid' or None")


__all__ = [
    "SCORE_ACTIVATIONS",
    "Layer",
    "ScoreActivation",
    "activation_gradients",
    "class_scores",
    "weighted_sum",
]
