"""Softmax/sigmoid heads are explained through new models; the user's model never changes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import small_cnn

import saliency_widgets as sw
from saliency_widgets.inspection import explained_model


def weights_of(model):
    return [w.copy() for w in model.get_weights()]


def test_softmax_dense_head_is_explained_as_logits(images):
    logits_model = small_cnn(activation=None, seed=4)
    softmax_model = small_cnn(activation="softmax", seed=4)
    before = weights_of(softmax_model)
    target = explained_model(softmax_model)
    assert target.removed_activation == "softmax"
    np.testing.assert_allclose(target.model(images), logits_model(images), rtol=1e-5, atol=1e-6)
    ref_logits, ref_maps = sw.gradients(logits_model, images, [0, 1, 2, 3, 4, 0, 1])
    got_logits, got_maps = sw.gradients(softmax_model, images, [0, 1, 2, 3, 4, 0, 1])
    np.testing.assert_allclose(got_logits, ref_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_maps, ref_maps, rtol=1e-4, atol=1e-6)
    # The user's model is unchanged: same activation, same weights, same outputs.
    assert softmax_model.layers[-1].activation is keras.activations.softmax
    for a, b in zip(before, softmax_model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    probabilities = np.asarray(softmax_model(images))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_explaining_probabilities_can_be_asked_for(images):
    model = small_cnn(activation="softmax")
    logits, _ = sw.gradients(model, images, 0, logits=False)
    np.testing.assert_allclose(logits.sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("layer", [keras.layers.Softmax(), keras.layers.Activation("sigmoid")])
def test_separate_activation_layers_are_cut_off(layer, images):
    base = small_cnn(seed=2)
    model = keras.Model(base.inputs, layer(base.outputs[0]))
    target = explained_model(model)
    assert target.removed_activation in ("softmax", "sigmoid")
    np.testing.assert_allclose(target.model(images), base(images), rtol=1e-5, atol=1e-6)


def test_sequential_with_sigmoid_head(images):
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="sigmoid"),
        ]
    )
    target = explained_model(model)
    assert target.removed_activation == "sigmoid"
    probabilities = np.asarray(model(images))
    np.testing.assert_allclose(
        1 / (1 + np.exp(-np.asarray(target.model(images)))), probabilities, rtol=1e-5
    )


def test_logits_model_follows_weights_changed_after_first_use(images):
    model = small_cnn(activation="softmax", seed=5)
    first, _ = sw.gradients(model, images, 0)
    head = model.get_layer("head")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * 2.0, bias])
    second, _ = sw.gradients(model, images, 0)
    reference = small_cnn(activation=None, seed=5)
    reference.get_layer("head").set_weights([kernel * 2.0, bias])
    np.testing.assert_allclose(second, reference(images), rtol=1e-5, atol=1e-6)
    assert not np.allclose(first, second)


def test_multi_output_model_needs_output_argument(images):
    base = small_cnn(seed=1)
    inputs = base.inputs[0]
    extra = keras.layers.Dense(2, name="aux")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, [base.outputs[0], extra])
    with pytest.raises(ValueError, match="2 outputs"):
        sw.gradients(model, images, 0)
    logits, maps = sw.gradients(model, images, 1, output=1)
    assert logits.shape == (7, 2)
    by_index = sw.gradients(model, images, 1, output=0)[1]
    assert not np.allclose(maps, by_index)
    with pytest.raises(ValueError, match="output=5"):
        sw.gradients(model, images, 0, output=5)


def test_subclassed_model_is_explained_as_is(images):
    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.flat = keras.layers.Flatten()
            self.dense = keras.layers.Dense(3)

        def call(self, x):
            return self.dense(self.flat(x))

    model = Tiny()
    model(images[:1])
    logits, maps = sw.gradients(model, images, 2, postprocessing=None)
    kernel = model.dense.get_weights()[0].reshape(12, 12, 3, 3)
    np.testing.assert_allclose(maps[0, ..., 0], np.abs(kernel[..., 2]).max(-1), rtol=1e-5)
    assert logits.shape == (7, 3)
