"""Token layers folded into their patch grid: which tokens, which grid, and the refusals."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import ClassToken, small_vit
from plain_errors import check_plain_error

import saliency_widgets as sw
from saliency_widgets.inspection import (
    TokenGrid,
    TokenLayer,
    head_model,
    spatial_layers,
    spatial_model,
)
from saliency_widgets.inspection._tokens import token_grid


@pytest.fixture(scope="module")
def vit() -> keras.Model:
    return small_vit()


@pytest.fixture
def pictures() -> np.ndarray:
    return np.random.default_rng(1).uniform(size=(3, 32, 32, 3)).astype(np.float32)


def tokens_of(model: keras.Model, name: str, x: np.ndarray) -> np.ndarray:
    return np.asarray(keras.Model(model.input, model.get_layer(name).output)(x))


def test_the_grid_is_the_patch_tokens_without_the_class_token(vit, pictures):
    spatial = spatial_model(vit, "block1_output")
    assert spatial.tokens == TokenGrid(prefix=1, height=8, width=8)
    grid, logits = spatial.model(pictures)
    tokens = tokens_of(vit, "block1_output", pictures)  # (3, 65, 16), the class token first
    assert tokens.shape == (3, 65, 16)
    np.testing.assert_array_equal(grid, tokens[:, 1:].reshape(3, 8, 8, 16))
    # The class token is in no cell: it differs from every patch token.
    assert not np.isclose(np.asarray(grid), tokens[:, :1, None]).all(axis=-1).any()
    np.testing.assert_allclose(logits, vit(pictures), rtol=1e-5, atol=1e-6)


def test_the_default_layer_on_a_vit_is_the_last_token_layer_not_the_patch_embedding():
    # All tokens pooled: the final normalisation's patch tokens reach the outputs.
    spatial = spatial_model(small_vit(pooling="mean"))
    assert spatial.path == "encoder_norm"
    assert spatial.tokens == TokenGrid(1, 8, 8)


def test_on_a_class_token_head_the_default_is_the_last_attentions_input(vit, pictures):
    """After the last attention only the class token is read: the patch tokens there have no
    gradient, so the default is the last layer before it (pytorch-grad-cam's blocks[-1].norm1)."""
    spatial = spatial_model(vit)
    assert spatial.path == "block1_norm1"
    assert spatial.tokens == TokenGrid(1, 8, 8)
    assert [tuple(o.shape) for o in spatial.model.outputs] == [(None, 8, 8, 16), (None, 4)]
    layers = spatial_layers(vit)
    assert layers[0] == "patches" and layers[-1] == "encoder_norm"
    assert "block0_attention" in layers and "block1_mlp1" in layers


def test_a_non_square_grid_is_read_from_the_patch_embedding(pictures):
    # 32 x 24 inputs, 4 x 4 patches: an 8 x 6 grid and a class token, 49 = 7² tokens, which a
    # square rule would fold into a wrong 7 x 7 grid.
    model = small_vit(size=(32, 24))
    spatial = spatial_model(model, "block0_output")
    assert spatial.tokens == TokenGrid(1, 8, 6)
    x = pictures[:, :, :24]
    tokens = tokens_of(model, "block0_output", x)
    np.testing.assert_array_equal(spatial.model(x)[0], tokens[:, 1:].reshape(3, 8, 6, 16))


def test_a_given_grid_and_prefix_are_used(vit, pictures):
    spatial = spatial_model(vit, TokenLayer("block0_output", grid=(8, 8), prefix_tokens=1))
    assert spatial.tokens == TokenGrid(1, 8, 8)
    # A grid read differently: 16 x 4, the same tokens in the same order.
    tall = spatial_model(vit, TokenLayer("block0_output", grid=(16, 4)))
    tokens = tokens_of(vit, "block0_output", pictures)
    np.testing.assert_array_equal(tall.model(pictures)[0], tokens[:, 1:].reshape(3, 16, 4, 16))
    assert spatial_model(vit, TokenLayer(grid=(8, 8))).path == "block1_norm1"


def test_the_head_puts_the_class_token_back_in_front_of_replaced_patch_tokens(vit, pictures):
    head = head_model(vit, "block0_output")
    assert head.takes_inputs  # the class token is recomputed from the images
    tokens = tokens_of(vit, "block0_output", pictures)
    grid = tokens[:, 1:].reshape(3, 8, 8, 16)
    np.testing.assert_allclose(head.model([pictures, grid]), vit(pictures), rtol=1e-5, atol=1e-5)
    replaced = grid * np.arange(16, dtype=np.float32) / 8  # every channel scaled differently
    rest = keras.Model(vit.get_layer("block1_norm1").input, vit.output)
    expected = rest(np.concatenate([tokens[:, :1], replaced.reshape(3, 64, 16)], axis=1))
    np.testing.assert_allclose(head.model([pictures, replaced]), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(expected, vit(pictures), atol=1e-3)


def test_nested_vit_backbones_fold_too(vit, pictures):
    backbone = keras.Model(vit.input, vit.get_layer("encoder_norm").output, name="backbone")
    outer = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            backbone,
            keras.layers.Lambda(lambda t: t[:, 0]),
            vit.get_layer("head"),
        ]
    )
    spatial = spatial_model(outer)
    assert spatial.path == "backbone/block1_norm1" and spatial.tokens == TokenGrid(1, 8, 8)
    tokens = tokens_of(vit, "block1_norm1", pictures)
    grid, logits = spatial.model(pictures)
    np.testing.assert_array_equal(grid, tokens[:, 1:].reshape(3, 8, 8, 16))
    np.testing.assert_allclose(logits, vit(pictures), rtol=1e-5, atol=1e-5)
    head = head_model(outer)
    np.testing.assert_allclose(head.model([pictures, np.asarray(grid)]), logits, atol=1e-5)


