"""Train the bundled shapes ViT: the script that produced ``zoo/data/shapes_vit.weights.h5``.

Run it from the repository root::

    python -m saliency_widgets.zoo.train_vit

It trains :func:`~saliency_widgets.zoo.vit.build_vit` on the ``"training"`` family of
:func:`~saliency_widgets.zoo.make_shapes` (the CNN's training images,
:func:`~saliency_widgets.zoo.train.training_images`, each epoch under fresh random symmetries of
the square, :func:`~saliency_widgets.zoo.train.dihedral`), its convolutional stem copied from
the bundled CNN and frozen, saves the weights only, and prints
the held-out accuracy of the saved file. Seeded generator, seeded Keras and deterministic
TensorFlow ops: the run is repeatable on a given machine and TensorFlow build.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.zoo import model_path
from saliency_widgets.zoo.shapes import HELD_OUT_SEED, make_shapes, preprocess
from saliency_widgets.zoo.train import dihedral, training_images
from saliency_widgets.zoo.vit import STEM_WIDTHS, build_vit, vit_weights_path

STEM_LAYERS = frozenset(
    f"{kind}{index}" for kind in ("conv", "bn") for index in range(1, len(STEM_WIDTHS) + 1)
)
"""The stem's layers with weights, copied from the bundled CNN and frozen."""


def held_out_accuracy(model: keras.Model, n: int = 512) -> float:
    """Accuracy of ``model`` on the first ``n`` held-out images (seed :data:`HELD_OUT_SEED`).

    Args:
        model: A shapes classifier taking preprocessed images.
        n: Number of held-out images.

    Returns:
        The share of images classified correctly.
    """
    held_out = make_shapes(n, seed=HELD_OUT_SEED)
    probabilities = model.predict(preprocess(held_out.images), batch_size=128, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == held_out.labels))


def train_vit(
    out: Path, train_size: int = 8_192, epochs: int = 6, batch_size: int = 64, seed: int = 0
) -> float:
    """Train the shapes ViT, save its weights to ``out`` and return its held-out accuracy.

    Args:
        out: Weights file to write (``.weights.h5``).
        train_size: Training images.
        epochs: Passes over them, each under new random symmetries.
        batch_size: Images per step.
        seed: Seed of Keras and of the symmetries.

    Returns:
        Held-out accuracy of the saved weights, see :func:`held_out_accuracy`.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    train_set = training_images(train_size, workers=1)
    images = preprocess(train_set.images)
    model = build_vit()
    cnn = keras.models.load_model(model_path(), safe_mode=True)
    for layer in model.layers:
        if layer.name in STEM_LAYERS:
            layer.set_weights(cnn.get_layer(layer.name).get_weights())
            layer.trainable = False
    steps = epochs * (train_size // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=2e-3, warmup_steps=steps // 20
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        ops = rng.integers(0, 8, len(images))
        print(f"epoch {epoch + 1}/{epochs}")
        model.fit(
            dihedral(images, ops), train_set.labels, batch_size=batch_size, epochs=1, verbose=2
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(out)
    saved = build_vit()
    saved.load_weights(out)
    return held_out_accuracy(saved)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m saliency_widgets.zoo.train_vit [--out PATH] ...``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=vit_weights_path())
    parser.add_argument("--train-size", type=int, default=8_192)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    accuracy = train_vit(args.out, args.train_size, args.epochs)
    minutes = (time.perf_counter() - start) / 60
    print(f"held-out accuracy {accuracy:.3f}; {minutes:.1f} min; wrote {args.out}")


if __name__ == "__main__":
    main()
