"""Concentration of a map: the Gini index of its magnitudes (no model call)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def gini(maps: npt.ArrayLike) -> np.ndarray:
    """Gini index of each map's magnitudes: 0 when relevance is spread evenly, → 1 on one pixel.

    With the ``n`` magnitudes ``|m|`` sorted ascending as ``c₁ ≤ … ≤ cₙ``,
    ``G = 1 − 2 Σₖ (cₖ / ‖c‖₁) (n − k + ½) / n`` (Hurley & Rickard's form). A uniform map scores
    0, a map with one non-zero pixel ``1 − 1/n`` (0.99976 at 64²). It measures how concentrated
    the map is, not whether it is right: a sharp map on the wrong object scores high too.

    Args:
        maps: ``(N, ...)`` maps, one per row (e.g. ``(N, H, W)``); signs are ignored.

    Returns:
        ``(N,)`` indices in ``[0, 1)``; 0 for an all-zero map.

    Example:
        >>> gini([[0.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]]).tolist()
        [0.75, 0.0]

    References:
        Hurley, N., & Rickard, S. (2009). Comparing measures of sparsity.
        https://arxiv.org/abs/0811.4706
        Chalasani, P., Chen, J., Chowdhury, A. R., Jha, S., & Wu, X. (2020). Concise explanations
        of neural networks using adversarial training. https://arxiv.org/abs/1810.06583
    """
    values = np.abs(np.asarray(maps, np.float64))
    if values.ndim < 2 or values.shape[0] == 0 or values[0].size == 0:
        raise ValueError(f"maps must be (N, ...) with at least one value each, got {values.shape}")
    flat = np.sort(values.reshape(len(values), -1), axis=1)
    n = flat.shape[1]
    total = flat.sum(axis=1)
    weights = (n - np.arange(1, n + 1) + 0.5) / n
    shares = np.divide(flat, total[:, None], out=np.zeros_like(flat), where=total[:, None] > 0)
    return np.where(total > 0, 1.0 - 2.0 * (shares * weights).sum(axis=1), 0.0)


__all__ = ["gini"]