@pytest.mark.parametrize(
    ("count", "spec", "patches", "expected"),
    [
        (65, None, None, TokenGrid(1, 8, 8)),
        (64, None, None, TokenGrid(0, 8, 8)),
        (66, None, None, TokenGrid(2, 8, 8)),  # class and distillation tokens (DeiT)
        (261, None, (16, 16), TokenGrid(5, 16, 16)),  # a class token and 4 registers
        (49, None, (8, 6), TokenGrid(1, 8, 6)),
        (200, TokenLayer(prefix_tokens=4), None, TokenGrid(4, 14, 14)),
        (41, TokenLayer(grid=(8, 5)), None, TokenGrid(1, 8, 5)),
        (50, TokenLayer(grid=(4, 4), prefix_tokens=34), None, TokenGrid(34, 4, 4)),
    ],
)
def test_token_grid(count, spec, patches, expected):
    assert token_grid("x", (None, count, 16), spec, patches) == expected


def test_a_count_that_is_no_square_plus_a_class_token_is_refused_naming_what_to_pass():
    with pytest.raises(ValueError) as error:
        token_grid("block", (None, 41, 16), None, None)
    message = str(error.value)
    assert "layer 'block' has 41 tokens (output shape (None, 41, 16))" in message
    assert "not a square grid of patches plus at most 2 class/register tokens" in message
    assert "layer=TokenLayer('block', grid=(h, w), prefix_tokens=p)" in message


def test_a_grid_that_does_not_multiply_out_is_refused_naming_both_numbers():
    with pytest.raises(ValueError, match=r"has 65 tokens but grid=\(8, 6\) holds 48 tokens"):
        token_grid("block", (None, 65, 16), TokenLayer(grid=(8, 6)), None)
    with pytest.raises(
        ValueError, match=r"65 tokens but grid=\(8, 8\) holds 64 tokens, plus prefix_tokens=2: 66"
    ):
        token_grid("block", (None, 65, 16), TokenLayer(grid=(8, 8), prefix_tokens=2), None)
    with pytest.raises(
        ValueError, match=r"after prefix_tokens=2, 63 remain, which is not a square"
    ):
        token_grid("block", (None, 65, 16), TokenLayer(prefix_tokens=2), None)
    with pytest.raises(ValueError, match=r"grid must be \(h, w\), two ints >= 1, got \(8, 0\)"):
        TokenLayer(grid=(8, 0))
    with pytest.raises(ValueError, match="prefix_tokens must be an int >= 0, got -1"):
        TokenLayer(prefix_tokens=-1)


def dense_patch_vit(rows: int, columns: int) -> keras.Model:
    """Patches cut by reshapes and embedded by a Dense layer: no 4-D layer to read a grid from."""
    layers = keras.layers
    inputs = keras.Input((4 * rows, 4 * columns, 3))
    h = layers.Reshape((rows, 4, columns, 4, 3))(inputs)
    h = layers.Permute((1, 3, 2, 4, 5))(h)
    h = layers.Reshape((rows * columns, 48))(h)
    h = layers.Dense(8, name="embedding")(h)
    h = ClassToken(name="class_token")(h)
    h = layers.LayerNormalization(name="encoder_norm")(h)
    return keras.Model(inputs, layers.Dense(3, name="head")(layers.Flatten()(h)))


def test_an_unfoldable_token_layer_is_refused_before_tracing():
    model = dense_patch_vit(8, 5)  # 41 tokens: 6² + 5, or 8 x 5 + 1
    x = np.zeros((2, 32, 20, 3), np.float32)
    with pytest.raises(ValueError) as error:
        sw.gradcam(model, x, 0)
    check_plain_error(error.value)
    message = str(error.value)
    assert message.startswith("layer=None: layer 'encoder_norm' has 41 tokens")
    assert "grid=(h, w)" in message and "prefix_tokens=p" in message
    with pytest.raises(ValueError) as error:
        sw.ablationcam(model, x, 0, layer="encoder_norm")
    check_plain_error(error.value)
    assert "layer='encoder_norm': layer 'encoder_norm' has 41 tokens" in str(error.value)
    with pytest.raises(ValueError) as error:
        sw.gradcam(model, x, 0, layer=TokenLayer("encoder_norm", grid=(8, 4)))
    check_plain_error(error.value)
    assert "has 41 tokens but grid=(8, 4) holds 32 tokens" in str(error.value)
    _, maps = sw.gradcam(model, x, 0, layer=TokenLayer("encoder_norm", grid=(8, 5)))
    assert maps.shape == (2, 32, 20, 1)


def test_steps_of_a_recurrent_layer_are_not_taken_for_patches():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    h = keras.layers.Reshape((64, 4), name="steps")(h)  # 64 = 8²: they would fold into a grid
    h = keras.layers.LSTM(5, return_sequences=True, name="rows")(h)
    h = keras.layers.Dense(3, name="per_step")(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    spatial = spatial_model(model)
    assert spatial.path == "steps"  # the last layer before the LSTM
    assert spatial.tokens == TokenGrid(0, 8, 8)  # no class token: the conv's grid again
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype(np.float32)
    conv = keras.Model(model.input, model.get_layer("conv").output)(x)
    np.testing.assert_array_equal(spatial.model(x)[0], conv)
    assert spatial_layers(model) == ["conv", "steps"]
    for name in ("rows", "per_step"):
        with pytest.raises(ValueError, match=f"'{name}' has .* after the recurrent layer 'rows'"):
            spatial_model(model, name)
