"""Perturbed copies of images, described by pixel ranks and scored in fixed-size compiled batches.

Every perturbation figure (the deletion and insertion curves, and the scorecard's random-order
baselines) scores images of the form ``where(rank < count, end, start)``: the ``count`` pixels
ranked first are taken from ``end``, the others from ``start``. A job names a ``(start, end)``
pair, a rank array and a count; the images are only built chunk by chunk, ``batch_size`` at a
time, and go through one ``tf.function`` whose input shape never changes (the last chunk is
padded), so a call of any size traces once per model, batch size and image shape.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.methods.integrated import BASELINES, make_baseline

Scorer = Callable[..., tf.Tensor]

_SCORERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_baseline(baseline: object, name: str) -> None:
    """Raises a ``ValueError`` naming ``name`` for a baseline name that is not known."""
    if isinstance(baseline, str) and baseline not in BASELINES:
        raise ValueError(f"{name}={baseline!r}: expected one of {BASELINES}, a number or an array")


@functools.cache
def _compiled_baseline(baseline: str, blur_sigma: float | None, shape: tuple[int, ...]) -> Any:
    """``make_baseline`` compiled for one image shape (eager, the blur's ops cost ~40 ms)."""
    return tf.function(
        lambda images: make_baseline(images, baseline, blur_sigma),
        input_signature=[tf.TensorSpec((None, *shape), tf.float32)],
        autograph=False,
    )


def reference_images(x: np.ndarray, baseline: object, blur_sigma: float | None) -> np.ndarray:
    """What removed pixels become (see :func:`saliency_widgets.methods.integrated.make_baseline`).

    A number or an array broadcastable to ``(H, W, C)`` or to ``x`` is taken as it is.
    """
    if not isinstance(baseline, str):
        return np.broadcast_to(np.asarray(baseline, np.float32), x.shape).copy()
    if baseline == "zeros":
        return np.zeros_like(x)
    return np.asarray(_compiled_baseline(baseline, blur_sigma, x.shape[1:])(tf.constant(x)))


def pixel_ranks(maps: np.ndarray, seed: int) -> np.ndarray:
    """Per-pixel rank of each map (0 = most relevant), ties broken at random, reproducibly.

    One seeded noise pattern breaks the ties of every map, so a map's ranks do not depend on the
    batch it came in; a constant map is ranked in that random order.

    Args:
        maps: ``(M, H, W)`` maps.
        seed: Seed of the tie-breaking noise.

    Returns:
        ``(M, H, W)`` int32 ranks.
    """
    m = len(maps)
    flat = maps.reshape(m, -1)
    noise = np.broadcast_to(np.random.default_rng([seed, 0]).random(flat.shape[1]), flat.shape)
    order = np.lexsort((noise, -flat), axis=1)
    ranks = np.empty(flat.shape, np.int32)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1], dtype=np.int32)[None], axis=1)
    return ranks.reshape(maps.shape)


def random_ranks(size: tuple[int, int], seed: int) -> np.ndarray:
    """``(H, W)`` int32 ranks of one seeded random pixel order (a stream apart from the ties')."""
    order = np.random.default_rng([seed, 1]).permutation(size[0] * size[1])
    ranks = np.empty(order.shape, np.int32)
    ranks[order] = np.arange(len(order), dtype=np.int32)
    return ranks.reshape(size)


