"""Spatial layers exposed through new models, including layers inside nested models."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

from saliency_widgets.inspection import explained_model, head_model, spatial_layers, spatial_model


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


# ---------------------------------------------------------------- the head after a spatial layer


def test_head_model_recomputes_the_outputs_from_given_activations(images):
    model = small_cnn()
    head = head_model(model)
    activations, logits = spatial_model(model).model(images)
    assert not head.takes_inputs and head.layer is model.layers[3]
    # Only the layers after the cut are in the head: the convolutions before it never run.
    kinds = {type(layer).__name__ for layer in head.model.layers}
    assert "MaxPooling2D" not in kinds and "Dense" in kinds
    np.testing.assert_allclose(head.model(activations), logits, rtol=1e-5, atol=1e-6)
    # Replaced activations: zeros give the head's bias, a hand-computed Flatten -> Dense.
    kernel, bias = model.get_layer("head").get_weights()
    changed = np.asarray(activations) * np.linspace(0, 2, activations.shape[-1])
    expected = changed.reshape(len(images), -1) @ kernel + bias
    np.testing.assert_allclose(head.model(changed), expected, rtol=1e-4, atol=1e-5)


def test_head_model_of_a_nested_layer_equals_the_flat_networks():
    model = nested_classifier(activation=None)
    randomize_bn(model)
    x = np.random.default_rng(1).normal(size=(3, 12, 12, 3)).astype(np.float32)
    head = head_model(model, "backbone/conv_a")
    assert head.path == "backbone/conv_a" and not head.takes_inputs
    activations, logits = spatial_model(model, "backbone/conv_a").model(x)
    np.testing.assert_allclose(head.model(activations), logits, rtol=1e-5, atol=1e-6)
    # Halving the activations goes on through bn_a, the inner Sequential and the head by hand.
    half = np.asarray(activations) / 2
    backbone_model = model.get_layer("backbone")
    h = backbone_model.get_layer("bn_a")(half, training=False)
    h = backbone_model.get_layer("block")(h)
    dense = model.get_layer("head")
    expected = dense(keras.layers.GlobalAveragePooling2D()(h))
    np.testing.assert_allclose(head.model(half), expected, rtol=1e-5, atol=1e-6)


def test_head_model_around_a_skip_connection_takes_the_inputs_too(images):
    keras.utils.set_random_seed(4)
    inputs = keras.Input((12, 12, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", name="a")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="b")(a)
    h = keras.layers.Add()([a, b])  # a jumps over b
    outputs = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inputs, outputs)
    head = head_model(model, "b")
    assert head.takes_inputs
    a_values = keras.Model(inputs, a)(images)
    zeros = np.zeros((len(images), 12, 12, 4), np.float32)
    expected = model.layers[-1](keras.layers.GlobalAveragePooling2D()(a_values))
    np.testing.assert_allclose(head.model([images, zeros]), expected, rtol=1e-5, atol=1e-6)


def test_head_model_refuses_a_layer_called_twice(images):
    shared = keras.layers.Conv2D(3, 3, padding="same", name="shared")
    inputs = keras.Input((12, 12, 3))
    h = shared(shared(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    with pytest.raises(ValueError, match="layer 'shared' is called 2 times"):
        head_model(model, "shared")
