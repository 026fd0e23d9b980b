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


class ClassToken(keras.layers.Layer):
    """Prepends one learnable token to ``(B, n, d)`` tokens: ``(B, 1 + n, d)``."""

    def build(self, shape: tuple) -> None:
        self.token = self.add_weight(shape=(1, 1, shape[-1]), initializer="random_normal")

    def call(self, tokens: object) -> object:
        batch = keras.ops.shape(tokens)[0]
        return keras.ops.concatenate([keras.ops.tile(self.token, [batch, 1, 1]), tokens], axis=1)


class PositionEmbedding(keras.layers.Layer):
    """Adds a learnable ``(n, d)`` position embedding to ``(B, n, d)`` tokens."""

    def build(self, shape: tuple) -> None:
        self.table = self.add_weight(shape=(1, *shape[1:]), initializer="random_normal")

    def call(self, tokens: object) -> object:
        return tokens + self.table


def small_vit(
    classes: int = 4,
    size: tuple[int, int] = (32, 32),
    patch: int = 4,
    depth: int = 16,
    seed: int = 0,
    pooling: str = "token",
) -> keras.Model:
    """A vision transformer: patch embedding, class token, two encoder blocks, a head.

    32x32 inputs and 4x4 patches make an 8x8 grid: its token layers are ``(B, 65, 16)``, the class
    token first. The head reads the class token after the final ``LayerNormalization``
    (``"encoder_norm"``), or with ``pooling="mean"`` the mean of all tokens. The patch embedding
    (``"patches"``) is the only 4-D layer.
    """
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input((*size, 3))
    h = layers.Conv2D(depth, patch, strides=patch, name="patches")(inputs)
    h = layers.Reshape(((size[0] // patch) * (size[1] // patch), depth), name="tokens")(h)
    h = ClassToken(name="class_token")(h)
    h = PositionEmbedding(name="positions")(h)
    for block in range(2):
        x = layers.LayerNormalization(name=f"block{block}_norm1")(h)
        x = layers.MultiHeadAttention(2, depth // 2, name=f"block{block}_attention")(x, x)
        h = layers.Add(name=f"block{block}_add1")([h, x])
        x = layers.LayerNormalization(name=f"block{block}_norm2")(h)
        x = layers.Dense(2 * depth, activation="gelu", name=f"block{block}_mlp1")(x)
        x = layers.Dense(depth, name=f"block{block}_mlp2")(x)
        h = layers.Add(name=f"block{block}_output")([h, x])
    h = layers.LayerNormalization(name="encoder_norm")(h)
    pooled = h[:, 0] if pooling == "token" else layers.GlobalAveragePooling1D(name="pool")(h)
    outputs = layers.Dense(classes, name="head")(pooled)
    return keras.Model(inputs, outputs)


def image_and_metadata(classes: int = 3, seed: int = 0) -> keras.Model:
    """Two inputs, ``img`` (12x12x3) and ``meta`` (4,), concatenated before a two-layer head.

    The metadata reaches the output through a ReLU layer shared with the image features, so
    holding it at another value changes the image's gradients, not only the logits.
    """
    keras.utils.set_random_seed(seed)
    image = keras.Input((12, 12, 3), name="img")
    meta = keras.Input((4,), name="meta")
    h = keras.layers.Conv2D(6, 3, activation="relu", name="features")(image)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Concatenate()([h, meta])
    h = keras.layers.Dense(8, activation="relu")(h)
    outputs = keras.layers.Dense(classes, activation="softmax", name="head")(h)
    return keras.Model([image, meta], outputs)


def rows_lstm(seed: int = 0) -> keras.Model:
    """An LSTM over the rows of a 12x12x3 image (each row a time step), then a Dense head."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Reshape((12, 36))(inputs)
    h = keras.layers.LSTM(8, name="rows_lstm")(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def convlstm_strips(seed: int = 0) -> keras.Model:
    """A conv stem, then a ConvLSTM over three 4-row strips of the image (strips as steps)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inputs)
    h = keras.layers.Reshape((3, 4, 12, 4))(h)
    h = keras.layers.ConvLSTM2D(5, 3, padding="same", name="strips")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


def image_and_tokens(seed: int = 0) -> keras.Model:
    """An image and integer token ids (an Embedding layer), concatenated before the head."""
    keras.utils.set_random_seed(seed)
    image = keras.Input((12, 12, 3), name="img")
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, name="features")(image))
    t = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 3, name="embed")(tokens))
    outputs = keras.layers.Dense(3)(keras.layers.Concatenate()([h, t]))
    return keras.Model({"img": image, "tokens": tokens}, outputs)
