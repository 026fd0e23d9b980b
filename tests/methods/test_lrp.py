"""LRP: ε → 0 is Input × Gradient, conservation layer by layer, αβ(1, 0) = z⁺, the flat rule."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bundled_shapes import shapes_batch, shapes_model

import saliency_widgets as sw
from saliency_widgets.methods import gradient, relevance

INDICES = np.array([[0, 3], [1, 1], [2, 0], [3, 2], [4, 4], [0, 1], [2, 3]])


def bias_free_relu_net(seed: int = 4) -> keras.Model:
    """Convolutions, ReLU, max and average pooling, Add, Concatenate, Dense: no bias anywhere."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    a = keras.layers.Conv2D(6, 3, padding="same", use_bias=False, activation="relu")(inputs)
    b = keras.layers.Conv2D(6, 3, padding="same", use_bias=False)(a)
    b = keras.layers.ReLU()(b)
    h = keras.layers.Add()([a, b])
    h = keras.layers.MaxPooling2D()(h)
    d = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, activation="relu")(h)
    h = keras.layers.Concatenate()([h, d])
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(10, use_bias=False, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(5, use_bias=False)(h))


def bias_free_chain(seed: int = 5) -> keras.Model:
    """A chain (every tensor a cut of the network): conservation holds at every layer."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, padding="same", use_bias=False, activation="relu")(inputs)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(8, 3, use_bias=False, activation="relu")(h)
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(10, use_bias=False, activation="relu")(h)
    return keras.Model(inputs, keras.layers.Dense(5, use_bias=False)(h))


def test_epsilon_to_zero_on_a_bias_free_relu_net_is_input_times_gradient(images):
    model = bias_free_relu_net()
    _, maps = relevance.lrp(model, images, INDICES, rule="epsilon", epsilon=1e-9, reduce=None)
    _, ixg = gradient.input_x_gradient(model, images, INDICES, reduce=None)
    scale = np.abs(ixg).max()
    # float32: where a layer's pre-activation nearly cancels, z / z differs from 1 by rounding;
    # 1e-4 of the map's range, while a wrong rule is off by a large share of it
    np.testing.assert_allclose(maps, ixg, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("rule", ["zplus", "epsilon"])
def test_relevance_is_conserved_layer_by_layer_without_biases(images, rule):
    """(αβ is left out: a unit with no negative contribution hands on α·R, not R, as in
    zennit; conservation is the z⁺ and ε rules' property.)"""
    totals = relevance.relevance_by_layer(bias_free_chain(), images, 2, rule=rule, epsilon=1e-9)
    score = totals.pop("score")
    assert len(totals) == 8  # the input and 7 layers with rules (ReLU layers pass it on)
    for name, total in totals.items():
        np.testing.assert_allclose(total, score, rtol=1e-4, err_msg=name)
    # Branches (Add, Concatenate) split it and join it again: conserved from output to input.
    totals = relevance.relevance_by_layer(bias_free_relu_net(), images, 1, rule=rule)
    np.testing.assert_allclose(totals["input"], totals["score"], rtol=1e-4)


def test_alpha_one_beta_zero_is_zplus(images):
    model = bias_free_relu_net()
    _, zplus = relevance.lrp(model, images, INDICES, rule="zplus", reduce=None)
    _, ab = relevance.lrp(model, images, INDICES, rule="alphabeta", beta=0.0, reduce=None)
    np.testing.assert_allclose(ab, zplus, rtol=1e-5, atol=1e-7)
    _, ab21 = relevance.lrp(model, images, INDICES, rule="alphabeta", beta=1.0, reduce=None)
    assert np.abs(np.asarray(ab21) - np.asarray(zplus)).max() > 1e-2  # β matters


def test_the_flat_first_layer_spreads_each_units_relevance_evenly():
    """One 3×3 convolution then a Dense: input relevance = Σ over windows of R_unit / 27."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((5, 5, 3))
    conv = keras.layers.Conv2D(1, 3, use_bias=False)
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(conv(inputs))))
    x = np.random.default_rng(1).uniform(0.1, 1, (1, 5, 5, 3)).astype(np.float32)
    _, maps = relevance.lrp(model, x, [[0]], rule="composite", reduce=None)
    units = np.asarray(conv(x))[0, :, :, 0] * dense.get_weights()[0].reshape(3, 3)  # R (ε→0)
    expected = np.zeros((5, 5))
    for i in range(3):
        for j in range(3):
            expected[i : i + 3, j : j + 3] += units[i, j] / 27
    np.testing.assert_allclose(
        np.asarray(maps)[0, :, :, :, 0], expected[..., None].repeat(3, -1), rtol=1e-4, atol=1e-6
    )


def test_batch_normalisation_is_folded_and_the_bundled_model_is_input_times_gradient():
    """The bundled model (space-to-depth reshapes, conv→BN→ReLU, max pooling, GAP, biases):
    LRP-0 equals Input × Gradient on any ReLU network, biases included, when every layer's
    rule is right (a wrongly folded normalisation breaks it)."""
    model = sw.inspection.explained_model(shapes_model()).model
    batch = shapes_batch(4)
    x, indices = batch.x[:4], batch.labels[:4, None]
    _, maps = relevance.lrp(model, x, indices, rule="epsilon", epsilon=1e-9)
    _, ixg = gradient.input_x_gradient(model, x, indices)
    # Measured: at most 1.9e-4 of the largest value, 95% of pixels within 1e-5 (differences come
    # from units whose z is near 0, where the rule's division amplifies float32 rounding).
    np.testing.assert_allclose(maps, ixg, atol=1e-3 * np.abs(ixg).max())
    close = np.abs(np.asarray(maps) - ixg) <= 1e-5 * np.abs(ixg).max()
    assert close.mean() > 0.9


def test_unsupported_layers_are_refused_by_name_and_class_before_tracing(images):
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3)(inputs)
    h = keras.layers.LayerNormalization(name="odd_norm")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    with pytest.raises(ValueError, match=r"'odd_norm' \(LayerNormalization\)"):
        sw.lrp(model, images, 0)
    with pytest.raises(ValueError, match="rule='plus'"):
        sw.lrp(bias_free_relu_net(), images, 0, rule="plus")


def test_the_users_model_is_not_modified(images):
    model = bias_free_relu_net()
    before = [w.copy() for w in model.get_weights()]
    layers = list(model.layers)
    logits, _ = sw.lrp(model, images, 1)
    np.testing.assert_allclose(logits, model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)
    assert list(model.layers) == layers
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)
