"""Metrics that check saliency maps against ground truth, against the model, and for sanity.

- Localisation against object masks: :func:`pointing_game` (Zhang et al. 2018) with its
  :func:`centre_baseline`, and :func:`energy_in_mask` (relevance mass, Arras et al. 2022).
- Faithfulness to the model: :func:`deletion` and :func:`insertion` curves and their areas
  (Petsiuk et al. 2018), evaluated in batches.
- Sanity: :func:`randomization_check`, the cascading model-parameter randomisation test of
  Adebayo et al. (2018): a map that does not change when the model's weights are re-initialised
  does not explain the model.

Maps are ``(N, H, W)`` or ``(N, H, W, 1)`` (one map per image, e.g. ``maps[..., 0]`` of
:func:`saliency_widgets.explain`); maps of another size than the masks or images are resized
bilinearly (CAM maps are low resolution).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.methods.integrated import gaussian_blur

Explainer = Callable[..., tuple[np.ndarray, np.ndarray]]


def _maps(maps: object, size: tuple[int, int]) -> np.ndarray:
    """``(N, H, W)`` float64 maps at ``size``."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 4:
        if maps.shape[-1] != 1:
            raise ValueError(f"maps have {maps.shape[-1]} per image; pass one (maps[..., k])")
        maps = maps[..., 0]
    if maps.ndim != 3:
        raise ValueError(f"maps must be (N, H, W) or (N, H, W, 1), got shape {maps.shape}")
    if maps.shape[1:] != tuple(size):
        maps = tf.image.resize(maps[..., None], size).numpy()[..., 0]
    return maps.astype(np.float64)


def _masks(masks: object) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {masks.shape}")
    return masks.astype(bool)


def _near_mask(masks: np.ndarray, ys: np.ndarray, xs: np.ndarray, tolerance: float) -> np.ndarray:
    """Whether each point ``(ys[i], xs[i])`` is within ``tolerance`` pixels of ``masks[i]``."""
    hits = masks[np.arange(len(masks)), ys, xs]
    if tolerance <= 0:
        return hits
    for i in np.flatnonzero(~hits):
        inside = np.argwhere(masks[i])
        if len(inside):
            distances = np.hypot(inside[:, 0] - ys[i], inside[:, 1] - xs[i])
            hits[i] = distances.min() <= tolerance
    return hits


def pointing_game(maps: object, masks: object, tolerance: float = 0.0) -> np.ndarray:
    """Whether each map's maximum falls on the object (Zhang et al. 2018).

    Args:
        maps: ``(N, H, W)`` or ``(N, H, W, 1)`` maps (resized to the masks if needed).
        masks: ``(N, H, W)`` boolean object masks.
        tolerance: A maximum within this many pixels of the object counts as a hit (the paper
            uses 15 px at 224²).

    Returns:
        ``(N,)`` bool hits; ``hits.mean()`` is the pointing-game accuracy. A constant map
        points at its first pixel (row-major), so it earns no credit by accident.

    Example:
        >>> maps = np.zeros((1, 3, 3)); maps[0, 1, 2] = 1.0
        >>> masks = np.zeros((1, 3, 3), bool); masks[0, :, 2] = True
        >>> pointing_game(maps, masks).tolist()
        [True]

    References:
        Zhang, J., Bargal, S. A., Lin, Z., Brandt, J., Shen, X., & Sclaroff, S. (2018).
        Top-down neural attention by excitation backprop. https://arxiv.org/abs/1608.00507
    """
    masks = _masks(masks)
    maps = _maps(maps, masks.shape[1:])
    flat = maps.reshape(len(maps), -1).argmax(axis=1)
    ys, xs = np.unravel_index(flat, masks.shape[1:])
    return _near_mask(masks, ys, xs, tolerance)