def step_counts(steps: int, pixels: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps + 1`` evenly spaced fractions of ``[0, 1]``, and the pixels changed at each.

    Returns:
        ``(fractions, counts)``, the counts rounded to whole pixels.
    """
    fractions = np.linspace(0.0, 1.0, steps + 1)
    return fractions, np.round(fractions * pixels).astype(np.int32)


def trapezoid_auc(scores: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Area under each row of ``scores`` over ``fractions`` (trapezoid rule)."""
    return ((scores[..., 1:] + scores[..., :-1]) / 2 * np.diff(fractions)).sum(axis=-1)


def class_scorer(
    model: keras.Model, activation: str | None, batch_size: int, shape: tuple[int, ...]
) -> Scorer:
    """The compiled scorer of perturbed images: builds ``batch_size`` of them and scores them.

    Its inputs are the pairs, the rank arrays and one chunk of jobs (see
    :func:`score_perturbed`); pairs and rank arrays have a free leading dimension and the chunk
    a fixed size, so the function is traced once per model, activation, batch size and image
    shape. The images are built inside it (a gather and a select, on all cores). Cached per
    model, weakly.

    Args:
        model: The model (its outputs, or logits when ``activation`` squashes them).
        activation: ``"softmax"`` or ``"sigmoid"`` applied to the outputs, or ``None``.
        batch_size: The fixed number of images per call.
        shape: ``(H, W, C)`` of the images.

    Returns:
        ``f(starts, ends, ranks, jobs) -> (batch_size, L)`` scores, on tensors.
    """
    key = (activation, batch_size, tuple(shape))
    cache = _SCORERS.setdefault(model, {})
    if key in cache:
        return cache[key]
    model_ref = weakref.ref(model)  # the cache is weak: the closure must not keep the model
    images_spec = tf.TensorSpec((None, *shape), tf.float32)

    @tf.function(
        input_signature=[
            images_spec,
            images_spec,
            tf.TensorSpec((None, *shape[:2]), tf.int32),
            tf.TensorSpec((batch_size, 3), tf.int32),
        ],
        autograph=False,
    )
    def scores(starts: tf.Tensor, ends: tf.Tensor, ranks: tf.Tensor, jobs: tf.Tensor) -> tf.Tensor:
        scored = model_ref()
        if scored is None:  # unreachable: the cache entry dies with the model
            raise RuntimeError("the model was deleted")
        changed = tf.gather(ranks, jobs[:, 1]) < jobs[:, 2, None, None]
        images = tf.where(
            changed[..., None], tf.gather(ends, jobs[:, 0]), tf.gather(starts, jobs[:, 0])
        )
        outputs = tf.cast(scored(images, training=False), tf.float32)
        if activation == "softmax":
            return tf.nn.softmax(outputs, axis=-1)
        if activation == "sigmoid":
            return tf.sigmoid(outputs)
        return outputs

    cache[key] = scores
    return scores


def score_perturbed(
    scorer: Scorer,
    batch_size: int,
    starts: np.ndarray,
    ends: np.ndarray,
    ranks: np.ndarray,
    jobs: np.ndarray,
) -> np.ndarray:
    """Scores of every perturbed image a job describes, ``batch_size`` images per model call.

    Args:
        scorer: From :func:`class_scorer` with the same ``batch_size``.
        batch_size: Images per call; the last chunk is padded to it.
        starts: ``(P, H, W, C)`` the pixels not yet changed, per pair.
        ends: ``(P, H, W, C)`` the pixels once changed, per pair.
        ranks: ``(R, H, W)`` pixel ranks.
        jobs: ``(J, 3)`` integers ``(pair, rank array, count)``: the image is
            ``where(ranks[r] < count, ends[p], starts[p])``.

    Returns:
        ``(J, L)`` float64 scores.

    Raises:
        ValueError: If the model's scores are not finite.
    """
    tensors = [
        tf.constant(starts, tf.float32),
        tf.constant(ends, tf.float32),
        tf.constant(ranks, tf.int32),
    ]
    total = len(jobs)
    padded = np.concatenate([jobs, np.repeat(jobs[-1:], -total % batch_size, 0)])
    chunks = padded.astype(np.int32).reshape(-1, batch_size, 3)
    scores = np.concatenate([np.asarray(scorer(*tensors, chunk)) for chunk in chunks])
    scores = scores[:total].astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError("the model's scores of the perturbed images are not finite (NaN or inf)")
    return scores


__all__ = [
    "check_baseline",
    "class_scorer",
    "pixel_ranks",
    "random_ranks",
    "reference_images",
    "score_perturbed",
    "step_counts",
    "trapezoid_auc",
]
