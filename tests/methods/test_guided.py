"""Guided backprop and Guided Grad-CAM against hand-computed gradients."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets.inspection import guided_model
from saliency_widgets.methods import cams, gradient


def two_layer(relu: str) -> keras.Model:
    """flatten -> Dense(6) -> ReLU (fused or as a layer) -> Dense(3), on (2, 2, 3) inputs."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((2, 2, 3))
    h = keras.layers.Flatten()(inputs)
    if relu == "fused":
        h = keras.layers.Dense(6, activation="relu", name="hidden")(h)
    else:
        h = keras.layers.Dense(6, name="hidden")(h)
        h = keras.layers.ReLU()(h) if relu == "layer" else keras.layers.Activation("relu")(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="out")(h))


@pytest.mark.parametrize("relu", ["fused", "layer", "activation"])
def test_guided_gradient_of_a_two_layer_network_by_hand(relu):
    model = two_layer(relu)
    w1, b1 = model.get_layer("hidden").get_weights()
    w2, _ = model.get_layer("out").get_weights()
    x = np.random.default_rng(1).normal(size=(4, 2, 2, 3)).astype(np.float32)
    indices = np.array([[0, 2], [1, 1], [2, 0], [0, 1]])
    _, maps = gradient.guided_backprop(model, x, indices, reduce=None)
    z = x.reshape(4, -1) @ w1 + b1
    for b in range(4):
        for k, c in enumerate(indices[b]):
            # Backward through ReLU: keep units with a positive input AND a positive gradient.
            upstream = w2[:, c] * (z[b] > 0) * (w2[:, c] > 0)
            expected = (w1 @ upstream).reshape(2, 2, 3)
            np.testing.assert_allclose(maps[b, ..., k], expected, rtol=1e-5, atol=1e-6)
    _, plain = gradient.gradients(model, x, indices, reduce=None)
    assert not np.allclose(maps, plain)


def test_without_relus_guided_backprop_is_the_vanilla_gradient(images):
    keras.utils.set_random_seed(2)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3, activation="tanh")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    _, guided = gradient.guided_backprop(model, images, [1] * 7)
    _, plain = gradient.gradients(model, images, [1] * 7)
    np.testing.assert_allclose(guided, plain, rtol=1e-6)


def test_guided_model_same_outputs_nested_relus_gated_user_model_untouched(images):
    keras.utils.set_random_seed(3)
    backbone = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3, activation="relu")], name="bb"
    )
    model = keras.Sequential(
        [
            backbone,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax", name="head"),
        ]
    )
    guided = guided_model(model)
    assert guided is guided_model(model)
    np.testing.assert_allclose(guided(images), model(images), rtol=1e-6)
    assert {id(w) for w in guided.weights} == {id(w) for w in model.weights}
    conv = backbone.layers[0]
    assert conv.activation is keras.activations.relu  # untouched
    # By hand: d logit_0 / d a = w[:, 0] / 100 at every position of the 10x10x4 activation;
    # the gate keeps its positive part, the ReLU where a > 0, then back through the conv.
    kernel, _ = conv.get_weights()
    w, _ = model.get_layer("head").get_weights()
    a = np.asarray(conv(images))
    upstream = np.maximum(w[:, 0], 0) / 100 * (a > 0)
    expected = tf.nn.conv2d_transpose(
        upstream, kernel, output_shape=(7, 12, 12, 3), strides=1, padding="VALID"
    ).numpy()
    _, maps = sw.guided_backprop(model, images, 0, postprocessing=None, reduce=None)
    assert (w[:, 0] < 0).any()  # the gate matters
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-4, atol=1e-7)


def test_guided_gradcam_is_guided_backprop_times_upsampled_gradcam(images):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(5, 3, activation="relu", name="features")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(h)))
    indices = np.array([[0], [1], [2], [0], [1], [2], [0]])
    _, product = cams.guided_gradcam(model, images, indices)
    _, guided = gradient.guided_backprop(model, images, indices)
    _, coarse = cams.gradcam(model, images, indices)
    expected = np.asarray(guided) * tf.image.resize(coarse, (12, 12)).numpy()
    np.testing.assert_allclose(product, expected, rtol=1e-5, atol=1e-8)
    _, channels = cams.guided_gradcam(model, images, indices, reduce=None)
    assert channels.shape == (7, 12, 12, 3, 1)