def centre_baseline(masks: object, tolerance: float = 0.0) -> np.ndarray:
    """Pointing-game hits of a map that always points at the image centre.

    The baseline a method must beat: objects tend to be near the centre.

    Args:
        masks: ``(N, H, W)`` boolean object masks.
        tolerance: As in :func:`pointing_game`.

    Returns:
        ``(N,)`` bool hits.
    """
    masks = _masks(masks)
    n, height, width = masks.shape
    ys = np.full(n, height // 2)
    xs = np.full(n, width // 2)
    return _near_mask(masks, ys, xs, tolerance)


def energy_in_mask(maps: object, masks: object) -> np.ndarray:
    """Relevance mass: the share of each map's positive relevance that lies on the object.

    Args:
        maps: ``(N, H, W)`` or ``(N, H, W, 1)`` maps; negative values are ignored.
        masks: ``(N, H, W)`` boolean object masks.

    Returns:
        ``(N,)`` fractions in ``[0, 1]`` (0 for a map with no positive value). A uniform map
        scores the object's area fraction.

    References:
        Arras, L., Osman, A., & Samek, W. (2022). CLEVR-XAI: A benchmark dataset for the ground
        truth evaluation of neural network explanations. https://arxiv.org/abs/2003.07258
    """
    masks = _masks(masks)
    maps = np.maximum(_maps(maps, masks.shape[1:]), 0.0)
    inside = (maps * masks).sum(axis=(1, 2))
    total = maps.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


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
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    n, height, width, _ = x.shape
    classes = np.broadcast_to(np.asarray(indices, np.int32).reshape(-1), (n,))
    ranks = _order(_maps(maps, (height, width)), seed).reshape(n, height, width)
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


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, ties sharing their average rank (as ``scipy.stats.rankdata``)."""
    ranks = np.empty(values.shape, np.float64)
    for vector, out in zip(values, ranks, strict=True):
        order = np.argsort(vector, kind="stable")
        ordered = vector[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(ordered)]
        out[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)  # 0-based average
    return ranks


def spearman(a: object, b: object) -> np.ndarray:
    """Spearman rank correlation between paired maps, one value per pair.

    Args:
        a: ``(N, ...)`` maps.
        b: ``(N, ...)`` maps of the same shape.

    Returns:
        ``(N,)`` correlations in ``[-1, 1]``; 0 where either map is constant (its ranks carry
        no information).

    Example:
        >>> spearman([[1.0, 2.0, 3.0]], [[10.0, 30.0, 20.0]]).round(2).tolist()
        [0.5]
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"maps to correlate differ in shape: {a.shape} and {b.shape}")
    ra = _average_ranks(a.reshape(len(a), -1))
    rb = _average_ranks(b.reshape(len(b), -1))
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    norm = np.sqrt((ra * ra).sum(axis=1) * (rb * rb).sum(axis=1))
    return np.divide((ra * rb).sum(axis=1), norm, out=np.zeros(len(a)), where=norm > 0)


@dataclass(frozen=True)
class RandomizationCurve:
    """Result of the cascading model-parameter randomisation test.

    Attributes:
        layers: The randomised layers' paths, top (output) first; step ``i`` has layers
            ``0..i`` randomised.
        correlations: ``(L,)`` mean Spearman correlation, over images, between the trained
            model's maps and the maps after step ``i``.
        per_image: ``(L, N)`` the correlations per image.
        constant: ``(L,)`` share of the maps that are constant after step ``i`` (they count as
            correlation 0). A high share means the randomised network went dead, and the low
            correlation says little about the method.
        maps: ``(L + 1, N, H, W)`` the maps (trained first) when asked for, else ``None``.
    """

    layers: tuple[str, ...]
    correlations: np.ndarray
    per_image: np.ndarray
    constant: np.ndarray
    maps: np.ndarray | None = None


def weighted_layers(model: keras.Model) -> list[tuple[str, keras.Layer]]:
    """Layers holding weights, nested models opened, in the order Keras lists them.

    Args:
        model: A Keras model.

    Returns:
        ``(path, layer)`` pairs, e.g. ``("resnet50v2/conv1_conv", layer)``.
    """
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += [(f"{layer.name}/{p}", inner) for p, inner in weighted_layers(layer)]
        elif layer.weights:
            found.append((layer.name, layer))
    return found


def _explainer(method: Explainer | str) -> Explainer:
    if isinstance(method, str):
        from saliency_widgets.engine import partial_explain
        from saliency_widgets.methods import get_method

        spec = get_method(method)
        return partial_explain(spec.function, postprocessing=spec.postprocessing, **spec.params)
    return method


def _one_map(maps: np.ndarray) -> np.ndarray:
    maps = np.asarray(maps, np.float32)
    return maps[..., 0] if maps.ndim == 4 else maps


def _freshly_initialized(model: keras.Model, seed: int) -> dict[str, keras.Layer]:
    """The weighted layers of a new copy of ``model`` drawn from its initializers, seeded.

    ``clone_model`` rebuilds every layer from its config (nested models too); each random
    initializer gets its own seed derived from ``seed``, so the draw is reproducible without
    touching Keras's global random state.
    """
    counter = iter(range(1, 1 << 30))

    def seeded(layer: keras.Layer) -> keras.Layer:
        config = layer.get_config()
        for key, value in config.items():
            inner = value.get("config") if isinstance(value, dict) else None
            if key.endswith("_initializer") and isinstance(inner, dict) and "seed" in inner:
                inner["seed"] = seed * 7919 + next(counter)
        return type(layer).from_config(config)

    return dict(
        weighted_layers(keras.models.clone_model(model, clone_function=seeded, recursive=True))
    )


def randomization_check(
    method: Explainer | str,
    model: keras.Model,
    x: object,
    indices: object,
    layers: Sequence[str] | None = None,
    seed: int = 0,
    keep_maps: bool = False,
    **options: object,
) -> RandomizationCurve:
    """Cascading model-parameter randomisation (Adebayo et al. 2018), on a clone of the model.

    Weighted layers are re-initialised one after another from the output down, cumulatively,
    with fresh draws from their own initializers (as in the paper); after each, the maps are
    recomputed and compared with the trained model's by Spearman rank correlation. A method that
    explains the model yields correlations that fall towards 0 as layers are destroyed; one that
    mostly reflects the input (an edge detector) stays high. The user's model is never touched:
    the test runs on ``keras.models.clone_model(model)`` holding a copy of its weights.

    Args:
        method: An explainer ``f(model, x, indices, **options) -> (logits, maps)`` such as
            :func:`saliency_widgets.gradients`, or a name registered in
            :data:`saliency_widgets.methods.METHODS` (run with its default postprocessing).
        model: A functional or Sequential model.
        x: ``(N, H, W, C)`` preprocessed images.
        indices: The class explained for each image (int or ``(N,)``); the same classes are
            explained on every randomised model.
        layers: Paths (see :func:`weighted_layers`) of the layers to randomise, in that order;
            default every weighted layer, top first.
        seed: Seed of the fresh weights (each initializer gets its own seed from it).
        keep_maps: Also return the maps at every step (for figures).
        **options: Passed to ``method`` (e.g. ``batch_size``, ``postprocessing``).

    Returns:
        A :class:`RandomizationCurve`.

    Raises:
        ValueError: For an unknown layer path, or a model ``clone_model`` cannot copy.

    References:
        Adebayo, J., Gilmer, J., Muelly, M., Goodfellow, I., Hardt, M., & Kim, B. (2018). Sanity
        checks for saliency maps. https://arxiv.org/abs/1810.03292
    """
    explain = _explainer(method)
    x = np.asarray(x, np.float32)
    indices = np.broadcast_to(np.asarray(indices).reshape(-1), (len(x),))
    try:
        clone = keras.models.clone_model(model)
        fresh = _freshly_initialized(model, seed)
    except ValueError as error:
        raise ValueError(f"the randomisation test needs a clonable model: {error}") from None
    clone.set_weights(model.get_weights())
    available = dict(weighted_layers(clone))
    order = [p for p, _ in reversed(weighted_layers(clone))] if layers is None else list(layers)
    missing = [p for p in order if p not in available]
    if missing:
        raise ValueError(f"layers {missing} not found; weighted layers: {list(available)}")

    reference = _one_map(explain(clone, x, indices, **options)[1])
    kept = [reference] if keep_maps else []
    per_image, constant = [], []
    for path in order:
        available[path].set_weights(fresh[path].get_weights())
        maps = _one_map(explain(clone, x, indices, **options)[1])
        per_image.append(spearman(reference, maps))
        flat = maps.reshape(len(maps), -1)
        constant.append(float((flat.max(axis=1) == flat.min(axis=1)).mean()))
        if keep_maps:
            kept.append(maps)
    per_image_array = np.array(per_image).reshape(len(order), len(x))
    return RandomizationCurve(
        tuple(order),
        per_image_array.mean(axis=1),
        per_image_array,
        np.array(constant),
        np.stack(kept) if keep_maps else None,
    )


__all__ = [
    "PerturbationCurve",
    "RandomizationCurve",
    "centre_baseline",
    "deletion",
    "energy_in_mask",
    "insertion",
    "pointing_game",
    "randomization_check",
    "spearman",
    "weighted_layers",
]
