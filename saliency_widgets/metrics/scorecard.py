"""The figures shown beside a map, for every map of a batch in one batched pass over the model.

Faithfulness against a random order, localisation, concentration and completeness.
:func:`scorecard` returns one :class:`Scorecard` per map. Its deletion and insertion curves
(Petsiuk et al. 2018) run every step of every map, and of one random pixel order per image,
through a compiled forward pass of fixed shape, ``batch_size`` images at a time. What the
figures mean and how to read them is in the documentation's *Metrics* page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import keras
import numpy as np

from saliency_widgets import _inputs
from saliency_widgets._checks import positive_int
from saliency_widgets.inspection import explained_model
from saliency_widgets.methods.integrated import completeness_gap
from saliency_widgets.metrics._arrays import image_masks, map_stack, resize_stack
from saliency_widgets.metrics._perturbed import (
    check_baseline,
    class_scorer,
    pixel_ranks,
    random_ranks,
    reference_images,
    score_perturbed,
    step_counts,
    trapezoid_auc,
)
from saliency_widgets.metrics.concentration import gini
from saliency_widgets.metrics.localization import energy_in_mask, pointing_game
from saliency_widgets.targets import as_indices

STEPS = 16
"""Default number of deletion / insertion steps (each changes 1/16 of the pixels)."""
DIGITS = 6
"""Decimals kept by :meth:`Scorecard.to_dict` (the browser panel needs no more)."""


@dataclass(frozen=True)
class CurveScore:
    """One perturbation test of a map, beside a random pixel order on the same image.

    Attributes:
        kind: ``"deletion"`` (lower area is better) or ``"insertion"`` (higher is better).
        auc: Area under the map's curve (trapezoid over the fraction changed, ``[0, 1]``).
        random_auc: The same area for a random pixel order on the same image.
        curve: The explained class's score at each of the ``steps + 1`` fractions.
        random_curve: The random order's scores at the same fractions.
    """

    kind: Literal["deletion", "insertion"]
    auc: float
    random_auc: float
    curve: tuple[float, ...]
    random_curve: tuple[float, ...]

    @property
    def gain(self) -> float:
        """How much better than random the map does, in score units (positive: better)."""
        difference = self.random_auc - self.auc
        return difference if self.kind == "deletion" else -difference


@dataclass(frozen=True)
class Localisation:
    """Where the map's relevance lies with respect to the object's mask.

    Attributes:
        pointing: Whether the map's maximum falls on the object (pointing game).
        energy: Share of the map's positive relevance on the object (relevance mass).
        mask_share: Share of the image the object covers: what a uniform map scores as
            ``energy``, and roughly a random point's chance of a ``pointing`` hit.
    """

    pointing: bool
    energy: float
    mask_share: float


@dataclass(frozen=True)
class Scorecard:
    """Figures about one map of one image.

    Attributes:
        index: The explained class.
        score: What the curves track: ``"probability"`` of the class (softmax or sigmoid head)
            or its ``"logit"`` (a model without one).
        fractions: ``(steps + 1)`` fractions of the pixels changed, from 0 to 1.
        deletion: Most relevant pixels replaced by the deletion baseline first.
        insertion: Most relevant pixels restored onto the insertion canvas first.
        gini: Concentration of the map's magnitudes, in ``[0, 1)``.
        localisation: Against the object's mask, when one was given.
        completeness: ``|Σ attribution − (f(x) − f(x'))| / |f(x) − f(x')|`` on the logit, when
            raw attributions were given (Integrated Gradients, Input × Gradient).
    """

    index: int
    score: Literal["probability", "logit"]
    fractions: tuple[float, ...]
    deletion: CurveScore
    insertion: CurveScore
    gini: float
    localisation: Localisation | None = None
    completeness: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types, each curve's ``gain`` over random added.

        Floats are rounded to :data:`DIGITS` decimals.
        """

        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            if isinstance(value, list | tuple):
                return [plain(item) for item in value]
            if isinstance(value, float):
                return round(value, DIGITS)
            return value

        record = asdict(self)
        for name in ("deletion", "insertion"):
            record[name]["gain"] = getattr(self, name).gain
        return plain(record)

    def caption(self) -> tuple[str, ...]:
        """The figures as short lines, as a grid prints them under the map.

        Areas with two decimals, each beside the random order's; the Gini index; the pointing
        hit (✓ or ✗) and the energy in the mask beside the mask's share, when a mask was given;
        the completeness gap, when attributions were.

        Returns:
            E.g. ``("del 0.21 (rand 0.48)", "ins 0.71 (rand 0.40)", "gini 0.63 · hit ✓",
            "energy 58% (mask 22%)")``.
        """
        deletion, insertion = self.deletion, self.insertion
        lines = [
            f"del {deletion.auc:.2f} (rand {deletion.random_auc:.2f})",
            f"ins {insertion.auc:.2f} (rand {insertion.random_auc:.2f})",
        ]
        place = self.localisation
        hit = "" if place is None else f" · hit {'✓' if place.pointing else '✗'}"
        lines.append(f"gini {self.gini:.2f}{hit}")
        if place is not None:
            lines.append(f"energy {place.energy:.0%} (mask {place.mask_share:.0%})")
        if self.completeness is not None:
            lines.append(f"completeness gap {self.completeness:.1%}")
        return tuple(lines)


def _units(model: keras.Model) -> int | None:
    """The number of output units, ``None`` when the model does not say (subclassed)."""
    try:
        return int(model.outputs[0].shape[-1])
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _classes(indices: object, n: int, k: int, units: int | None) -> np.ndarray:
    selected = as_indices(indices, n, units)
    if selected is None:
        raise ValueError("indices: expected the class each map explains, got None")
    if selected.shape[1] == 1 and k > 1:
        selected = selected.repeat(k, axis=1)
    if selected.shape[1] != k:
        raise ValueError(f"indices has {selected.shape[1]} classes per image but maps have {k}")
    return selected


def _plan(n: int, k: int, counts: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The perturbed images to score, and which of them make each curve.

    Pairs ``i < N`` delete (from image ``i`` towards its deletion baseline), pairs ``N + i``
    insert (from image ``i``'s canvas towards the image). Rank arrays ``0..NK-1`` are the maps',
    ``NK`` the random order. The image, its fully deleted copy and its canvas are scored once and
    shared by every curve of the image, and so is the random order's curve.

    Returns:
        ``(J, 3)`` jobs ``(pair, rank array, count)``, and by curve name (``deletion``,
        ``insertion``, ``deletion_random``, ``insertion_random``) the ``(N·K, steps + 1)`` rows
        of the jobs along each map's curve.
    """
    jobs: list[tuple[int, int, int]] = []

    def add(pair: int, rank: int, count: int) -> int:
        jobs.append((pair, rank, count))
        return len(jobs) - 1

    def curve(first: int, pair: int, rank: int, last: int) -> list[int]:
        return [first, *(add(pair, rank, int(c)) for c in counts[1:-1]), last]

    curves: dict[str, list[list[int]]] = {
        "deletion": [],
        "insertion": [],
        "deletion_random": [],
        "insertion_random": [],
    }
    for i in range(n):
        image, deleted, canvas = add(i, 0, 0), add(i, 0, int(counts[-1])), add(n + i, 0, 0)
        random_deletion = curve(image, i, n * k, deleted)
        random_insertion = curve(canvas, n + i, n * k, image)
        for m in range(i * k, (i + 1) * k):
            curves["deletion"].append(curve(image, i, m, deleted))
            curves["insertion"].append(curve(canvas, n + i, m, image))
            curves["deletion_random"].append(random_deletion)
            curves["insertion_random"].append(random_insertion)
    return np.array(jobs, np.int64), {name: np.array(rows) for name, rows in curves.items()}


def scorecard(
    model: keras.Model,
    x: object,
    maps: object,
    indices: object,
    *,
    masks: object = None,
    attributions: object = None,
    attribution_baseline: str | float | np.ndarray = "zeros",
    steps: int = STEPS,
    deletion_baseline: str | float | np.ndarray = "zeros",
    insertion_baseline: str | float | np.ndarray = "blurred",
    blur_sigma: float | None = None,
    batch_size: int = 32,
    seed: int = 0,
    output: int | str | None = None,
) -> list[list[Scorecard]]:
    """The figures that say how far to trust each map: one :class:`Scorecard` per map.

    - **Deletion** (lower is better): the explained class's score as the map's most relevant
      pixels are replaced first by ``deletion_baseline``, ``1 / steps`` of the pixels per step;
      **insertion** (higher is better): the score as they are restored first onto a blurred
      copy of the image. Each comes with the same area for a random pixel order on the same
      image (one seeded permutation, the same for every image), so that a map reads as "better
      than random by :attr:`CurveScore.gain`". The score tracked is the class's probability
      when the model ends in a softmax or sigmoid, its logit otherwise; the area is the
      trapezoid rule over the fraction of pixels changed, in ``[0, 1]``.
    - **Localisation**, when ``masks`` are given: pointing hit, energy in the mask and the
      mask's share of the image.
    - **Concentration**: the Gini index of the map's magnitudes (no model call).
    - **Completeness**, when the raw ``attributions`` of Integrated Gradients or
      Input × Gradient are given (signed, channels summed, not postprocessed or resized, e.g.
      ``sw.integrated_gradients(model, x, c, postprocessing=None, resizing=False)[1]``):
      ``|Σ attribution − (f(x) − f(x'))| / |f(x) − f(x')|`` on the logit ``f``, with ``x'`` the
      ``attribution_baseline`` the method used (zeros for Input × Gradient).

    Every perturbed image of every map goes through one compiled forward pass of fixed shape,
    ``batch_size`` at a time: per image, ``3 + 2 (steps − 1)`` images (the image, its deleted
    copy, its canvas and the random order's curves) shared by its maps, and ``2 (steps − 1)``
    per map (63 for one map at 16 steps, then 30 per extra map of the same image). To score the
    maps of several methods, stack them (and their indices) along the last axis: they share
    the image's scores.

    Args:
        model: The Keras classifier (never modified).
        x: ``(N, H, W, C)`` preprocessed images.
        maps: ``(N, h, w)`` or ``(N, h, w, K)`` maps, ``maps[i, ..., k]`` explaining class
            ``indices[i, k]`` (as :func:`saliency_widgets.explain` returns them); resized
            bilinearly to ``H × W``. Pixels are ranked by value, so a signed map ranks its
            negative pixels last; ties are broken in a seeded random order.
        indices: The explained class of each map: an int, ``(N,)`` or ``(N, K)`` integers.
        masks: ``(N, H, W)`` boolean object masks, or ``None``.
        attributions: Raw attributions shaped like ``maps`` for the completeness gap, or
            ``None``.
        attribution_baseline: The baseline the attributions were computed from (as in
            :func:`saliency_widgets.methods.integrated.make_baseline`).
        steps: Deletion and insertion steps.
        deletion_baseline: What a deleted pixel becomes: ``"zeros"`` in the model's input
            space (Petsiuk et al.'s and Xplique's choice; the mean colour for inputs normalised
            by the data set's mean, mid-grey for the bundled model's ``[-1, 1]``),
            ``"blurred"``, ``"uniform"``, a number or an array.
        insertion_baseline: The canvas pixels are restored onto: ``"blurred"`` (the paper's)
            or any value of ``deletion_baseline``.
        blur_sigma: Blur of a ``"blurred"`` baseline in pixels; default a tenth of the side.
        batch_size: Images per model call (32 was the fastest per image on a 2-core CPU,
            against 16 and 64).
        seed: Seed of the random pixel order and of the tie-breaking.
        output: For a multi-output model, the output to score.

    Returns:
        ``cards[i][k]``: the :class:`Scorecard` of ``maps[i, ..., k]``.

    Raises:
        TypeError: For a non-Keras model or non-numeric images or indices.
        ValueError: For images the model cannot take, maps, indices, masks or attributions that
            do not match them, a bad ``steps``, ``batch_size`` or baseline, or non-finite
            scores.

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(1)
        >>> x = sw.zoo.preprocess(samples.images)
        >>> _, maps = sw.gradients(model, x, samples.labels)
        >>> card = sw.metrics.scorecard(model, x, maps, samples.labels, masks=samples.masks)[0][0]
        >>> card.score, len(card.deletion.curve), card.localisation is not None
        ('probability', 17, True)

    References:
        Petsiuk, V., Das, A., & Saenko, K. (2018). RISE: Randomized input sampling for
        explanation of black-box models. https://arxiv.org/abs/1806.07421
    """
    target = explained_model(model, output=output)
    array = _inputs.as_array(x)
    if array.ndim >= 1 and len(array) == 0:
        raise ValueError("x is empty: expected at least one image")
    _inputs.InputSpec.of(target.model).check(array.shape)
    images = _inputs.as_float_batch(array)
    n, height, width, _ = images.shape
    shown = resize_stack(map_stack(maps, n, "maps"), (height, width))
    k = shown.shape[1]
    classes = _classes(indices, n, k, _units(target.model))
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    check_baseline(deletion_baseline, "deletion_baseline")
    check_baseline(insertion_baseline, "insertion_baseline")
    check_baseline(attribution_baseline, "attribution_baseline")
    truth = None if masks is None else image_masks(masks, n, (height, width))
    raw = None if attributions is None else map_stack(attributions, n, "attributions")
    if raw is not None and raw.shape[1] != k:
        raise ValueError(f"attributions have {raw.shape[1]} maps per image but maps have {k}")

    target.sync()
    flat = shown.reshape(n * k, height, width)
    ranks = np.concatenate([pixel_ranks(flat, seed), random_ranks((height, width), seed)[None]])
    canvas = reference_images(images, insertion_baseline, blur_sigma)
    starts = np.concatenate([images, canvas])
    ends = np.concatenate([reference_images(images, deletion_baseline, blur_sigma), images])
    fractions, counts = step_counts(steps, height * width)
    jobs, rows = _plan(n, k, counts)
    scorer = class_scorer(target.model, target.removed_activation, batch_size, images.shape[1:])
    scores = score_perturbed(scorer, batch_size, starts, ends, ranks, jobs)
    column = classes.reshape(-1, 1)
    curves = {name: scores[row, column] for name, row in rows.items()}
    areas = {name: trapezoid_auc(curve, fractions) for name, curve in curves.items()}

    concentration = gini(flat)
    places = None
    if truth is not None:
        repeated = truth.repeat(k, axis=0)
        places = (
            pointing_game(flat, repeated),
            energy_in_mask(flat, repeated),
            repeated.mean(axis=(1, 2)),
        )
    gaps = None
    if raw is not None:
        gaps = completeness_gap(
            target.model,
            images,
            classes,
            np.moveaxis(raw, 1, -1),
            baseline=attribution_baseline,
            blur_sigma=blur_sigma,
        ).reshape(-1)

    def perturbation(kind: Literal["deletion", "insertion"], m: int) -> CurveScore:
        return CurveScore(
            kind,
            float(areas[kind][m]),
            float(areas[f"{kind}_random"][m]),
            tuple(curves[kind][m].tolist()),
            tuple(curves[f"{kind}_random"][m].tolist()),
        )

    score: Literal["probability", "logit"] = "probability" if target.removed_activation else "logit"
    cards = [
        Scorecard(
            index=int(classes.flat[m]),
            score=score,
            fractions=tuple(fractions.tolist()),
            deletion=perturbation("deletion", m),
            insertion=perturbation("insertion", m),
            gini=float(concentration[m]),
            localisation=None
            if places is None
            else Localisation(bool(places[0][m]), float(places[1][m]), float(places[2][m])),
            completeness=None if gaps is None else float(gaps[m]),
        )
        for m in range(n * k)
    ]
    return [cards[i * k : (i + 1) * k] for i in range(n)]


__all__ = ["STEPS", "CurveScore", "Localisation", "Scorecard", "scorecard"]
