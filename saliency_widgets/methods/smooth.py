"""Noise-averaged wrappers over any method: SmoothGrad, VarGrad and SquareGrad.

Each draws ``samples`` noisy copies of the batch, ``x + ε`` with ``ε ~ N(0, σ²)`` and ``σ`` a
fraction ``noise`` of each image's value range (Smilkov et al.'s parametrisation), runs the
wrapped method on each copy and keeps a running statistic of its attributions: the mean
(SmoothGrad), the variance (VarGrad) or the mean square (SquareGrad).

Memory does not grow with ``samples``: the copies are made one at a time inside a
``tf.while_loop`` whose iterations never overlap (``parallel_iterations=1``), so the wrapped
method always sees a batch of the caller's size and only the running statistics are kept.
The noise is a pure function of ``seed`` and the sample number (one ``(H, W, C)`` pattern per
sample from :func:`portable_normal`, scaled per image): an image gets the same maps whatever its
batch, batch size or replica, eager, compiled or under XLA.

For methods with a channel axis (those taking ``reduce``), the statistic is taken over the raw
per-channel attributions and reduced afterwards, as in the paper (average the gradients, then
take magnitudes); other methods (e.g. Grad-CAM) have their maps averaged as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import keras
import tensorflow as tf

from saliency_widgets._checks import positive_int
from saliency_widgets.methods._named import function_of
from saliency_widgets.methods._random import portable_normal, portable_uniform
from saliency_widgets.methods.gradient import Reduce, gradients, reduce_channels

Statistic = Literal["mean", "variance", "square"]
MethodLike = Callable[..., tuple[tf.Tensor, tf.Tensor]] | str


def resolve_method(method: MethodLike) -> Callable[..., tuple[tf.Tensor, tf.Tensor]]:
    """The method function of ``method``, a function or a name in the registry.

    Raises:
        TypeError: For anything else.
    """
    if isinstance(method, str):
        return function_of(method)
    if not callable(method):
        raise TypeError(f"method must be a method function or a registered name, got {method!r}")
    return method


def _takes_reduce(method: Callable) -> bool:
    from saliency_widgets.methods.parameters import parameters_of  # imports this module

    return any(parameter.name == "reduce" for parameter in parameters_of(method)[0])


def noise_scale(inputs: tf.Tensor, noise: float) -> tf.Tensor:
    """Per-image standard deviation ``noise · (max(x) − min(x))``, shaped ``(B, 1, 1, 1)``.

    Args:
        inputs: ``(B, H, W, C)`` images.
        noise: Fraction of each image's value range (Smilkov et al. recommend 0.10-0.20).

    Returns:
        The standard deviations, broadcastable against ``inputs``.
    """
    axes = list(range(1, inputs.shape.rank))
    spread = tf.reduce_max(inputs, axis=axes, keepdims=True) - tf.reduce_min(
        inputs, axis=axes, keepdims=True
    )
    return tf.cast(noise, inputs.dtype) * spread


def noisy_statistic(
    statistic: Statistic,
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    method: MethodLike = gradients,
    samples: int = 50,
    noise: float = 0.15,
    seed: int = 0,
    reduce: Reduce = "max",
    **params: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """A running statistic of ``method``'s attributions over noisy copies of the inputs.

    Args:
        statistic: ``"mean"`` (SmoothGrad), ``"variance"`` (VarGrad) or ``"square"``
            (SquareGrad, the mean of squares).
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: Units to explain: ``None``, ``(B,)`` or ``(B, K)`` integers.
        method: The wrapped method, a function or a name registered in
            :data:`saliency_widgets.methods.METHODS`.
        samples: Number of noisy copies ``n``; memory does not depend on it.
        noise: Noise standard deviation as a fraction of each image's value range.
        seed: Seed of the noise.
        reduce: Channel reduction applied to the statistic, for methods that take ``reduce``
            (ignored for those that do not, e.g. CAMs).
        **params: Passed to ``method``.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs on the clean inputs and the statistic's maps.

    Raises:
        ValueError: For ``samples < 1``, a negative ``noise`` or an unknown ``statistic``.
    """
    if statistic not in ("mean", "variance", "square"):
        raise ValueError(f"statistic={statistic!r}: expected 'mean', 'variance' or 'square'")
    samples = positive_int("samples", samples)
    if not noise >= 0:
        raise ValueError(f"noise must be a non-negative fraction of the input range, got {noise}")
    base = resolve_method(method)
    channels = _takes_reduce(base)
    if channels:
        params = {**params, "reduce": None}
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits = model(inputs, training=False)
    scale = noise_scale(inputs, noise)
    shape = tf.shape(inputs)

    def attributions(i: tf.Tensor) -> tf.Tensor:
        # One (H, W, C) draw shared by the batch, so an image's noise never depends on its
        # batch, its position or the replica it lands on.
        noisy = inputs + scale * portable_normal(shape[1:], seed, i)[None]
        return tf.cast(base(model, noisy, indices, **params)[1], tf.float32)

    # The first sample fixes the statistic's shape; the rest run in a non-overlapping loop.
    first = attributions(tf.constant(0))
    mean = tf.square(first) if statistic == "square" else first
    spread = tf.zeros_like(first)

    def body(i: tf.Tensor, mean: tf.Tensor, spread: tf.Tensor) -> tuple:
        value = attributions(i)
        if statistic == "square":
            value = tf.square(value)
        count = tf.cast(i + 1, value.dtype)
        delta = value - mean
        mean = mean + delta / count
        if statistic == "variance":  # Welford: stable where E[g²] − E[g]² would cancel
            spread = spread + delta * (value - mean)
        return i + 1, mean, spread

    _, mean, spread = tf.while_loop(
        lambda i, *_: i < samples,
        body,
        (tf.constant(1), mean, spread),
        parallel_iterations=1,
    )
    result = spread / samples if statistic == "variance" else mean
    if channels:  # (B, H, W, C, K) -> (B, K, H, W, C) for the shared channel reduction
        result = reduce_channels(tf.transpose(result, [0, 4, 1, 2, 3]), reduce)
    return logits, result


def smoothgrad(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    method: MethodLike = gradients,
    samples: int = 50,
    noise: float = 0.15,
    seed: int = 0,
    reduce: Reduce = "max",
    **params: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """SmoothGrad: ``method``'s attributions averaged over noisy copies of the inputs.

    Averaging over ``x + N(0, σ²)`` removes the high-frequency noise of raw gradients and leaves
    the structure the model responds to. ``noise=0`` gives exactly ``method``'s maps.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        method: The method to smooth (default vanilla gradients), a function or a registered
            name such as ``"integrated_gradients"`` or ``"gradcam"``.
        samples: Number of noisy copies (the paper uses 50); peak memory does not grow with it.
        noise: Noise standard deviation as a fraction of each image's ``max − min`` (the paper
            recommends 10-20 %).
        seed: Seed of the noise; the same seed gives the same maps.
        reduce: Channel reduction of the averaged attributions (``"max"`` of magnitudes,
            signed ``"mean"``/``"sum"``, ``None``), for methods that take ``reduce``.
        **params: Passed to ``method`` (e.g. ``steps=`` for Integrated Gradients).

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs on the clean inputs and ``(B, H, W, K)`` maps
        (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> logits, maps = sw.smoothgrad(model, sw.zoo.preprocess(samples.images),
        ...                              samples.labels, samples=8)
        >>> maps.shape
        (2, 64, 64, 1)

    References:
        Smilkov, D., Thorat, N., Kim, B., Viégas, F., & Wattenberg, M. (2017). SmoothGrad:
        removing noise by adding noise. https://arxiv.org/abs/1706.03825
    """
    return noisy_statistic(
        "mean", model, inputs, indices, method, samples, noise, seed, reduce, **params
    )


def vargrad(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    method: MethodLike = gradients,
    samples: int = 50,
    noise: float = 0.15,
    seed: int = 0,
    reduce: Reduce = "max",
    **params: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """VarGrad: the variance of ``method``'s attributions over noisy copies of the inputs.

    Arguments as in :func:`smoothgrad`. The variance (population, ``1/n``) is accumulated with
    Welford's update, so it is exact to float32 precision even when the mean is large.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs on the clean inputs and non-negative
        ``(B, H, W, K)`` maps (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    References:
        Adebayo, J., Gilmer, J., Goodfellow, I., & Kim, B. (2018). Local explanation methods for
        deep neural networks lack sensitivity to parameter values.
        https://arxiv.org/abs/1810.03307
    """
    return noisy_statistic(
        "variance", model, inputs, indices, method, samples, noise, seed, reduce, **params
    )


def squaregrad(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    method: MethodLike = gradients,
    samples: int = 50,
    noise: float = 0.15,
    seed: int = 0,
    reduce: Reduce = "max",
    **params: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """SquareGrad: the mean square of ``method``'s attributions over noisy copies of the inputs.

    Arguments as in :func:`smoothgrad`.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs on the clean inputs and non-negative
        ``(B, H, W, K)`` maps (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    References:
        Hooker, S., Erhan, D., Kindermans, P.-J., & Kim, B. (2019). A benchmark for
        interpretability methods in deep neural networks. https://arxiv.org/abs/1806.10758
    """
    return noisy_statistic(
        "square", model, inputs, indices, method, samples, noise, seed, reduce, **params
    )


__all__ = [
    "noise_scale",
    "noisy_statistic",
    "portable_normal",
    "portable_uniform",
    "resolve_method",
    "smoothgrad",
    "squaregrad",
    "vargrad",
]
