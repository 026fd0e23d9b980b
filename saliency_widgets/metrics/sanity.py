"""Sanity on demand: does a map change when the top of the model is re-initialised?

The single-step form of :func:`~saliency_widgets.metrics.randomization_check` (Adebayo et al.
2018), for a panel beside a map: one re-initialisation, one more run of the method, one rank
correlation per map, and a threshold.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from saliency_widgets.metrics._arrays import map_stack
from saliency_widgets.metrics.randomization import (
    Explainer,
    check_layers,
    resolve_explainer,
    spearman,
    trained_clone,
    weighted_layers,
)

SANITY_THRESHOLD = 0.5
"""Rank correlation (absolute) at or above which :func:`sanity_check` flags a map as not
depending on the model.

Measured on the bundled model (64 held-out images, the top 5 of its 11 weighted layers
re-initialised): vanilla gradients 0.28 median, 0.46 at the 95th percentile (1 map of 64
flagged); Input × Gradient 0.24 and 0.47 (1 flagged); Grad-CAM 0.29 and 0.58 (8 flagged); guided
back-propagation, Adebayo et al.'s example of a map that ignores the model, 0.72 median and 0.55
at the 5th percentile (62 of 64 flagged)."""


@dataclass(frozen=True)
class SanityCheck:
    """Whether a map changes when the top of the model is re-initialised.

    Attributes:
        correlation: Spearman rank correlation between the map and the same method's map on a
            copy of the model whose ``layers`` were re-initialised.
        threshold: ``|correlation|`` at or above it flags the map.
        layers: The re-initialised layers' paths, top first.
        constant: Whether the randomised model's map is constant (its correlation, 0, then
            says that the randomised network went dead rather than anything about the method).
    """

    correlation: float
    threshold: float
    layers: tuple[str, ...]
    constant: bool

    @property
    def depends_on_model(self) -> bool:
        """``False`` flags the map: it survives the loss of the model's top layers."""
        return abs(self.correlation) < self.threshold

    def to_dict(self) -> dict[str, object]:
        """The record as plain JSON types, with ``depends_on_model``."""
        return {
            "correlation": round(self.correlation, 6),
            "threshold": self.threshold,
            "layers": list(self.layers),
            "constant": self.constant,
            "depends_on_model": self.depends_on_model,
        }


_RANDOMIZED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _randomized(model: keras.Model, paths: tuple[str, ...], seed: int) -> keras.Model:
    """A copy of ``model`` with ``paths`` re-initialised and the user's current weights elsewhere.

    Kept per (model, layers, seed), so that a second check reuses the copy and the engine's
    compiled function for it; the kept layers are re-copied from the user's model each time.
    """
    cache = _RANDOMIZED.setdefault(model, {})
    if (paths, seed) not in cache:
        clone, fresh = trained_clone(model, seed)
        available = dict(weighted_layers(clone))
        check_layers(paths, available)
        for path in paths:
            available[path].set_weights(fresh[path].get_weights())
        cache[paths, seed] = clone
    clone = cache[paths, seed]
    mine = dict(weighted_layers(clone))
    for path, layer in weighted_layers(model):
        if path not in paths:
            for copy, weight in zip(mine[path].weights, layer.weights, strict=True):
                copy.assign(weight.value)
    return clone


def sanity_check(
    method: Explainer | str,
    model: keras.Model,
    x: object,
    indices: object,
    *,
    maps: object = None,
    layers: int | Sequence[str] | None = None,
    threshold: float = SANITY_THRESHOLD,
    seed: int = 0,
    **options: object,
) -> list[list[SanityCheck]]:
    """Does each map depend on the model? One re-initialisation of its top layers, per map.

    The single-step form of :func:`randomization_check` for a panel beside a map: the top
    ``layers`` weighted layers of a copy of the model are re-initialised from their
    initializers (seeded), the method runs again on the copy, and each map is compared with its
    new map by Spearman rank correlation. A map at ``|ρ| ≥ threshold`` is flagged: it barely
    changes when what the model learnt at the top is destroyed, so it shows the input (edges,
    texture) more than the model's reasons. The user's model is never touched.

    Args:
        method: An explainer ``f(model, x, indices, **options) -> (logits, maps)`` such as
            :func:`saliency_widgets.gradients`, or a registered method's name.
        model: A functional or Sequential model.
        x: ``(N, H, W, C)`` preprocessed images.
        indices: The explained classes: an int, ``(N,)`` or ``(N, K)``.
        maps: The trained model's maps from the same method and options, if already computed
            (else computed here).
        layers: How many weighted layers to re-initialise from the top, or their paths (see
            :func:`~saliency_widgets.metrics.weighted_layers`); default the top half (rounded
            down, at least one): 5 of the bundled model's 11, its classifier and top two
            convolutions with their batch norms.
        threshold: Correlation that flags a map (default :data:`SANITY_THRESHOLD`).
        seed: Seed of the fresh weights.
        **options: Passed to ``method`` (e.g. ``batch_size``).

    Returns:
        ``checks[i][k]``: the :class:`SanityCheck` of image ``i``'s ``k``-th map.

    Raises:
        ValueError: For unknown layers, a bad ``layers`` count or ``threshold``, ``maps`` of
            another shape than the method's, or a model ``clone_model`` cannot copy.

    References:
        Adebayo, J., Gilmer, J., Muelly, M., Goodfellow, I., Hardt, M., & Kim, B. (2018). Sanity
        checks for saliency maps. https://arxiv.org/abs/1810.03292
    """
    ordered = [path for path, _ in reversed(weighted_layers(model))]
    if layers is None:
        layers = max(1, len(ordered) // 2)
    if isinstance(layers, int) and not isinstance(layers, bool):
        if not 1 <= layers <= len(ordered):
            raise ValueError(
                f"layers must be in [1, {len(ordered)}] (weighted layers), got {layers}"
            )
        paths = tuple(ordered[:layers])
    elif isinstance(layers, str) or not isinstance(layers, Sequence):
        raise ValueError(f"layers must be a count or a list of layer paths, got {layers!r}")
    else:
        paths = tuple(layers)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 < threshold <= 1
    ):
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}")
    explain = resolve_explainer(method)
    x = np.asarray(x, np.float32)
    trained = map_stack(
        explain(model, x, indices, **options)[1] if maps is None else maps, len(x), "maps"
    )
    randomized = map_stack(
        explain(_randomized(model, paths, seed), x, indices, **options)[1],
        len(x),
        "the method's maps",
    )
    if trained.shape != randomized.shape:
        raise ValueError(
            f"maps have shape {trained.shape} (N, K, h, w) but the method gives "
            f"{randomized.shape}: pass the maps of the same method and options"
        )
    n, k = trained.shape[:2]
    rho = spearman(trained.reshape(n * k, -1), randomized.reshape(n * k, -1))
    flat = randomized.reshape(n * k, -1)
    constant = flat.max(axis=1) == flat.min(axis=1)
    checks = [
        SanityCheck(float(r), float(threshold), paths, bool(c))
        for r, c in zip(rho, constant, strict=True)
    ]
    return [checks[i * k : (i + 1) * k] for i in range(n)]


__all__ = ["SANITY_THRESHOLD", "SanityCheck", "sanity_check"]
