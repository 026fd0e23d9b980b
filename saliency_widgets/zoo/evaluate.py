"""Accuracy and pointing of a shapes model on every drawing family, as reported in the docs.

:func:`evaluate_family` scores one family (:data:`~saliency_widgets.zoo.shapes.FAMILIES`) of
held-out images: accuracy overall, per class, per fill style and per background; and for each
saliency method, the pointing game (the map's maximum falls on the object's mask) on the
correctly classified images, for each fill style apart. The training script writes these figures
next to the model, and the tests check the shipped model against them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_widgets.zoo.shapes import (
    BACKGROUNDS,
    CLASS_NAMES,
    FILL_STYLES,
    HELD_OUT_SEED,
    ShapeSet,
    make_shapes,
    preprocess,
)

if TYPE_CHECKING:
    import keras

POINTING_METHODS: tuple[str, ...] = ("gradients", "smoothgrad", "gradcam")
"""Registered methods whose pointing the report states (with their registered parameters)."""


def accuracy_table(predicted: np.ndarray, shapes: ShapeSet) -> dict[str, Any]:
    """Accuracy overall and broken down by class, fill style and background kind.

    Args:
        predicted: ``(n,)`` predicted labels.
        shapes: The images' labels, fill styles and backgrounds.

    Returns:
        ``{"n", "accuracy", "per_class", "per_fill", "per_background"}``; the breakdowns map a
        name to its accuracy and omit names with no image.
    """
    correct = predicted == shapes.labels

    def breakdown(codes: np.ndarray | None, names: Sequence[str]) -> dict[str, float]:
        if codes is None:
            return {}
        return {
            name: float(correct[codes == code].mean())
            for code, name in enumerate(names)
            if (codes == code).any()
        }

    return {
        "n": len(shapes),
        "accuracy": float(correct.mean()),
        "per_class": breakdown(shapes.labels, CLASS_NAMES),
        "per_fill": breakdown(shapes.fills, FILL_STYLES),
        "per_background": breakdown(shapes.backgrounds, BACKGROUNDS),
    }


def pointing_table(
    model: keras.Model,
    shapes: ShapeSet,
    methods: Sequence[str] = POINTING_METHODS,
    batch_size: int = 100,
) -> dict[str, dict[str, float]]:
    """Pointing-game rate of each method on the correctly classified images, per fill style.

    Each method runs as registered (its default parameters and postprocessing), explaining the
    true class; a hit is when the map's maximum lies on the object's mask
    (:func:`saliency_widgets.metrics.pointing_game`, no tolerance, no extra smoothing).

    Args:
        model: The classifier.
        shapes: Images, labels, masks and fill styles.
        methods: Names in :data:`saliency_widgets.methods.METHODS`.
        batch_size: Images per compiled call.

    Returns:
        ``{method: {"all": rate, fill_style: rate, ..., "n": count}}`` over correct predictions,
        with a ``"centre"`` row: the rates of a map that always points at the image centre.
    """
    import saliency_widgets as sw
    from saliency_widgets import metrics

    x = preprocess(shapes.images)
    predicted = np.asarray(model.predict(x, batch_size=250, verbose=0)).argmax(axis=1)
    keep = np.flatnonzero(predicted == shapes.labels)
    fills = shapes.fills[keep] if shapes.fills is not None else np.zeros(keep.size, np.int8)
    table: dict[str, dict[str, float]] = {}

    def rates(hits: np.ndarray) -> dict[str, float]:
        row = {"all": float(hits.mean()), "n": int(keep.size)}
        for code, style in enumerate(FILL_STYLES):
            if (fills == code).any():
                row[style] = float(hits[fills == code].mean())
        return row

    # What a map that always points at the image centre would score on the same images.
    table["centre"] = rates(metrics.centre_baseline(shapes.masks[keep]))
    for name in methods:
        spec = sw.methods.get_method(name)
        explain = sw.partial_explain(
            spec.function, postprocessing=spec.postprocessing, **spec.params
        )
        _, maps = explain(model, x[keep], shapes.labels[keep], batch_size=batch_size, verbose=False)
        table[name] = rates(metrics.pointing_game(maps[..., 0], shapes.masks[keep]))
    return table


def evaluate_family(
    model: keras.Model,
    family: str,
    n: int = 1000,
    seed: int = HELD_OUT_SEED,
    methods: Sequence[str] = POINTING_METHODS,
    pointing_images: int = 300,
) -> dict[str, Any]:
    """Accuracy and pointing of ``model`` on ``make_shapes(n, seed, family=family)``.

    Args:
        model: The classifier (softmax over :data:`CLASS_NAMES`).
        family: A drawing family.
        n: Images for accuracy.
        seed: Generator seed; the default is the held-out seed, never trained on.
        methods: Saliency methods for the pointing game.
        pointing_images: The pointing game runs on the correct predictions among the first this
            many images.

    Returns:
        :func:`accuracy_table`'s figures with ``"family"``, ``"seed"`` and ``"pointing"``
        (:func:`pointing_table`) added.
    """
    shapes = make_shapes(n, seed, family=family)
    probabilities = model.predict(preprocess(shapes.images), batch_size=250, verbose=0)
    report = {"family": family, "seed": seed}
    report.update(accuracy_table(np.asarray(probabilities).argmax(axis=1), shapes))
    head = _head(shapes, min(pointing_images, n))
    report["pointing"] = pointing_table(model, head, methods) if methods else {}
    return report


def _head(shapes: ShapeSet, k: int) -> ShapeSet:
    """The first ``k`` images of a set."""
    return ShapeSet(
        shapes.images[:k],
        shapes.labels[:k],
        shapes.masks[:k],
        None if shapes.fills is None else shapes.fills[:k],
        None if shapes.backgrounds is None else shapes.backgrounds[:k],
    )
