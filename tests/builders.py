"""Small models with known structure, shared by the tests."""

from __future__ import annotations

import keras


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
