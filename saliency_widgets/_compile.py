"""The engine's compiled step: one ``tf.function`` per (model, method, options), cached.

:func:`compiled_step` builds the function :func:`saliency_widgets.explain` calls per batch:
the method, its postprocessing filter, the resize to the input's size and the replacement of
non-finite values, compiled once and kept while the model lives. Parameters are keyed by value
(arrays by a digest of their bytes), so equal options never trace again.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.filters import SPATIAL_AXIS
from saliency_widgets.inspection import FixedInputs

Method = Callable[..., tuple[tf.Tensor, tf.Tensor]]
Filter = Callable[..., tf.Tensor]


def _resize_to(maps: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Bilinear resize of ``(B, h, w, K)`` or ``(B, h, w, C, K)`` maps to ``size``."""
    if tuple(maps.shape[1:3]) == tuple(size):
        return maps
    if maps.shape.rank == 5:
        b, h, w, c, k = tf.unstack(tf.shape(maps))
        flat = tf.reshape(maps, [b, h, w, c * k])
        resized = tf.image.resize(flat, size)
        return tf.reshape(resized, [b, size[0], size[1], c, k])
    return tf.image.resize(maps, size)


def _sanitize(maps: tf.Tensor) -> tf.Tensor:
    """Replaces non-finite values (a model that overflows) by zeros: a map is never NaN."""
    return tf.where(tf.math.is_finite(maps), maps, tf.zeros_like(maps))


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _hashable(value: Any) -> Any:
    """A cache key for a parameter value: arrays by content digest, containers recursively."""
    if isinstance(value, np.ndarray):
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16)
        return ("ndarray", value.shape, value.dtype.str, digest.hexdigest())
    if isinstance(value, tf.Tensor):
        return _hashable(value.numpy())
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _hashable(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_hashable(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))  # still one trace per object, never one per batch
    return value


def _ours(function: object) -> bool:
    """Whether ``function`` is this package's own code (a partial's wrapped function counts)."""
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__module__", "").startswith("saliency_widgets.")


def _needs_autograph(method: Method, params: dict[str, Any], postprocessing: Filter | None) -> bool:
    """Whether any user code runs in the step, so AutoGraph must convert its Python control flow.

    The package's methods and filters are written with ``tf.cond``/``tf.while_loop`` and
    trace-time Python only, as Keras 3 traces models (its ``fit`` and ``predict`` never convert a
    model's ``call``). Converting them costs most of a first call (1.7 of 2.3 s for vanilla
    gradients of the bundled model); a user's own method or filter is still converted.
    """
    callables = [method, postprocessing, *(v for v in params.values() if callable(v))]
    return not all(_ours(c) for c in callables if c is not None)


def compiled_step(
    model: keras.Model,
    method: Method,
    params: dict[str, Any],
    postprocessing: Filter | None,
    size: tuple[int, int] | None,
    jit: bool,
    position: int | None = None,
) -> Callable:
    """One compiled ``(x, indices, *others) -> (logits, maps)`` function per model and options.

    Args:
        model: The (logits) model explained.
        method: The pure method.
        params: Its checked keyword parameters.
        postprocessing: Filter applied to the maps, or ``None``.
        size: ``(H, W)`` the maps are resized to, or ``None``.
        jit: Whether to compile with XLA.
        position: For a model with several inputs, the explained input's index: the step then
            takes the batch's other inputs after ``indices`` and the method sees the model as
            :class:`~saliency_widgets.inspection.FixedInputs` (``None``: one input).

    Returns:
        The compiled function.
    """
    key = (method, _hashable(params), postprocessing, size, jit, position)
    cache = _COMPILED.setdefault(model, {})
    if key in cache:
        return cache[key]

    # The cache is keyed weakly by the model; a strong reference in the closure would keep it
    # (and its weights) alive forever.
    model_ref = weakref.ref(model)

    def step(x: tf.Tensor, indices: tf.Tensor, *others: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        explained = model_ref()
        if position is not None:
            explained = FixedInputs(explained, position, others)
        logits, maps = method(explained, x, indices, **params)
        if postprocessing is not None:
            maps = postprocessing(maps, axis=SPATIAL_AXIS)
        if size is not None:
            maps = _resize_to(maps, size)
        return logits, _sanitize(tf.cast(maps, tf.float32))

    # Padded batches and class chunks: each (batch, K) traces once, and a static K keeps the
    # unrolled per-class tape (reduce_retracing would relax K and fall back to batch_jacobian).
    # functools.partial gives each step its own identity: TensorFlow counts traces per code
    # object, and the first trace of a step for another model is no retrace (it would warn
    # "N out of the last M calls … triggered tf.function retracing" in a docs build).
    compiled = tf.function(
        functools.partial(step),
        jit_compile=jit,
        reduce_retracing=False,
        autograph=_needs_autograph(method, params, postprocessing),
    )
    cache[key] = compiled
    return compiled


def distributed(step: Callable, strategy: tf.distribute.Strategy) -> Callable:
    """Wraps ``step`` to split a batch across the strategy's replicas and gather the results.

    Args:
        step: A compiled step.
        strategy: The model's distribution strategy.

    Returns:
        ``run(x, indices, *others) -> (logits, maps)`` over the whole batch.
    """
    replicas = strategy.num_replicas_in_sync

    def run(x: np.ndarray, indices: np.ndarray, *others: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
        per = len(x) // replicas

        def shard(context: tf.distribute.ValueContext) -> tuple[tf.Tensor, ...]:
            i = context.replica_id_in_sync_group
            return tuple(tf.constant(a[i * per : (i + 1) * per]) for a in (x, indices, *others))

        values = strategy.experimental_distribute_values_from_function(shard)
        outputs = strategy.run(step, args=values)
        logits, maps = (strategy.experimental_local_results(o) for o in outputs)
        return tf.concat(logits, axis=0), tf.concat(maps, axis=0)

    return run


__all__ = ["compiled_step", "distributed"]
