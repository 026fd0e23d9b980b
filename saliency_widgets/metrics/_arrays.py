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


def map_stack(maps: object, n: int, name: str) -> np.ndarray:
    """``(N, K, h, w)`` float64 from ``(N, h, w)`` or ``(N, h, w, K)`` maps, all finite."""
    array = np.asarray(maps, dtype=np.float64)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or len(array) != n or 0 in array.shape:
        raise ValueError(
            f"{name} must be ({n}, H, W) or ({n}, H, W, K), one map per image and class, "
            f"got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contain NaN or inf values")
    return np.moveaxis(array, -1, 1)


def resize_stack(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(N, K, h, w)`` maps bilinearly resized to ``size`` (as the engine resizes them)."""
    if maps.shape[2:] == size:
        return maps
    flat = np.moveaxis(maps, 1, -1).astype(np.float32)
    return np.moveaxis(tf.image.resize(flat, size).numpy(), -1, 1).astype(np.float64)


def image_masks(masks: object, n: int, size: tuple[int, int]) -> np.ndarray:
    """``(N, H, W)`` boolean masks, exactly one per image at the images' size."""
    array = np.asarray(masks)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.shape != (n, *size):
        raise ValueError(
            f"masks must be ({n}, {size[0]}, {size[1]}), one per image at its size, "
            f"got shape {array.shape}"
        )
    return array.astype(bool)
