"""Counter-based random numbers: the same draws eager, compiled, under XLA and across versions.

Shared by the noise wrappers (:mod:`~saliency_widgets.methods.smooth`) and the uniform baseline
of :mod:`~saliency_widgets.methods.integrated`; it sits below both so neither imports the other.
"""

from __future__ import annotations

import math

import tensorflow as tf


def _mix(h: tf.Tensor) -> tf.Tensor:
    """MurmurHash3's 32-bit finaliser: a bijection of uint32 that mixes every bit."""
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(shift, tf.uint32)))
        h = h * tf.constant(factor, tf.uint32)
    return tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(16, tf.uint32)))


def portable_uniform(
    size: int | tf.Tensor, seed: int | tf.Tensor, sample: int | tf.Tensor
) -> tf.Tensor:
    """``size`` uniform numbers in ``(0, 1)``, a pure function of ``(seed, sample)``.

    TensorFlow's stateless random ops draw other numbers under XLA than with their plain kernels
    when the seed is computed at run time (as a loop counter is), and promise no stability across
    versions. This counter-based generator (a hash of the element's index, the seed and the
    sample number, in 32-bit integer arithmetic) gives the same numbers everywhere.

    Args:
        size: Number of values.
        seed: Seed.
        sample: Stream number (e.g. the noise sample), so that streams differ.

    Returns:
        ``(size,)`` float32 values in ``(0, 1)``, 24-bit resolution.
    """
    seed = tf.cast(seed, tf.uint32) + tf.constant(0x9E3779B9, tf.uint32)
    stream = tf.cast(sample, tf.uint32) * tf.constant(0x27D4EB2F, tf.uint32)
    key = _mix(tf.bitwise.bitwise_xor(_mix(seed), stream))
    index = tf.cast(tf.range(size), tf.uint32)
    bits = tf.bitwise.right_shift(_mix(index * tf.constant(0x9E3779B9, tf.uint32) + key), 8)
    return (tf.cast(bits, tf.float32) + 0.5) * 2.0**-24


def portable_normal(
    shape: tf.Tensor | list, seed: int | tf.Tensor, sample: int | tf.Tensor
) -> tf.Tensor:
    """Standard normal numbers shaped ``shape``, a pure function of ``(seed, sample)``.

    Box-Muller on :func:`portable_uniform`: identical (to float rounding) eager, compiled, under
    XLA and across TensorFlow versions.

    Args:
        shape: Output shape.
        seed: Seed.
        sample: Stream number.

    Returns:
        float32 values of shape ``shape``.
    """
    shape = tf.convert_to_tensor(shape, tf.int32)
    size = tf.reduce_prod(shape)
    pairs = tf.reshape(portable_uniform(2 * size, seed, sample), [2, -1])
    radius = tf.sqrt(-2.0 * tf.math.log(pairs[0]))
    return tf.reshape(radius * tf.cos((2.0 * math.pi) * pairs[1]), shape)


__all__ = ["portable_normal", "portable_uniform"]
