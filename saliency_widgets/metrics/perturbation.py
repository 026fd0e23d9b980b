"""Faithfulness to the model: deletion and insertion curves (Petsiuk et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets._checks import positive_int
from saliency_widgets.methods.integrated import gaussian_blur
from saliency_widgets.metrics._arrays import as_maps


@dataclass(frozen=True)
class PerturbationCurve:
    """Model scores as pixels are deleted or inserted in order of relevance.

    Attributes:
        fractions: ``(S + 1,)`` fraction of pixels changed at each step, from 0 to 1.
        scores: ``(N, S + 1)`` the explained class's score at each step.
        auc: ``(N,)`` area under each curve (trapezoid over ``fractions``).
    """

    fractions: np.ndarray
    scores: np.ndarray
    auc: np.ndarray


def _order(maps: np.ndarray, seed: int) -> np.ndarray:
    """Per-pixel rank (0 = most relevant) of each map; ties broken at random, reproducibly."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    noise = np.random.default_rng(seed).random(flat.shape)
    order = np.lexsort((noise, -flat), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(flat.shape[1])[None].repeat(n, 0), axis=1)
    return ranks


def _reference(x: np.ndarray, baseline: str | float | np.ndarray, blur_sigma: float) -> np.ndarray:
    if isinstance(baseline, str):
        if baseline == "blurred":
            return gaussian_blur(tf.constant(x), blur_sigma).numpy()
        if baseline == "zeros":
            return np.zeros_like(x)
        raise ValueError(f"baseline={baseline!r}: expected 'zeros', 'blurred' or an array")
    return np.broadcast_to(np.asarray(baseline, np.float32), x.shape)


def _batches(total: int, size: int) -> Iterator[slice]:
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def _class_scores(model: keras.Model, activation: str | None) -> Callable:
    @tf.function(reduce_retracing=True)
    def scores(images: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
        outputs = model(images, training=False)
        if activation == "softmax":
            outputs = tf.nn.softmax(outputs, axis=-1)
        elif activation == "sigmoid":
            outputs = tf.sigmoid(outputs)
        return tf.gather(outputs, classes, batch_dims=1)

    return scores


def _perturbation_curve(
    insert: bool,
    model: keras.Model,
    x: object,
    maps: object,
    indices: object,
    steps: int,
    baseline: str | float | np.ndarray,
    blur_sigma: float | None,
    batch_size: int,
    activation: Literal["softmax", "sigmoid"] | None,
    seed: int,
) -> PerturbationCurve:
    x = np.asarray(x, np.float32)
    if x.ndim != 4:
        raise ValueError(f"x must be (N, H, W, C) images, got shape {x.shape}")
    steps = positive_int("steps", steps)
    n, height, width, _ = x.shape
    classes = np.broadcast_to(np.asarray(indices, np.int32).reshape(-1), (n,))
    ranks = _order(as_maps(maps, (height, width)), seed).reshape(n, height, width)
    sigma = blur_sigma if blur_sigma is not None else max(height, width) / 10
    reference = _reference(x, baseline, sigma)
    start, end = (reference, x) if insert else (x, reference)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.round(fractions * height * width).astype(np.int64)
    jobs = [(i, t) for i in range(n) for t in range(steps + 1)]
    score = _class_scores(model, activation)
    scores = np.empty((n, steps + 1), np.float64)
    for part in _batches(len(jobs), batch_size):
        chunk = jobs[part]
        images = np.stack(
            [np.where((ranks[i] < counts[t])[..., None], end[i], start[i]) for i, t in chunk]
        )
        labels = np.array([classes[i] for i, _ in chunk], np.int32)
        real = len(chunk)
        if real < batch_size:  # pad so that the compiled function sees one shape
            images = np.concatenate([images, np.repeat(images[-1:], batch_size - real, 0)])
            labels = np.concatenate([labels, np.repeat(labels[-1:], batch_size - real)])
        values = score(tf.constant(images), tf.constant(labels)).numpy()[:real]
        for (i, t), value in zip(chunk, values, strict=True):
            scores[i, t] = value
    auc = ((scores[:, 1:] + scores[:, :-1]) / 2 * np.diff(fractions)).sum(axis=1)
    return PerturbationCurve(fractions, scores, auc)


def deletion(
    model: keras.Model,
    x: object,
    maps: object,
    indices: object,
    steps: int = 32,
    baseline: str | float | np.ndarray = "zeros",
    blur_sigma: float | None = None,
    batch_size: int = 64,
    activation: Literal["softmax", "sigmoid"] | None = None,
    seed: int = 0,
) -> PerturbationCurve:
    """Deletion curve: the class score as the most relevant pixels are removed first.

    A faithful map makes the score fall fast: lower area is better. The ``N · (steps + 1)``
    perturbed images go through the model ``batch_size`` at a time.

    Args:
        model: The model, scoring ``(N, H, W, C)`` inputs (its outputs as they are, e.g.
            probabilities for a softmax head; see ``activation``).
        x: ``(N, H, W, C)`` preprocessed images.
        maps: ``(N, H, W)`` or ``(N, H, W, 1)`` maps (resized to the images if needed).
        indices: The explained class per image: an int or ``(N,)`` integers.
        steps: Number of deletion steps; each removes ``1 / steps`` of the pixels.
        baseline: What a removed pixel becomes: ``"zeros"`` (the paper), ``"blurred"`` or a
            value / array broadcastable to the images.
        blur_sigma: Blur in pixels for ``"blurred"``; default a tenth of the image side.
        batch_size: Images per model call.
        activation: Applied to the outputs before scoring (``"softmax"`` for a logits model).
        seed: Breaks ties between equal map values (random order, reproducible).

    Returns:
        A :class:`PerturbationCurve`.

    References:
        Petsiuk, V., Das, A., & Saenko, K. (2018). RISE: Randomized input sampling for
        explanation of black-box models. https://arxiv.org/abs/1806.07421
    """
    return _perturbation_curve(
        False, model, x, maps, indices, steps, baseline, blur_sigma, batch_size, activation, seed
    )


def insertion(
    model: keras.Model,
    x: object,
    maps: object,
    indices: object,
    steps: int = 32,
    baseline: str | float | np.ndarray = "blurred",
    blur_sigma: float | None = None,
    batch_size: int = 64,
    activation: Literal["softmax", "sigmoid"] | None = None,
    seed: int = 0,
) -> PerturbationCurve:
    """Insertion curve: the class score as the most relevant pixels are put back first.

    Starts from a blurred copy of the image (the paper's canvas) and restores pixels in order of
    relevance: a faithful map makes the score rise fast, higher area is better. Arguments as in
    :func:`deletion`; ``baseline`` is the starting canvas.

    Returns:
        A :class:`PerturbationCurve`.

    References:
        Petsiuk, V., Das, A., & Saenko, K. (2018). RISE: Randomized input sampling for
        explanation of black-box models. https://arxiv.org/abs/1806.07421
    """
    return _perturbation_curve(
        True, model, x, maps, indices, steps, baseline, blur_sigma, batch_size, activation, seed
    )


__all__ = ["PerturbationCurve", "deletion", "insertion"]
