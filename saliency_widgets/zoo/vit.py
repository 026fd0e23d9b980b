"""The bundled shapes ViT: a small vision transformer trained on the shapes set.

The architecture is built here in code (:func:`build_vit`) and only the weights ship
(``data/shapes_vit.weights.h5``, written by :mod:`saliency_widgets.zoo.train_vit`), so loading
needs no custom objects. Its blocks hold tokens ``(batch, 1 + 8·8, d)``, the class token first:
the CAM family folds them into the 8×8 patch grid
(:class:`~saliency_widgets.inspection.TokenLayer`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from saliency_widgets.zoo.shapes import CLASS_NAMES, IMAGE_SIZE

VIT_PATCH = 8
"""Patch side in pixels: a 64×64 image makes an 8×8 grid of patches."""

STEM_WIDTHS = (32, 64, 64)
"""Widths of the convolutional stem: the bundled CNN's first three blocks, same layer names."""

VIT_WIDTH = 48
"""Token width ``d``."""

VIT_BLOCKS = 3
"""Encoder blocks (pre-norm attention and MLP, each with a residual)."""

VIT_HEADS = 4
"""Attention heads per block."""


class ClassToken(keras.layers.Layer):
    """Prepends one learnable token to ``(B, n, d)`` tokens: ``(B, 1 + n, d)``."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the token, ``(1, 1, d)``."""
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer="zeros", name="token"
        )

    def call(self, tokens: Any) -> Any:
        """Return the class token followed by ``tokens``."""
        batch = keras.ops.shape(tokens)[0]
        return keras.ops.concatenate([keras.ops.tile(self.token, [batch, 1, 1]), tokens], axis=1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """``(B, 1 + n, d)``."""
        count = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], count, input_shape[2])


class PositionEmbedding(keras.layers.Layer):
    """Adds a learnable ``(n, d)`` position embedding to ``(B, n, d)`` tokens."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the table, ``(1, n, d)``."""
        self.table = self.add_weight(
            shape=(1, *input_shape[1:]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="table",
        )

    def call(self, tokens: Any) -> Any:
        """Return ``tokens`` plus the table."""
        return tokens + self.table


def build_vit(num_classes: int = len(CLASS_NAMES), size: int = IMAGE_SIZE) -> keras.Model:
    """Build the (untrained) shapes ViT.

    A hybrid ViT (Dosovitskiy et al. 2021, section 3.1): a convolutional stem, the bundled
    CNN's first three Conv–BatchNorm–ReLU blocks with their names (space to depth, ``conv1`` →
    ``pool1``, ``conv2``, ``conv3`` → ``pool2``: 8×8×64), so that training copies their
    weights (:func:`~saliency_widgets.zoo.train_vit.train_vit`) and a transformer this small
    learns in minutes on a CPU; then a ``Conv2D`` patch embedding (``"patches"``, a 1×1
    convolution: each token covers a :data:`VIT_PATCH`-pixel patch, an 8×8 grid on 64×64 images), a
    reshape to tokens, a class token, a position embedding, then
    :data:`VIT_BLOCKS` pre-norm encoder blocks (``block{i}_norm1`` → ``MultiHeadAttention`` →
    residual, ``block{i}_norm2`` → GELU MLP → residual ``block{i}_output``), a final
    ``LayerNormalization`` (``"encoder_norm"``) and a softmax ``Dense`` head (``"predictions"``)
    on the class token.

    Args:
        num_classes: Number of output classes.
        size: Input image side, a multiple of :data:`VIT_PATCH`; inputs are
            :func:`~saliency_widgets.zoo.preprocess`-ed images in ``[-1, 1]``.

    Returns:
        A ``keras.Model`` mapping ``(batch, size, size, 3)`` to class probabilities.
    """
    layers = keras.layers
    grid = size // VIT_PATCH
    inputs = keras.Input((size, size, 3), name="image")
    half = size // 2
    h = layers.Reshape((half, 2, half, 2, 3), name="cells")(inputs)
    h = layers.Permute((1, 3, 2, 4, 5), name="cell_pixels")(h)
    h = layers.Reshape((half, half, 12), name="space_to_depth")(h)
    for index, width in enumerate(STEM_WIDTHS, start=1):
        h = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"conv{index}")(h)
        h = layers.BatchNormalization(name=f"bn{index}")(h)
        h = layers.ReLU(name=f"relu{index}")(h)
        if index in (1, len(STEM_WIDTHS)):
            h = layers.MaxPooling2D(name=f"pool{1 if index == 1 else 2}")(h)
    h = layers.Conv2D(VIT_WIDTH, 1, name="patches")(h)
    h = layers.Reshape((grid * grid, VIT_WIDTH), name="tokens")(h)
    h = ClassToken(name="class_token")(h)
    h = PositionEmbedding(name="positions")(h)
    for block in range(VIT_BLOCKS):
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{block}_norm1")(h)
        x = layers.MultiHeadAttention(
            VIT_HEADS, VIT_WIDTH // VIT_HEADS, name=f"block{block}_attention"
        )(x, x)
        h = layers.Add(name=f"block{block}_add1")([h, x])
        x = layers.LayerNormalization(epsilon=1e-6, name=f"block{block}_norm2")(h)
        x = layers.Dense(2 * VIT_WIDTH, activation="gelu", name=f"block{block}_mlp1")(x)
        x = layers.Dense(VIT_WIDTH, name=f"block{block}_mlp2")(x)
        h = layers.Add(name=f"block{block}_output")([h, x])
    h = layers.LayerNormalization(epsilon=1e-6, name="encoder_norm")(h)
    pooled = h[:, 0]
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(pooled)
    return keras.Model(inputs, outputs, name="shapes_vit")


def vit_weights_path() -> Path:
    """Return the path of the bundled ViT weights, ``zoo/data/shapes_vit.weights.h5``."""
    return Path(__file__).resolve().parent / "data" / "shapes_vit.weights.h5"
