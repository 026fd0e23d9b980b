"""The same normalisation for every library's maps, so that their difference means something.

Libraries return maps in different layouts and scales: ``(N, H, W)`` already reduced and
min-max scaled (tf-keras-vis, ours), ``(N, H, W, 1)`` (Xplique), raw ``(H, W, C)`` gradients one
image at a time (PAIR). Contender adapters put them in the layout ``(N, K, H, W)`` or
``(N, K, H, W, C)``; :func:`canonical` then takes the maximum over channels of the absolute value
(Simonyan et al.'s map) and min-max scales each map to ``[0, 1]``. On these, a maximum difference
of about 1e-5 says two libraries computed the same gradients; SmoothGrad maps differ by their
random noise.
"""

from __future__ import annotations

import numpy as np


def canonical(maps: np.ndarray) -> np.ndarray:
    """Channel-reduced, per-map min-max scaled maps.

    Args:
        maps: ``(N, K, H, W)`` maps or ``(N, K, H, W, C)`` per-channel attributions (signed or
            not).

    Returns:
        ``(N, K, H, W)`` float64 maps in ``[0, 1]``; a constant map becomes zeros.

    Raises:
        ValueError: For any other rank.
    """
    array = np.abs(np.asarray(maps, dtype=np.float64))
    if array.ndim == 5:
        array = array.max(axis=-1)
    if array.ndim != 4:
        raise ValueError(f"maps must be (N, K, H, W) or (N, K, H, W, C), got shape {array.shape}")
    low = array.min(axis=(2, 3), keepdims=True)
    span = array.max(axis=(2, 3), keepdims=True) - low
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(span > 0, (array - low) / np.where(span > 0, span, 1.0), 0.0)
    return scaled


def differences(maps: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Maximum and mean absolute difference of two sets of maps after :func:`canonical`.

    Only the images both cover are compared (a throughput run may stop early).

    Args:
        maps: A contender's maps, ``(N, K, H, W[, C])``.
        reference: Our maps, ``(M, K, H, W[, C])``.

    Returns:
        ``(max, mean)`` absolute differences, in units of the map range.

    Raises:
        ValueError: If the maps have different class counts or spatial sizes.
    """
    a, b = canonical(maps), canonical(reference)
    n = min(len(a), len(b))
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(f"cannot compare maps shaped {a.shape} and {b.shape}")
    delta = np.abs(a[:n] - b[:n])
    return float(delta.max()), float(delta.mean())
