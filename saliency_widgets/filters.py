"""Postprocessing filters for saliency maps.

Every filter has the signature ``f(maps, axis=SPATIAL_AXIS) -> maps``: it takes a batch of maps
shaped ``(B, H, W, K)`` (or any shape where ``axis`` names the spatial dimensions) and returns a
tensor of the same shape. Filters are written with TensorFlow ops so that :func:`~saliency_widgets.
explain` can run them inside its compiled function, and they accept numpy arrays as well.

Normalising filters scale each map independently to ``[0, 1]``; a constant map (for example the
map of a class whose score does not depend on the input) becomes all zeros, never NaN.

Example:
    >>> import numpy as np
    >>> from saliency_widgets import filters
    >>> m = np.array([[[[-2.0], [1.0]], [[0.0], [4.0]]]])  # (1, 2, 2, 1)
    >>> filters.absolute_normalize(m).numpy()[0, ..., 0].tolist()
    [[0.5, 0.25], [0.0, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

SPATIAL_AXIS: tuple[int, int] = (1, 2)
"""Spatial axes of a ``(B, H, W, K)`` batch of maps."""

Axis = int | Sequence[int]


def _tensor(maps: tf.Tensor | object) -> tf.Tensor:
    maps = tf.convert_to_tensor(maps)
    if not maps.dtype.is_floating:
        maps = tf.cast(maps, tf.float32)
    return maps


def normalize(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Min-max scales each map to ``[0, 1]`` over ``axis``.

    Args:
        maps: Maps, e.g. shaped ``(B, H, W, K)``.
        axis: The spatial axes; min and max are taken over them, per remaining index.

    Returns:
        The scaled maps, same shape. Constant maps become zeros.
    """
    maps = _tensor(maps)
    maps = maps - tf.reduce_min(maps, axis=axis, keepdims=True)
    return tf.math.divide_no_nan(maps, tf.reduce_max(maps, axis=axis, keepdims=True))


def positive(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Keeps the positive part of the maps (``max(x, 0)``).

    Args:
        maps: Signed maps.
        axis: Unused; present so that every filter shares one signature.

    Returns:
        The positive part, same shape.
    """
    del axis
    return tf.nn.relu(_tensor(maps))


def negative(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Keeps the magnitude of the negative part of the maps (``max(-x, 0)``).

    The seed library's ``negative`` returned the positive part; this one keeps what its name says.

    Args:
        maps: Signed maps.
        axis: Unused; present so that every filter shares one signature.

    Returns:
        The magnitude of the negative part (non-negative), same shape.
    """
    del axis
    return tf.nn.relu(-_tensor(maps))


def absolute_normalize(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Takes absolute values, then min-max scales each map to ``[0, 1]``.

    Args:
        maps: Signed maps.
        axis: The spatial axes.

    Returns:
        ``normalize(|maps|)``.
    """
    return normalize(tf.abs(_tensor(maps)), axis=axis)


def positive_normalize(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Keeps the positive part, then min-max scales each map to ``[0, 1]``.

    Args:
        maps: Signed maps.
        axis: The spatial axes.

    Returns:
        ``normalize(max(maps, 0))``.
    """
    return normalize(positive(maps), axis=axis)


def negative_normalize(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Keeps the negative part's magnitude, then min-max scales each map to ``[0, 1]``.

    Args:
        maps: Signed maps.
        axis: The spatial axes.

    Returns:
        ``normalize(max(-maps, 0))``: 1 where the map is most negative.
    """
    return normalize(negative(maps), axis=axis)


def _quantile(maps: tf.Tensor, q: float, axis: tuple[int, ...]) -> tf.Tensor:
    """Linear-interpolated quantile over ``axis`` (numpy's default method), keepdims."""
    rank = maps.shape.rank
    axis = tuple(sorted(a % rank for a in axis))
    rest = [a for a in range(rank) if a not in axis]
    moved = tf.transpose(maps, rest + list(axis))
    flat_shape = tf.concat([tf.shape(moved)[: len(rest)], [-1]], axis=0)
    values = tf.sort(tf.reshape(moved, flat_shape), axis=-1)
    n = tf.shape(values)[-1]
    position = q / 100.0 * tf.cast(n - 1, maps.dtype)
    lower = tf.cast(tf.floor(position), tf.int32)
    upper = tf.minimum(lower + 1, n - 1)
    weight = position - tf.cast(lower, maps.dtype)
    low = tf.gather(values, lower, axis=-1)
    high = tf.gather(values, upper, axis=-1)
    result = low + weight * (high - low)
    # ``result`` holds the ``rest`` axes in their original order, so a reshape restores keepdims.
    keep = [1 if a in axis else maps.shape[a] for a in range(rank)]
    if None in keep:
        keep = tf.where([a in axis for a in range(rank)], 1, tf.shape(maps))
    return tf.reshape(result, keep)


def percentile_clip(
    maps: tf.Tensor,
    axis: Axis = SPATIAL_AXIS,
    lower: float = 1.0,
    upper: float = 99.0,
) -> tf.Tensor:
    """Clips each map to its ``[lower, upper]`` percentiles, then min-max scales to ``[0, 1]``.

    A few extreme pixels often dominate a gradient map; clipping at the 99th percentile makes the
    rest visible (the "visualization" step of Smilkov et al., 2017).

    Args:
        maps: Maps, e.g. ``(B, H, W, K)``.
        axis: The spatial axes.
        lower: Lower percentile in ``[0, 100)``.
        upper: Upper percentile in ``(lower, 100]``.

    Returns:
        The clipped and scaled maps.

    Raises:
        ValueError: If the percentiles are not ``0 <= lower < upper <= 100``.

    References:
        Smilkov et al. (2017), SmoothGrad: removing noise by adding noise.
        https://arxiv.org/abs/1706.03825
    """
    if not 0.0 <= lower < upper <= 100.0:
        raise ValueError(f"percentile_clip: need 0 <= lower < upper <= 100, got {lower}, {upper}")
    maps = _tensor(maps)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    low = _quantile(maps, lower, axes)
    high = _quantile(maps, upper, axes)
    return normalize(tf.clip_by_value(maps, low, tf.maximum(high, low)), axis=axis)


def absolute_percentile_clip(maps: tf.Tensor, axis: Axis = SPATIAL_AXIS) -> tf.Tensor:
    """Takes absolute values, clips at the 99th percentile and scales to ``[0, 1]``.

    Args:
        maps: Signed maps.
        axis: The spatial axes.

    Returns:
        ``percentile_clip(|maps|, lower=0, upper=99)``.
    """
    return percentile_clip(tf.abs(_tensor(maps)), axis=axis, lower=0.0, upper=99.0)


FILTERS = {
    "normalize": normalize,
    "absolute_normalize": absolute_normalize,
    "positive_normalize": positive_normalize,
    "negative_normalize": negative_normalize,
    "percentile_clip": percentile_clip,
    "absolute_percentile_clip": absolute_percentile_clip,
    "positive": positive,
    "negative": negative,
}
"""Filters by name, for the widget's sign mode and the directive's ``:postprocessing:`` option."""

__all__ = [
    "FILTERS",
    "SPATIAL_AXIS",
    "absolute_normalize",
    "absolute_percentile_clip",
    "negative",
    "negative_normalize",
    "normalize",
    "percentile_clip",
    "positive",
    "positive_normalize",
]
