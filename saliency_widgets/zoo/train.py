"""Train the bundled shapes CNN: the script that produced ``zoo/data/shapes_cnn.keras``.

Run it from the repository root::

    python -m saliency_widgets.zoo.train --out saliency_widgets/zoo/data/shapes_cnn.keras

The run is deterministic on a given machine and TensorFlow build (seeded generator, seeded Keras,
deterministic TensorFlow ops). It prints the held-out accuracy and the pointing-game rate of the
vanilla gradient, and writes both, with the training settings, to a JSON file next to the model.
The shipped model took about 1,050 CPU-seconds to train (under 10 minutes on two free cores).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from saliency_widgets.zoo.shapes import (
    CLASS_NAMES,
    HELD_OUT_SEED,
    IMAGE_SIZE,
    ShapeSet,
    make_shapes,
    preprocess,
)

TRAIN_SEED = 1_000
"""Seed of the training images (distinct from the validation and held-out seeds)."""

VALIDATION_SEED = 2_000
"""Seed of the images monitored during training."""

LAST_CONV = "last_conv"
"""Name of the last convolution (8×8 feature map), the natural Grad-CAM layer."""


def build_model(num_classes: int = len(CLASS_NAMES), size: int = IMAGE_SIZE) -> keras.Model:
    """Build the (untrained) shapes CNN.

    Three Conv–BatchNorm–ReLU–MaxPool blocks take the image from ``size`` to ``size / 8``; a last
    ReLU convolution (named :data:`LAST_CONV`) feeds global average pooling and a softmax
    ``Dense`` layer named ``"predictions"``.

    Args:
        num_classes: Number of output classes.
        size: Input image side; inputs are preprocessed images in ``[-1, 1]``.

    Returns:
        A ``keras.Model`` mapping ``(batch, size, size, 3)`` to class probabilities.
    """
    inputs = keras.Input((size, size, 3), name="image")
    x = inputs
    for block, width in enumerate((24, 48, 96), start=1):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{block}")(x)
        x = layers.BatchNormalization(name=f"bn{block}")(x)
        x = layers.ReLU(name=f"relu{block}")(x)
        x = layers.MaxPooling2D(name=f"pool{block}")(x)
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name=LAST_CONV)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="shapes_cnn")


def dihedral_augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply a random flip and quarter turn to each image; every class is invariant to these.

    Args:
        images: ``(n, H, W, C)`` square images.
        rng: Random generator.

    Returns:
        A new array of the same shape.
    """
    out = np.empty_like(images)
    ops = rng.integers(0, 8, images.shape[0])
    for op in range(8):
        idx = np.flatnonzero(ops == op)
        turned = np.rot90(images[idx], k=op % 4, axes=(1, 2))
        out[idx] = turned[:, :, ::-1] if op >= 4 else turned
    return out


def gaussian_blur(maps: np.ndarray, sigma: float) -> np.ndarray:
    """Blur ``(n, H, W)`` maps with a Gaussian, like ``scipy.ndimage.gaussian_filter`` (reflect).

    Args:
        maps: Batch of 2-D maps.
        sigma: Standard deviation in pixels.

    Returns:
        The blurred maps, float32.
    """
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.asarray(maps, dtype=np.float64)
    for axis in (1, 2):
        pad = [(0, 0)] * 3
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="symmetric")
        length = out.shape[axis]
        out = sum(
            w * np.take(padded, np.arange(i, i + length), axis=axis) for i, w in enumerate(kernel)
        )
    return out.astype(np.float32)


