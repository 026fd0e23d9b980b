"""Faithfulness to the model: deletion and insertion curves (Petsiuk et al. 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np

from saliency_widgets._checks import positive_int
from saliency_widgets.metrics._arrays import as_maps
from saliency_widgets.metrics._perturbed import (
    check_baseline,
    class_scorer,
    pixel_ranks,
    reference_images,
    score_perturbed,
    step_counts,
    trapezoid_auc,
)


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
    batch_size = positive_int("batch_size", batch_size)
    check_baseline(baseline, "baseline")
    n, height, width, _ = x.shape
    classes = np.broadcast_to(np.asarray(indices, np.int32).reshape(-1), (n,))
    ranks = pixel_ranks(as_maps(maps, (height, width)), seed)
    reference = reference_images(x, baseline, blur_sigma)
    starts, ends = (reference, x) if insert else (x, reference)
    fractions, counts = step_counts(steps, height * width)
    image = np.repeat(np.arange(n), steps + 1)
    jobs = np.stack([image, image, np.tile(counts, n)], axis=1)
    scorer = class_scorer(model, activation, batch_size, x.shape[1:])
    scores = score_perturbed(scorer, batch_size, starts, ends, ranks, jobs)
    scores = scores[np.arange(len(jobs)), classes[image]].reshape(n, steps + 1)
    return PerturbationCurve(fractions, scores, trapezoid_auc(scores, fractions))


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
        baseline: What a removed pixel becomes: ``"zeros"`` (the paper), ``"blurred"``,
            ``"uniform"``, or a value / array broadcastable to the images.
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
