"""PAIR ``saliency`` (``saliency.core``) with a TensorFlow ``call_model_function``.

PAIR explains one image per call (``GetMask``), so a batch is a Python loop. The
``call_model_function`` is the one of PAIR's TF2 example, with the gradient in a
``tf.function`` (a generous reading: the example runs it eagerly). SmoothGrad is
``GetSmoothedMask(..., magnitude=False)``: the mean raw gradient, like Smilkov et al.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import saliency.core as saliency
import tensorflow as tf

from contenders.base import Adapter as BaseAdapter


class Adapter(BaseAdapter):
    """PAIR saliency."""

    packages = ("saliency", "tensorflow-cpu", "keras", "numpy")

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        super().__init__(model, logits_model, mode)
        self.method = saliency.GradientSaliency()
        net = logits_model

        @tf.function(reduce_retracing=True)
        def gradient(images: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(images)
                scores = net(images, training=False)[:, target]
            return tape.gradient(scores, images)

        def call_model_function(
            images: np.ndarray, call_model_args: dict | None = None, expected_keys: Any = None
        ) -> dict:
            target = tf.constant(call_model_args["class"], tf.int32)
            grads = gradient(tf.convert_to_tensor(images, tf.float32), target)
            return {saliency.INPUT_OUTPUT_GRADIENTS: grads.numpy()}

        self.call_model_function = call_model_function

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        masks = [
            self.method.GetMask(image, self.call_model_function, {"class": int(c)})
            for image, c in zip(x, top1, strict=True)
        ]
        return np.stack(masks)[:, None]

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        masks = [
            self.method.GetSmoothedMask(
                image,
                self.call_model_function,
                {"class": int(c)},
                stdev_spread=spread,
                nsamples=samples,
                magnitude=False,
            )
            for image, c in zip(x, top1, strict=True)
        ]
        return np.stack(masks)[:, None]
