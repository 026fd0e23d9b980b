"""Layer-wise relevance propagation (LRP, Bach et al. 2015) on Keras 3.

Relevance starts at the explained unit as its score ``f_c(x)`` and flows back layer by layer,
each layer handing its output's relevance to its inputs by a rule:

- **ε** (``"epsilon"``): ``Rᵢ = Σⱼ xᵢ wᵢⱼ / (zⱼ + ε·sign zⱼ) · Rⱼ``; as ``ε → 0`` on a ReLU
  network this is Input × Gradient.
- **z⁺** (``"zplus"``): only positive contributions (``x⁺w⁺ + x⁻w⁻``) share the relevance.
- **αβ** (``"alphabeta"``): ``α`` times the share of the positive contributions minus ``β``
  times that of the negative ones, with ``α = 1 + β`` so relevance is conserved;
  ``β = 0`` is z⁺.
- **composite** (the default, zennit's ``EpsilonPlusFlat``): ε on Dense layers, z⁺ on
  convolutions, and the *flat* rule on the first layer (relevance spread evenly over each
  unit's receptive field, so the map does not copy the input's texture).

The first layer may also take ``"wsquare"`` (``w²``) or ``"zbox"`` (Montavon et al.'s zᴮ, bounded
by each image's minimum and maximum). Batch normalisations are folded into the convolution or
dense layer before them; average pooling and ``Add`` split relevance in proportion to their
inputs; max pooling routes it to the maximum; activations pass it through (zennit's ``Pass``:
so on a clipped activation such as MobileNetV2's ReLU6, LRP-0 is not Input × Gradient, whose
gradient is 0 above the clip; on ReLU networks it is). It runs on
:func:`saliency_widgets.inspection.relevance_model`, a new model around the user's layers whose
backward passes are the rules, so one backward pass per class gives the map; layers it has no
rule for are refused by name and class before anything is traced.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.inspection import BODY_RULES, Rule, Rules, relevance_model
from saliency_widgets.methods.gradient import (
    Reduce,
    class_gradients,
    class_indices,
    reduce_channels,
)

RULES = ("composite", *BODY_RULES)
"""Rules chosen by name: one for the whole network, or the composite."""


def lrp_rules(
    rule: str = "composite",
    epsilon: float = 1e-6,
    beta: float = 1.0,
    first_rule: str | None = None,
) -> Rules:
    """Which rule each kind of layer gets, from the method's parameters.

    Args:
        rule: One of :data:`RULES`.
        epsilon: The ε rule's ε, and every rule's stabiliser.
        beta: The αβ rule's ``β`` (``α = 1 + β``).
        first_rule: Rule of the first layer (``"flat"``, ``"wsquare"``, ``"zbox"`` or a body
            rule); ``None``: flat for the composite, the network's rule otherwise.

    Returns:
        The :class:`~saliency_widgets.inspection.Rules`.

    Raises:
        ValueError: For an unknown rule.
    """
    if rule not in RULES:
        raise ValueError(f"rule={rule!r}: expected one of {list(RULES)}")

    def make(name: str) -> Rule:
        return Rule(name, float(epsilon), 1.0 + float(beta), float(beta))

    if rule == "composite":
        return Rules(make("epsilon"), make("zplus"), make(first_rule or "flat"))
    return Rules(make(rule), make(rule), make(first_rule) if first_rule else None)


def lrp(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    rule: str = "composite",
    epsilon: float = 1e-6,
    beta: float = 1.0,
    first_rule: str | None = None,
    reduce: Reduce = "sum",
) -> tuple[tf.Tensor, tf.Tensor]:
    """Layer-wise relevance propagation: the score of a class, redistributed to the pixels.

    Args:
        model: A functional or Sequential model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        rule: ``"composite"`` (ε on Dense, z⁺ on convolutions, flat on the first layer),
            ``"epsilon"``, ``"zplus"`` or ``"alphabeta"`` everywhere.
        epsilon: The ε rule's ε (zennit's default 1e-6 is LRP-0 in all but name; 0.1-1 damps
            weak, contradictory contributions), and every rule's stabiliser.
        beta: The αβ rule's ``β``, with ``α = 1 + β`` (default α=2, β=1).
        first_rule: Rule of the first linear layer(s): ``"flat"``, ``"wsquare"``, ``"zbox"`` or
            a body rule; ``None``: flat for the composite, the network's rule otherwise.
        reduce: Channel reduction; the default signed ``"sum"`` keeps conservation
            (``maps.sum() ≈ f_c(x)`` with bias-free layers).

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs and ``(B, H, W, K)`` relevance maps
        (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    Raises:
        ValueError: For an unknown rule, or a layer LRP has no rule for (named with its class).

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> logits, maps = sw.lrp(model, sw.zoo.preprocess(samples.images), samples.labels)
        >>> maps.shape
        (2, 64, 64, 1)

    References:
        Bach, S., Binder, A., Montavon, G., Klauschen, F., Müller, K.-R., & Samek, W. (2015).
        On pixel-wise explanations for non-linear classifier decisions by layer-wise relevance
        propagation. https://doi.org/10.1371/journal.pone.0130140

        Montavon, G., Binder, A., Lapuschkin, S., Samek, W., & Müller, K.-R. (2019).
        Layer-wise relevance propagation: an overview. https://doi.org/10.1007/978-3-030-28954-6_10

        Kohlbrenner, M., Bauer, A., Nakajima, S., Binder, A., Samek, W., & Lapuschkin, S.
        (2020). Towards best practice in explaining neural network decisions with LRP.
        https://arxiv.org/abs/1910.09840
    """
    rules = lrp_rules(rule, epsilon, beta, first_rule)
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits, grads = class_gradients(relevance_model(model, rules), inputs, indices)
    scores = tf.gather(logits, class_indices(indices, logits), batch_dims=1)  # (B, K)
    return logits, reduce_channels(grads * scores[:, :, None, None, None], reduce)


def relevance_by_layer(
    model: keras.Model,
    inputs: tf.Tensor,
    index: int,
    rule: str = "composite",
    epsilon: float = 1e-6,
    beta: float = 1.0,
    first_rule: str | None = None,
) -> dict[str, np.ndarray]:
    """Total relevance at the input and at the output of every rule-bearing layer.

    Relevance is conserved by z⁺, αβ and (as ε → 0) ε through bias-free layers: every total
    equals the score. This is how the conservation is checked, layer by layer.

    Args:
        model: A functional or Sequential model (no nested models).
        inputs: ``(B, H, W, C)`` inputs.
        index: The explained unit.
        rule: As for :func:`lrp`.
        epsilon: As for :func:`lrp`.
        beta: As for :func:`lrp`.
        first_rule: As for :func:`lrp`.

    Returns:
        ``(B,)`` totals by layer name (``"input"`` for the input, ``"lrp_<layer>"`` for a layer's
        output), in call order, and ``"score"``: the explained unit's output.
    """
    network = relevance_model(model, lrp_rules(rule, epsilon, beta, first_rule))
    probed = [layer for layer in network.layers if layer.name.startswith("lrp_")]
    probe = keras.Model(network.inputs, [network.output, *(layer.output for layer in probed)])
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(inputs)
        logits, *middle = probe(inputs, training=False)
        score = logits[:, index]
    grads = tape.gradient(score, [inputs, *middle])
    totals = {"score": score.numpy()}
    for name, tensor, grad in zip(
        ["input", *(layer.name for layer in probed)], [inputs, *middle], grads, strict=True
    ):  # relevance = gradient x score (the model's gradient is relevance for R_out = 1)
        axes = list(range(1, len(tensor.shape)))
        totals[name] = (tf.reduce_sum(grad, axis=axes) * score).numpy()
    return totals


__all__ = ["RULES", "lrp", "lrp_rules", "relevance_by_layer"]
