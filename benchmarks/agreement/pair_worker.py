"""Runs PAIR ``saliency`` (Guided IG, Blur IG, XRAI) in its virtualenv on saved weights and images.

Usage: ``pair_worker.py DIRECTORY``; reads ``logits.keras``, ``x.npy``, ``top.npy`` and
``attribution.npy`` (our XRAI base attribution, for the comparison that isolates segmentation and
ranking), writes ``pair.npz`` (maps) and ``pair.json`` (seconds per image, warm).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
import saliency.core as saliency
import tensorflow as tf


def main(directory: Path) -> None:
    model = keras.models.load_model(directory / "logits.keras")
    x, top = np.load(directory / "x.npy"), np.load(directory / "top.npy")
    attribution = np.load(directory / "attribution.npy")

    @tf.function(reduce_retracing=True)
    def gradient(images: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            scores = model(images, training=False)[:, target]
        return tape.gradient(scores, images)

    def call_model(images, call_model_args=None, expected_keys=None):  # PAIR's interface
        grads = gradient(tf.convert_to_tensor(images, tf.float32), call_model_args["class"])
        return {saliency.INPUT_OUTPUT_GRADIENTS: grads.numpy()}

    def each(method, **options):
        return np.stack(
            [
                method.GetMask(image, call_model, {"class": tf.constant(int(c))}, **options)
                for image, c in zip(x, top, strict=True)
            ]
        )

    runs = {
        "guided_ig": lambda: each(saliency.GuidedIG(), x_steps=200, fraction=0.25, max_dist=0.02),
        "blur_ig": lambda: each(saliency.BlurIG(), steps=100, max_sigma=50, grad_step=0.01),
        "xrai": lambda: each(saliency.XRAI(), batch_size=1),
    }
    maps, seconds = {}, {}
    gradient(tf.convert_to_tensor(x[:1]), tf.constant(int(top[0])))  # trace once, untimed
    for name, run in runs.items():
        start = time.perf_counter()
        maps[name] = run()
        seconds[name] = (time.perf_counter() - start) / len(x)
    maps["xrai_same_attribution"] = np.stack(
        [
            saliency.XRAI().GetMask(
                image, call_model, {"class": tf.constant(int(c))}, base_attribution=base
            )
            for image, c, base in zip(x, top, attribution, strict=True)
        ]
    )
    np.savez(directory / "pair.npz", **maps)
    (directory / "pair.json").write_text(json.dumps(seconds))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
