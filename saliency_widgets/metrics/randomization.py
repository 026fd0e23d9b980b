"""Sanity: the cascading model-parameter randomisation test (Adebayo et al. 2018)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

Explainer = Callable[..., tuple[np.ndarray, np.ndarray]]


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


def resolve_explainer(method: Explainer | str) -> Explainer:
    """``method`` itself, or the registered method of that name run through the engine."""
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


def trained_clone(model: keras.Model, seed: int) -> tuple[keras.Model, dict[str, keras.Layer]]:
    """A copy of ``model`` with its weights, and its weighted layers freshly drawn."""
    try:
        clone = keras.models.clone_model(model)
        fresh = _freshly_initialized(model, seed)
    except ValueError as error:
        raise ValueError(f"the randomisation test needs a clonable model: {error}") from None
    clone.set_weights(model.get_weights())
    return clone, fresh


def check_layers(paths: Sequence[str], available: dict[str, keras.Layer]) -> None:
    """Raises a ``ValueError`` naming the paths that are not weighted layers of the model."""
    missing = [p for p in paths if p not in available]
    if missing:
        raise ValueError(f"layers {missing} not found; weighted layers: {list(available)}")


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
    explain = resolve_explainer(method)
    x = np.asarray(x, np.float32)
    indices = np.broadcast_to(np.asarray(indices).reshape(-1), (len(x),))
    clone, fresh = trained_clone(model, seed)
    available = dict(weighted_layers(clone))
    order = [p for p, _ in reversed(weighted_layers(clone))] if layers is None else list(layers)
    check_layers(order, available)

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
    "RandomizationCurve",
    "check_layers",
    "randomization_check",
    "resolve_explainer",
    "spearman",
    "trained_clone",
    "weighted_layers",
]
