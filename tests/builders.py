"""Small models with known structure, shared by the tests."""

from __future__ import annotations

import keras
import numpy as np


def small_cnn(classes: int = 5, activation: str | None = None, seed: int = 0) -> keras.Model:
    """A tiny functional CNN on 12x12x3 inputs with non-trivial gradients."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, activation="tanh", padding="same")(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(8, 3, activation="softplus")(h)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(classes, activation=activation, name="head")(h)
    return keras.Model(inputs, outputs)


def smooth_cnn() -> keras.Model:
    """tanh, average pooling and softplus: path integrals are smooth and converge fast."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, activation="tanh", padding="same")(inputs)
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Conv2D(8, 3, activation="softplus")(h)
    h = keras.layers.Flatten()(h)
    return keras.Model(inputs, keras.layers.Dense(5)(h))


def gap_dense(classes: int = 4, activation: str | None = None, seed: int = 0) -> keras.Model:
    """conv -> relu conv "features" (10x10x6) -> GAP -> Dense "head": the architecture of CAM."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(5, 3, padding="same", activation="tanh")(inputs)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="features")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(classes, activation=activation, name="head")(h)
    return keras.Model(inputs, outputs)


def flatten_head(seed: int = 2) -> keras.Model:
    """A head whose gradients vary over positions ("features" -> Flatten -> Dense -> tanh ->
    Dense), so that per-position and per-channel CAM weights differ."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="features")(inputs)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(8, activation="tanh")(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def after(model: keras.Model, name: str, activations: object) -> object:
    """Runs the layers of a chain ``model`` that follow layer ``name`` on ``activations``."""
    layers = model.layers
    h = activations
    for layer in layers[layers.index(model.get_layer(name)) + 1 :]:
        h = layer(h)
    return h


WIDGET_CLASS_NAMES = ["circle", "square", "triangle", "star", "cross"]
"""Class names of the widget tests' five-class models."""


def unit_range(images: np.ndarray) -> np.ndarray:
    """The widget tests' preprocessing: uint8 images to ``[-1, 1]``."""
    return np.asarray(images, np.float32) / 127.5 - 1.0