def gradient_pointing(
    model: keras.Model, shapes: ShapeSet, sigma: float = 1.5, batch_size: int = 100
) -> tuple[float, np.ndarray]:
    """Pointing game of the vanilla gradient of the true-class *logit* on correct predictions.

    For each correctly classified image, the map ``max_c |∂ logit / ∂ x|`` is blurred with a
    Gaussian of ``sigma`` pixels; a hit is when its argmax lies inside the object mask.

    Args:
        model: The trained softmax model (its ``"predictions"`` layer is a ``Dense``).
        shapes: Images, labels and masks to evaluate.
        sigma: Blur in pixels before taking the argmax.
        batch_size: Images per gradient batch.

    Returns:
        The hit rate over correctly classified images, and the per-image hits (``-1`` where the
        prediction was wrong).
    """
    head = model.get_layer("predictions")
    features = keras.Model(model.inputs, head.input)
    kernel, bias = (tf.convert_to_tensor(w) for w in head.get_weights())
    hits = np.full(len(shapes), -1, dtype=np.int64)
    for start in range(0, len(shapes), batch_size):
        stop = min(start + batch_size, len(shapes))
        x = tf.convert_to_tensor(preprocess(shapes.images[start:stop]))
        labels = shapes.labels[start:stop]
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = tf.matmul(features(x, training=False), kernel) + bias
            chosen = tf.gather(logits, labels, axis=1, batch_dims=1)
        grads = tape.gradient(chosen, x).numpy()
        predicted = logits.numpy().argmax(axis=1)
        maps = gaussian_blur(np.abs(grads).max(axis=-1), sigma)
        flat = maps.reshape(maps.shape[0], -1).argmax(axis=1)
        ys, xs = np.unravel_index(flat, maps.shape[1:])
        inside = shapes.masks[start:stop][np.arange(stop - start), ys, xs]
        hits[start:stop] = np.where(predicted == labels, inside, -1)
    correct = hits >= 0
    return float(hits[correct].mean()) if correct.any() else 0.0, hits


def train(
    out: Path,
    epochs: int = 14,
    train_size: int = 20_000,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the model, evaluate it on the held-out set and save it with a JSON report.

    Args:
        out: Path of the ``.keras`` file to write; the report goes to ``out.with_suffix(".json")``.
        epochs: Passes over the training images (each with fresh random flips and turns).
        train_size: Number of generated training images.
        batch_size: Mini-batch size.
        learning_rate: Peak Adam learning rate (cosine decay to zero).
        seed: Seed for Keras, TensorFlow, numpy and the augmentation.

    Returns:
        The report written to the JSON file.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    started = time.perf_counter()
    started_cpu = time.process_time()

    print(f"generating {train_size} training images (seed {TRAIN_SEED}) ...", flush=True)
    train_set = make_shapes(train_size, TRAIN_SEED)
    validation = make_shapes(1_000, VALIDATION_SEED)
    held_out = make_shapes(1_000, HELD_OUT_SEED)
    x_val = preprocess(validation.images)

    model = build_model()
    steps = epochs * (train_size // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, warmup_steps=0)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary(print_fn=lambda line, **_: print(line, flush=True))

    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        print(f"epoch {epoch + 1}/{epochs}", flush=True)
        order = rng.permutation(train_size)
        x = preprocess(dihedral_augment(train_set.images[order], rng))
        model.fit(
            x,
            train_set.labels[order],
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            validation_data=(x_val, validation.labels),
            verbose=2,
        )
    train_seconds = time.perf_counter() - started
    train_cpu_seconds = time.process_time() - started_cpu

    # Ship the weights only (no optimizer state), and evaluate exactly the file that ships.
    out.parent.mkdir(parents=True, exist_ok=True)
    export = build_model()
    export.set_weights(model.get_weights())
    export.save(out)
    shipped = keras.models.load_model(out, safe_mode=True)
    probabilities = shipped.predict(preprocess(held_out.images), batch_size=250, verbose=0)
    accuracy = float((probabilities.argmax(axis=1) == held_out.labels).mean())
    pointing, _ = gradient_pointing(shipped, held_out)
    print(f"held-out accuracy: {accuracy:.4f}", flush=True)
    print(f"gradient pointing rate (correct predictions): {pointing:.4f}", flush=True)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) in {train_seconds:.0f} s", flush=True)

    report = {
        "model_file": out.name,
        "class_names": list(CLASS_NAMES),
        "image_size": IMAGE_SIZE,
        "input_convention": "images / 127.5 - 1 (range [-1, 1])",
        "held_out": {"n": len(held_out), "seed": HELD_OUT_SEED, "accuracy": accuracy},
        "gradient_pointing": {
            "rate": pointing,
            "definition": "argmax of gaussian(sigma=1.5)-blurred max_c|d logit_true / d x| "
            "inside the object mask, over correctly classified held-out images",
        },
        "training": {
            "train_seed": TRAIN_SEED,
            "validation_seed": VALIDATION_SEED,
            "seed": seed,
            "train_size": train_size,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "augmentation": "random flips and quarter turns",
            "seconds": round(train_seconds, 1),
            "cpu_seconds": round(train_cpu_seconds, 1),
            "cpu_threads": os.cpu_count(),
        },
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "parameters": int(model.count_params()),
    }
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="path of the .keras file")
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--train-size", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train(
        args.out,
        epochs=args.epochs,
        train_size=args.train_size,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )


if __name__ == "__main__":
    main()
