"""Localisation against object masks: the pointing game and relevance mass."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from saliency_widgets.metrics._arrays import as_maps, as_masks


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


def pointing_game(maps: npt.ArrayLike, masks: npt.ArrayLike, tolerance: float = 0.0) -> np.ndarray:
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
    masks = as_masks(masks)
    maps = as_maps(maps, masks.shape[1:])
    flat = maps.reshape(len(maps), -1).argmax(axis=1)
    ys, xs = np.unravel_index(flat, masks.shape[1:])
    return _near_mask(masks, ys, xs, tolerance)


def centre_baseline(masks: npt.ArrayLike, tolerance: float = 0.0) -> np.ndarray:
    """Pointing-game hits of a map that always points at the image centre.

    The baseline a method must beat: objects tend to be near the centre.

    Args:
        masks: ``(N, H, W)`` boolean object masks.
        tolerance: As in :func:`pointing_game`.

    Returns:
        ``(N,)`` bool hits.
    """
    masks = as_masks(masks)
    n, height, width = masks.shape
    ys = np.full(n, height // 2)
    xs = np.full(n, width // 2)
    return _near_mask(masks, ys, xs, tolerance)


def energy_in_mask(maps: npt.ArrayLike, masks: npt.ArrayLike) -> np.ndarray:
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
    truth = as_masks(masks)
    positive = np.maximum(as_maps(maps, truth.shape[1:]), 0.0)
    inside = (positive * truth).sum(axis=(1, 2))
    total = positive.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


__all__ = ["centre_baseline", "energy_in_mask", "pointing_game"]
