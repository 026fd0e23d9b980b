"""Vanilla gradients against known answers: an analytic linear model and an eager tape."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn, small_vit

import saliency_widgets as sw
from saliency_widgets.methods import gradient


def linear_model(weights: np.ndarray) -> keras.Model:
    """logits = flatten(x) @ W: the gradient of logit c w.r.t. x is W[:, c] reshaped."""
    inputs = keras.Input((4, 5, 3))
    dense = keras.layers.Dense(weights.shape[1], use_bias=False)
    outputs = dense(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    dense.set_weights([weights])
    return model


def test_linear_model_maps_equal_the_analytic_gradient():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(4 * 5 * 3, 3)).astype(np.float32)
    model = linear_model(w)
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    indices = np.array([[2, 0], [1, 1]])
    _, maps = gradient.gradients(model, tf.constant(x), indices)
    _, sums = gradient.gradients(model, tf.constant(x), indices, reduce="sum")
    _, raw = gradient.gradients(model, tf.constant(x), indices, reduce=None)
    grid = w.reshape(4, 5, 3, 3)  # (H, W, C, L)
    for b in range(2):
        for k, c in enumerate(indices[b]):
            np.testing.assert_allclose(maps[b, ..., k], np.abs(grid[..., c]).max(-1), rtol=1e-6)
            np.testing.assert_allclose(sums[b, ..., k], grid[..., c].sum(-1), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(raw[b, ..., k], grid[..., c], rtol=1e-6)


def test_mean_reduction_is_signed_mean():
    w = np.zeros((60, 1), np.float32)
    w[0, 0], w[1, 0], w[2, 0] = 3.0, -6.0, 0.0  # pixel (0, 0): channels 3, -6, 0
    model = linear_model(w)
    _, maps = gradient.gradients(model, tf.zeros((1, 4, 5, 3)), [0], reduce="mean")
    assert float(maps[0, 0, 0, 0]) == pytest.approx(-1.0)
    _, maxed = gradient.gradients(model, tf.zeros((1, 4, 5, 3)), [0])
    assert float(maxed[0, 0, 0, 0]) == pytest.approx(6.0)


def test_matches_a_hand_written_eager_tape(images):
    model = small_cnn()
    indices = np.array([3, 0, 4, 1, 2, 2, 0])
    x = tf.constant(images)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(tf.gather(model(x), indices, batch_dims=1))
    expected = tf.reduce_max(tf.abs(tape.gradient(total, x)), axis=-1).numpy()
    assert expected.max() > 1e-3  # the model has non-trivial gradients
    _, maps = sw.gradients(model, images, indices, postprocessing=None, batch_size=3)
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-5, atol=1e-7)


def test_k_class_maps_equal_k_single_class_calls(images):
    model = small_cnn()
    indices = np.random.default_rng(3).integers(0, 5, size=(7, 4))
    _, together = sw.gradients(model, images, indices, postprocessing=None)
    for k in range(4):
        _, alone = sw.gradients(model, images, indices[:, k], postprocessing=None)
        np.testing.assert_allclose(together[..., k], alone[..., 0], rtol=1e-5, atol=1e-7)


def test_batch_jacobian_fallback_equals_unrolled_tape(images, monkeypatch):
    model = small_cnn()
    indices = np.tile(np.arange(5), (7, 1))
    _, unrolled = gradient.gradients(model, tf.constant(images), indices)
    monkeypatch.setattr(gradient, "MAX_UNROLLED_CLASSES", 2)
    _, vectorised = gradient.gradients(model, tf.constant(images), indices)
    np.testing.assert_allclose(unrolled, vectorised, rtol=1e-5, atol=1e-7)


def test_seed_equivalence_with_jit_compiled_direct_call(images):
    """The seed's check, made honest: the direct maps are filtered from the direct call."""
    model = small_cnn()
    indices = np.array([[1], [2], [0], [4], [3], [3], [1]])
    _, maps = sw.explain(
        sw.methods.gradient.gradients,
        model,
        images,
        indices,
        postprocessing=sw.filters.absolute_normalize,
    )
    direct = tf.function(sw.methods.gradient.gradients, jit_compile=True, reduce_retracing=True)
    _, direct_maps = direct(model, tf.constant(images), tf.constant(indices))
    direct_maps = sw.filters.absolute_normalize(direct_maps)
    direct_maps = tf.image.resize(direct_maps, images.shape[1:-1]).numpy()
    np.testing.assert_array_almost_equal(maps, direct_maps, decimal=5)
    assert maps.max() == pytest.approx(1.0)


def test_unknown_reduce_is_rejected(images):
    with pytest.raises(ValueError, match="reduce='median'"):
        sw.gradients(small_cnn(), images, 0, reduce="median")


def test_gradients_on_a_vit_equal_a_hand_written_tape():
    model = small_vit(seed=3)
    x = tf.constant(np.random.default_rng(2).uniform(size=(2, 32, 32, 3)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = tf.gather(model(x), [1, 3], batch_dims=1)
    expected = np.abs(tape.gradient(score, x).numpy()).max(axis=-1)
    _, maps = sw.gradients(model, x.numpy(), [[1], [3]], postprocessing=None)
    assert expected.max() > 0
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-4, atol=1e-7)
