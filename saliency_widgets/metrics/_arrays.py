"""Validating and resizing the maps and masks every metric takes."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def as_maps(maps: object, size: tuple[int, int]) -> np.ndarray:
    """``(N, H, W)`` float64 maps at ``size``."""
    array = np.asarray(maps, dtype=np.float32)
    if array.ndim == 4:
        if array.shape[-1] != 1:
            raise ValueError(f"maps have {array.shape[-1]} per image; pass one (maps[..., k])")
        array = array[..., 0]
    if array.ndim != 3:
        raise ValueError(f"maps must be (N, H, W) or (N, H, W, 1), got shape {array.shape}")
    if array.shape[1:] != tuple(size):
        array = tf.image.resize(array[..., None], size).numpy()[..., 0]
    return array.astype(np.float64)


def as_masks(masks: object) -> np.ndarray:
    """``(N, H, W)`` boolean masks (a trailing channel of 1 is dropped)."""
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got shape {masks.shape}")
    return masks.astype(bool)
