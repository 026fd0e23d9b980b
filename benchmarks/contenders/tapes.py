"""Hand-written baselines: what a user writes without a library.

``mode="eager"``: a plain ``tf.GradientTape`` in eager mode. ``mode="function"``: the same code
in a ``tf.function`` (no XLA on CPU, matching the engine's CPU policy). Both take the linear-head
model (the user removed the softmax by hand) and return the maximum over channels of ``|∂S/∂x|``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from contenders.base import Adapter as BaseAdapter
from contenders.base import noise_sigma


def _class_maps(model: Any, x: tf.Tensor, indices: tf.Tensor) -> tf.Tensor:
    """``(N, K, H, W)`` maps: one forward pass, K backward passes through a persistent tape."""
    k = indices.shape[1]
    with tf.GradientTape(persistent=k > 1, watch_accessed_variables=False) as tape:
        tape.watch(x)
        logits = model(x, training=False)
        scores = tf.gather(logits, indices, batch_dims=1)
        columns = [scores[:, i] for i in range(k)]
    grads = tf.stack([tape.gradient(c, x) for c in columns], axis=1)
    return tf.reduce_max(tf.abs(grads), axis=-1)


def _gradient(model: Any, x: tf.Tensor, top1: tf.Tensor) -> tf.Tensor:
    """Raw ``(N, H, W, C)`` input gradients of one class per image."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        scores = tf.gather(model(x, training=False), top1, batch_dims=1)
    return tape.gradient(scores, x)


class Adapter(BaseAdapter):
    """A hand-written tape, eager or in a ``tf.function``."""

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        compiled = mode == "function"
        self._class_maps = tf.function(_class_maps) if compiled else _class_maps
        self._gradient = tf.function(_gradient) if compiled else _gradient

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        return self.classes(x, top1[:, None])

    def classes(self, x: np.ndarray, topk: np.ndarray) -> np.ndarray:
        maps = self._class_maps(self.logits_model, tf.constant(x), tf.constant(topk, tf.int32))
        return maps.numpy()

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        sigma = noise_sigma(x, spread).astype(np.float32)
        top1 = tf.constant(top1, tf.int32)
        total = tf.zeros_like(x)
        for _ in range(samples):
            noisy = x + sigma * tf.random.normal(x.shape)
            total += self._gradient(self.logits_model, noisy, top1)
        return (total / samples).numpy()[:, None]
