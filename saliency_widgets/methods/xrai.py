"""XRAI (Kapishnikov et al. 2019): attributions pooled over image regions, regions ranked greedily.

XRAI turns a pixel attribution into a map of regions. It segments the image into overlapping
candidate regions (:mod:`~saliency_widgets.methods.segments`: Felzenszwalb at six scales,
dilated), then grows a selection greedily: at each step it adds the region whose *new* pixels
have the highest mean attribution (the gain), and every pixel takes the gain of the step that
added it. Regions that would add fewer than ``min_pixel_diff`` new pixels are dropped; pixels no
region covers take the mean attribution of the rest. The default attribution is PAIR
``saliency``'s: Integrated Gradients averaged over a black and a white baseline (each image's
minimum and maximum), channels merged by their (signed) maximum.

Design: what runs where.

- The attribution is any method of the registry, called inside the traced function as any
  method is (:func:`saliency_widgets.explain` batches and compiles it).
- The segmentation is numpy and scikit-image. It depends only on the image, needs no gradient,
  and cannot be traced, so it runs on the host through ``tf.numpy_function``, called from the
  traced function at run time: no Python of it is ever traced, and the rest of the method stays
  one graph. The price is XLA: a graph holding a host call cannot be compiled with
  ``jit_compile=True``, so the method is registered with ``xla=False`` and the engine never
  asks XLA for it (and refuses ``jit_compile=True`` with a message, before tracing).
- The greedy ranking is TensorFlow, batched over images and classes: every step scores all
  remaining regions of every (image, class) pair at once with two matrix products
  (new-pixel counts and attribution sums), in a ``tf.while_loop`` that ends when no pair has a
  region left.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.methods.gradient import Reduce, class_indices
from saliency_widgets.methods.integrated import integrated_gradients
from saliency_widgets.methods.parameters import parameters_of
from saliency_widgets.methods.segments import segment_batch
from saliency_widgets.methods.smooth import MethodLike, resolve_method


def black_and_white_ig(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    steps: int = 100,
    reduce: Reduce = "sum",
    step_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Integrated Gradients averaged over a black and a white baseline: XRAI's default attribution.

    The baselines are constant images at each image's minimum and maximum value (PAIR's
    default for XRAI), so neither dark nor bright pixels get zero attribution just for being
    close to the baseline.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: Units to explain: ``None``, ``(B,)`` or ``(B, K)`` integers.
        steps: Points on each path (PAIR's XRAI uses 100).
        reduce: Channel reduction, as for
            :func:`~saliency_widgets.methods.integrated.integrated_gradients`.
        step_batch: Path points per model call.

    Returns:
        ``(logits, maps)`` as for Integrated Gradients.

    References:
        Kapishnikov, A., Bolukbasi, T., Viégas, F., & Terry, M. (2019). XRAI: Better
        attributions through regions. https://arxiv.org/abs/1906.02825
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    axes = [1, 2, 3]
    maps = []
    logits = None
    for level in (tf.reduce_min(inputs, axes, True), tf.reduce_max(inputs, axes, True)):
        logits, found = integrated_gradients(
            model, inputs, indices, steps, level * tf.ones_like(inputs), reduce, step_batch
        )
        maps.append(found)
    return logits, (maps[0] + maps[1]) / 2


def rank_regions(
    attr: tf.Tensor, masks: tf.Tensor, min_pixel_diff: int = 50, area_threshold: float = 1.0
) -> tf.Tensor:
    """XRAI's greedy ranking: each pixel gets the gain of the region that added it.

    Args:
        attr: ``(B, K, P)`` per-pixel attributions (``P = H·W``), one row per explained unit.
        masks: ``(B, S, P)`` candidate regions of each image (boolean or 0/1).
        min_pixel_diff: Regions adding fewer new pixels than this are dropped.
        area_threshold: Stop once this fraction of the image is covered (``1``: never early);
            the rest takes the mean attribution of the uncovered pixels.

    Returns:
        ``(B, K, P)`` maps.
    """
    attr = tf.cast(attr, tf.float32)
    masks = tf.cast(masks, tf.float32)
    shape = tf.shape(attr)
    regions = tf.shape(masks)[1]
    covered = tf.zeros_like(attr)
    out = tf.zeros_like(attr)
    remaining = tf.ones(tf.concat([shape[:2], [regions]], 0), tf.bool)
    active = tf.ones(shape[:2], tf.bool)
    lowest = tf.constant(-np.inf, tf.float32)

    def body(
        covered: tf.Tensor, out: tf.Tensor, remaining: tf.Tensor, active: tf.Tensor
    ) -> tuple[tf.Tensor, ...]:
        free = 1.0 - covered
        counts = tf.einsum("bsp,bkp->bks", masks, free)
        sums = tf.einsum("bsp,bkp->bks", masks, attr * free)
        remaining = remaining & (counts >= min_pixel_diff)
        gains = tf.where(remaining, sums / tf.maximum(counts, 1.0), lowest)
        best = tf.argmax(gains, axis=-1, output_type=tf.int32)  # the first of equal gains
        gain = tf.reduce_max(gains, axis=-1)
        step = active & tf.reduce_any(remaining, axis=-1)
        added = tf.gather(masks, best, batch_dims=1) * free  # (B, K, P) new pixels
        added = added * tf.cast(step, tf.float32)[..., None]
        out = tf.where(added > 0, gain[..., None], out)
        covered = covered + added
        used = tf.one_hot(best, regions, on_value=True, off_value=False, dtype=tf.bool)
        remaining = remaining & ~(used & step[..., None])
        area = tf.reduce_mean(covered, axis=-1)
        return covered, out, remaining, step & (area <= area_threshold)

    covered, out, _, _ = tf.while_loop(
        lambda covered, out, remaining, active: tf.reduce_any(active),
        body,
        (covered, out, remaining, active),
        parallel_iterations=1,
    )
    free = 1.0 - covered
    rest = tf.math.divide_no_nan(
        tf.reduce_sum(attr * free, axis=-1, keepdims=True),
        tf.reduce_sum(free, axis=-1, keepdims=True),
    )
    return tf.where(covered > 0, out, rest)


def _takes_reduce(function: Any) -> bool:
    return any(parameter.name == "reduce" for parameter in parameters_of(function)[0])


def xrai(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    method: MethodLike = black_and_white_ig,
    min_pixel_diff: int = 50,
    area_threshold: float = 1.0,
    **params: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """XRAI: regions of the image ranked by the density of a pixel attribution in them.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        method: The pixel attribution, a method function or a registered name (default
            :func:`black_and_white_ig`, PAIR's). A method with a ``reduce`` option is run with
            ``reduce=None`` and its channels merged by their maximum, as PAIR does, unless
            ``reduce`` is given; maps smaller than the image (CAMs) are resized to it.
        min_pixel_diff: Regions adding fewer new pixels than this are dropped (PAIR's 50).
        area_threshold: Fraction of the image ranked region by region; the rest is filled
            with its mean attribution (``1``: rank everything, PAIR's default).
        **params: Passed to ``method`` (e.g. ``steps=``).

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs and ``(B, H, W, K)`` maps, constant on each
        added region; higher is more salient.

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> logits, maps = sw.xrai(
        ...     model, sw.zoo.preprocess(samples.images), samples.labels, steps=8)
        >>> maps.shape
        (2, 64, 64, 1)

    References:
        Kapishnikov, A., Bolukbasi, T., Viégas, F., & Terry, M. (2019). XRAI: Better
        attributions through regions. https://arxiv.org/abs/1906.02825
    """
    base = resolve_method(method)
    merge = _takes_reduce(base) and params.get("reduce") is None
    if merge:
        params = {**params, "reduce": None}
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits, maps = base(model, inputs, indices, **params)
    maps = tf.cast(maps, tf.float32)
    if merge:  # (B, H, W, C, K): PAIR's signed maximum over channels
        maps = tf.reduce_max(maps, axis=3)
    height, width = int(inputs.shape[1]), int(inputs.shape[2])
    if tuple(maps.shape[1:3]) != (height, width):
        maps = tf.image.resize(maps, (height, width))
    masks = tf.numpy_function(segment_batch, [inputs], tf.bool, stateful=False)
    masks = tf.reshape(masks, tf.stack([tf.shape(inputs)[0], -1, height * width]))
    k = tf.shape(class_indices(indices, logits))[1]
    attr = tf.reshape(tf.transpose(maps, [0, 3, 1, 2]), tf.stack([-1, k, height * width]))
    ranked = rank_regions(attr, masks, min_pixel_diff, area_threshold)
    ranked = tf.reshape(ranked, tf.stack([-1, k, height, width]))
    return logits, tf.transpose(ranked, [0, 2, 3, 1])


__all__ = ["black_and_white_ig", "rank_regions", "xrai"]
