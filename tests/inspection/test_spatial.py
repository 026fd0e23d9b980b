"""Spatial layers exposed through new models, including layers inside nested models."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

from saliency_widgets.inspection import explained_model, spatial_layers, spatial_model


def backbone(name: str = "backbone") -> keras.Model:
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", padding="same", name="conv_a")(inputs)
    h = keras.layers.BatchNormalization(name="bn_a")(h)
    inner = keras.Sequential(
        [keras.layers.Conv2D(5, 3, activation="relu", name="conv_b"), keras.layers.ReLU()],
        name="block",
    )
    h = inner(h)
    return keras.Model(inputs, h, name=name)


def nested_classifier(classes: int = 3, activation: str | None = "softmax") -> keras.Model:
    """A functional model calling a backbone (holding a Sequential) with training=False."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((12, 12, 3))
    h = backbone()(inputs, training=False)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(classes, activation=activation, name="head")(h)
    return keras.Model(inputs, outputs)


def randomize_bn(model: keras.Model) -> None:
    rng = np.random.default_rng(0)
    bn = model.get_layer("backbone").get_layer("bn_a")
    bn.set_weights([rng.uniform(0.5, 2.0, w.shape).astype(np.float32) for w in bn.get_weights()])


def test_flat_model_exposes_the_named_layer_and_the_outputs(images):
    model = small_cnn()
    conv = model.layers[1]
    spatial = spatial_model(model, conv.name)
    features = keras.Model(model.input, conv.output)
    activations, logits = spatial.model(images)
    np.testing.assert_allclose(activations, features(images), rtol=1e-6)
    np.testing.assert_allclose(logits, model(images), rtol=1e-6)
    assert spatial.layer is conv and spatial.path == conv.name


def test_default_layer_is_the_last_4d_activation(images):
    model = small_cnn()
    # small_cnn: conv -> pool -> conv -> flatten -> dense: the last 4-D output is the 2nd conv.
    assert spatial_model(model).layer is model.layers[3]
    assert spatial_layers(model) == [layer.name for layer in model.layers[1:4]]


def test_layer_inside_nested_models_is_connected_to_the_outer_inputs(images):
    model = nested_classifier()
    randomize_bn(model)
    logits_model = explained_model(model).model
    relu = model.get_layer("backbone").get_layer("block").layers[1].name
    assert spatial_layers(logits_model) == [
        "backbone/conv_a",
        "backbone/bn_a",
        "backbone/block/conv_b",
        f"backbone/block/{relu}",
    ]
    spatial = spatial_model(logits_model, "conv_b")  # a bare name is found in nested models
    assert spatial.path == "backbone/block/conv_b"
    inner = model.get_layer("backbone")
    layers = [inner.get_layer(n) for n in ("conv_a", "bn_a")] + [inner.get_layer("block").layers[0]]
    expected = images
    for layer in layers:
        expected = layer(expected, training=False)
    activations, logits = spatial.model(images)
    np.testing.assert_allclose(activations, expected, rtol=1e-5, atol=1e-6)
    # Pre-softmax logits: softmax of them gives the user's model's probabilities.
    np.testing.assert_allclose(tf.nn.softmax(logits), model(images), rtol=1e-5, atol=1e-6)
    assert spatial_model(logits_model).path == f"backbone/block/{relu}"


def test_layers_are_shared_not_copied_and_the_model_is_not_modified(images):
    model = nested_classifier(activation=None)
    before = [w.copy() for w in model.get_weights()]
    layer_count = len(model.layers)
    spatial = spatial_model(model, "backbone/conv_a")
    assert {id(w) for w in spatial.model.weights} <= {id(w) for w in model.weights}
    assert len(model.layers) == layer_count
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # A weight changed afterwards in the user's model is seen by the spatial model.
    conv = model.get_layer("backbone").get_layer("conv_a")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, bias + 1.0])
    activations, _ = spatial.model(images)
    np.testing.assert_allclose(
        activations, keras.Model(model.get_layer("backbone").input, conv.output)(images), rtol=1e-5
    )
    assert np.asarray(activations).min() >= 0  # relu of (conv + 1)


def test_results_are_cached_and_can_be_built_while_tracing(images):
    model = small_cnn()
    name = model.layers[3].name

    @tf.function
    def traced(x):
        return spatial_model(model, name).model(x)[0]

    first = traced(tf.constant(images))
    assert spatial_model(model, name) is spatial_model(model, name)
    np.testing.assert_allclose(first, spatial_model(model, name).model(images)[0], rtol=1e-6)


def test_sequential_in_sequential_like_a_transfer_learning_model(images):
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Conv2D(4, 3, name="features")], name="base"
    )
    model = keras.Sequential(
        [base, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, activation="sigmoid")]
    )
    logits_model = explained_model(model).model
    spatial = spatial_model(logits_model)
    assert spatial.path == "base/features"
    activations, logits = spatial.model(images)
    np.testing.assert_allclose(activations, base(images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.sigmoid(logits), model(images), rtol=1e-5, atol=1e-6)


def test_a_shared_layer_exposes_its_last_call(images):
    inputs = keras.Input((12, 12, 3))
    shared = keras.layers.Conv2D(3, 3, padding="same", name="shared")
    h = shared(shared(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    activations, _ = spatial_model(model, "shared").model(images)
    np.testing.assert_allclose(activations, shared(shared(images)), rtol=1e-5, atol=1e-6)


def test_clear_errors():
    model = small_cnn()
    with pytest.raises(ValueError, match=rf"'nope' not found.*{model.layers[3].name}"):
        spatial_model(model, "nope")
    with pytest.raises(ValueError, match=r"'head' has output shape \(None, 5\)"):
        spatial_model(model, "head")

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = keras.layers.Conv2D(2, 3)
            self.pool = keras.layers.GlobalAveragePooling2D()

        def call(self, x):
            return self.pool(self.conv(x))

    with pytest.raises(ValueError, match="subclassed"):
        spatial_model(Subclassed())

    twice = keras.Model(model.inputs, [model.outputs[0], keras.layers.Dense(1)(model.outputs[0])])
    with pytest.raises(ValueError, match="2 outputs"):
        spatial_model(twice)


def test_ambiguous_bare_name_asks_for_the_path():
    inputs = keras.Input((12, 12, 3))
    one = backbone("one")(inputs)
    two = backbone("two")(inputs)
    h = keras.layers.Concatenate()([one, two])
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(h)))
    with pytest.raises(ValueError, match="ambiguous"):
        spatial_model(model, "conv_a")
    assert spatial_model(model, "two/conv_a").path == "two/conv_a"
