"""LRP rules as backward passes: relevance at a layer's output → relevance at its input.

Each rule is written as zennit writes its hooks (Montavon et al. 2019, "LRP: an overview"):
for a linear map ``z = f(x; W, b)`` the relevance ``R`` of the outputs is divided by a
stabilised ``z`` computed with modified inputs and weights, sent back through the transposed
map (a vector-Jacobian product), and multiplied by the modified inputs. Weights here are already
folded with a following batch normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tensorflow as tf

Linear = Callable[[tf.Tensor, tf.Tensor, tf.Tensor | None], tf.Tensor]
"""``f(x, W, b)``: the layer's linear map with the given weights (``b=None``: no bias)."""

BODY_RULES = ("epsilon", "zplus", "alphabeta")
FIRST_RULES = ("flat", "wsquare", "zbox", *BODY_RULES)


@dataclass(frozen=True)
class Rule:
    """A rule and its constants.

    Attributes:
        name: One of :data:`FIRST_RULES`.
        epsilon: The ε rule's stabiliser (added with the sign of ``z``; ``0`` counts as
            positive), also the stabiliser of every other rule's denominator.
        alpha: Weight of the positive contributions (αβ rule).
        beta: Weight of the negative contributions (αβ rule).
    """

    name: str
    epsilon: float = 1e-6
    alpha: float = 2.0
    beta: float = 1.0


def stabilize(z: tf.Tensor, epsilon: float) -> tf.Tensor:
    """``z + ε·sign(z)``, with ``sign(0) = +1``: never zero, and the ε rule's damping."""
    return z + tf.where(z >= 0, epsilon, -epsilon)


def _vjp(f: Linear, x: tf.Tensor, weights: tf.Tensor, upstream: tf.Tensor) -> tf.Tensor:
    """``Jᵀ upstream`` of ``x ↦ f(x, weights, None)`` (linear in ``x``)."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        z = f(x, weights, None)
    return tape.gradient(z, x, output_gradients=upstream)


def _positive(t: tf.Tensor | None) -> tf.Tensor | None:
    return None if t is None else tf.maximum(t, 0.0)


def _negative(t: tf.Tensor | None) -> tf.Tensor | None:
    return None if t is None else tf.minimum(t, 0.0)


def _add_bias(z: tf.Tensor, bias: tf.Tensor | None) -> tf.Tensor:
    return z if bias is None else z + bias


def linear_relevance(
    rule: Rule,
    f: Linear,
    x: tf.Tensor,
    kernel: tf.Tensor,
    bias: tf.Tensor | None,
    relevance: tf.Tensor,
    bounds: tuple[tf.Tensor, tf.Tensor] | None = None,
) -> tf.Tensor:
    """Relevance of the inputs of a linear layer under ``rule``.

    Args:
        rule: The rule.
        f: The layer's linear map.
        x: The layer's input.
        kernel: Its (folded) weights.
        bias: Its (folded) bias, or ``None``.
        relevance: Relevance of its outputs.
        bounds: ``(low, high)`` input bounds, broadcastable to ``x`` (``zbox`` only).

    Returns:
        Relevance of ``x``, same shape.
    """
    eps = rule.epsilon
    if rule.name == "epsilon":
        s = relevance / stabilize(_add_bias(f(x, kernel, None), bias), eps)
        return x * _vjp(f, x, kernel, s)
    pos_x, neg_x = tf.maximum(x, 0.0), tf.minimum(x, 0.0)
    pos_w, neg_w = tf.maximum(kernel, 0.0), tf.minimum(kernel, 0.0)
    # Positive contributions: x⁺w⁺ + x⁻w⁻ (+ b⁺); negative ones: x⁺w⁻ + x⁻w⁺ (+ b⁻).
    positive = _add_bias(f(pos_x, pos_w, None) + f(neg_x, neg_w, None), _positive(bias))
    if rule.name in ("zplus", "alphabeta"):
        s = relevance / stabilize(positive, eps)
        kept = pos_x * _vjp(f, x, pos_w, s) + neg_x * _vjp(f, x, neg_w, s)
        if rule.name == "zplus" or rule.beta == 0:
            return kept if rule.name == "zplus" else rule.alpha * kept
        negative = _add_bias(f(pos_x, neg_w, None) + f(neg_x, pos_w, None), _negative(bias))
        s = relevance / stabilize(negative, eps)
        dropped = pos_x * _vjp(f, x, neg_w, s) + neg_x * _vjp(f, x, pos_w, s)
        return rule.alpha * kept - rule.beta * dropped
    if rule.name in ("flat", "wsquare"):
        weights = tf.ones_like(kernel) if rule.name == "flat" else tf.square(kernel)
        squared = None if (bias is None or rule.name == "flat") else tf.square(bias)
        ones = tf.ones_like(x)
        s = relevance / stabilize(_add_bias(f(ones, weights, None), squared), eps)
        return _vjp(f, x, weights, s)
    if rule.name == "zbox":
        if bounds is None:
            raise ValueError("the zbox rule needs input bounds")
        low = tf.broadcast_to(tf.cast(bounds[0], x.dtype), tf.shape(x))
        high = tf.broadcast_to(tf.cast(bounds[1], x.dtype), tf.shape(x))
        z = f(x, kernel, None) - f(low, pos_w, None) - f(high, neg_w, None)
        s = relevance / stabilize(z, eps)
        return x * _vjp(f, x, kernel, s) - low * _vjp(f, x, pos_w, s) - high * _vjp(f, x, neg_w, s)
    raise ValueError(f"rule={rule.name!r}: expected one of {FIRST_RULES}")


def proportional_relevance(
    inputs: list[tf.Tensor], forward: Callable[..., tf.Tensor], relevance: tf.Tensor, eps: float
) -> list[tf.Tensor]:
    """The LRP-0 rule of a weight-free linear layer (sums, averages): ``Rᵢ = xᵢ ∂f/∂xᵢ · R / f``.

    zennit's ``Norm`` rule, for ``Add`` and average pooling: each input gets relevance in
    proportion to its contribution to the output.
    """
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        for x in inputs:
            tape.watch(x)
        z = forward(*inputs)
    grads = tape.gradient(z, inputs, output_gradients=relevance / stabilize(z, eps))
    return [x * g for x, g in zip(inputs, grads, strict=True)]


def tie(
    inputs: list[tf.Tensor],
    output: tf.Tensor,
    backward: Callable[[tf.Tensor], list[tf.Tensor]],
) -> tf.Tensor:
    """``output`` unchanged, whose gradient to ``inputs`` is ``backward(upstream)``.

    The forward value is the layer's own (computed by the caller with the user's layer, so it is
    exact); only the backward pass is replaced. ``output``'s own graph gets no gradient.
    """

    @tf.custom_gradient
    def tied(*args: tf.Tensor) -> tuple[tf.Tensor, Callable]:
        def grad(upstream: tf.Tensor) -> tuple[tf.Tensor, ...]:
            return (*backward(upstream), tf.zeros_like(args[-1]))

        return tf.identity(args[-1]), grad

    return tied(*inputs, output)


__all__ = [
    "BODY_RULES",
    "FIRST_RULES",
    "Rule",
    "linear_relevance",
    "proportional_relevance",
    "stabilize",
    "tie",
]
