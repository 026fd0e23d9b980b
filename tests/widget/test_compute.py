"""What the widget asks of the engine: one signed call per method, maps, start-up predictions."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets.methods import METHODS
from saliency_widgets.methods.signs import signed_call
from saliency_widgets.widget import _compute, load_pictures


def test_one_signed_call_per_method_keeps_the_registry_parameters():
    kinds = set()
    for name, spec in METHODS.items():
        call = signed_call(name)
        assert call.function is spec.function
        default = {p.name: p.default for p in spec.parameters}.get("reduce", "absent")
        if default == "max":  # the magnitude discards the sign: its signed twin is asked for
            assert call.params == {**spec.params, "reduce": "signed_max"}, name
        else:  # a signed default (or no reduce at all) is left as registered
            assert call.params == spec.params, name
        kinds.add(default)
    assert kinds == {"max", "sum", "absent"}  # every case above was met
    with pytest.raises(ValueError, match="method='both'"):
        signed_call("both")


def test_the_signed_max_reduction_keeps_the_dominant_channel_and_its_sign():
    grads = tf.constant([[[[[1.0, -3.0, 2.0], [0.5, 0.2, -0.1]]]]])  # (B=1, K=1, H=1, W=2, C=3)
    signed = sw.methods.gradient.reduce_channels(grads, "signed_max").numpy()
    magnitude = sw.methods.gradient.reduce_channels(grads, "max").numpy()
    assert signed[0, 0, :, 0].tolist() == [-3.0, 0.5]
    np.testing.assert_array_equal(np.abs(signed), magnitude)


def test_explain_classes_is_one_engine_call(softmax_cnn, count_engine_calls):
    x = np.random.default_rng(0).uniform(-1, 1, (12, 12, 3)).astype(np.float32)
    maps = _compute.explain_classes(softmax_cnn, x, (4, 0, 4), "gradients")
    assert maps.shape == (3, 12, 12)
    assert len(count_engine_calls) == 1
    _, expected = sw.explain(
        sw.methods.gradient.gradients,
        softmax_cnn,
        x[None],
        [[4, 0]],
        reduce="signed_max",
        postprocessing=None,
    )
    np.testing.assert_allclose(maps[:2], np.moveaxis(expected[0], -1, 0), atol=1e-6)
    np.testing.assert_array_equal(maps[0], maps[2])


def test_predictor_returns_logits_and_names_bad_images(softmax_cnn):
    predictor = _compute.Predictor(softmax_cnn)
    assert predictor.activation == "softmax" and predictor.units == 5
    x = np.random.default_rng(1).uniform(-1, 1, (3, 12, 12, 3)).astype(np.float32)
    scores = predictor.scores(x)
    probabilities = softmax_cnn(x).numpy()
    np.testing.assert_allclose(tf.nn.softmax(scores).numpy(), probabilities, rtol=1e-5)
    x[1, 2, 2, 0] = np.inf
    with pytest.raises(ValueError, match="images 0–2 contains NaN or inf"):
        predictor.scores(x)
    with pytest.raises(ValueError, match="image 7 has images of size 5x5"):
        predictor.scores(np.zeros((1, 5, 5, 3), np.float32), first=7)


def test_predict_pictures_isolates_the_failing_image(softmax_cnn):
    images = [np.full((12, 12, 3), 100, np.uint8) for _ in range(5)]
    images[2] = np.zeros((8, 8, 3), np.uint8)  # wrong size: its batch falls back to one by one
    done = []
    predictions = _compute.predict_pictures(
        _compute.Predictor(softmax_cnn),
        load_pictures(images),
        lambda batch: batch / 127.5 - 1,
        batch_size=2,
        progress=done.append,
    )
    assert done == [2, 4, 5]
    assert list(predictions.errors) == [2]
    assert "image 2 has images of size 8x8" in predictions.errors[2]
    assert np.isnan(predictions.scores[2]).all()
    assert np.isfinite(np.delete(predictions.scores, 2, axis=0)).all()
    assert predictions.inputs[2] is None
    np.testing.assert_allclose(predictions.inputs[0], images[0] / 127.5 - 1, rtol=1e-6)


def test_gray_images_get_a_channel_axis():
    assert _compute.prepare(np.zeros((2, 4, 4)), None).shape == (2, 4, 4, 1)


def test_describe_keeps_the_message_not_the_traceback():
    @tf.function
    def traced(x):
        raise ValueError("layer 'nowhere' not found")

    with pytest.raises(ValueError) as raised:
        traced(tf.zeros(1))
    assert _compute.describe(raised.value) == "ValueError: layer 'nowhere' not found"
    assert _compute.describe(KeyError("k")) == "KeyError: 'k'"
    assert _compute.describe(RuntimeError("x" * 900)).endswith("…")
    try:
        tf.debugging.assert_less(tf.constant(2.0), 1.0, message="too bright")
    except tf.errors.InvalidArgumentError as error:
        text = _compute.describe(error)
    assert text.startswith("InvalidArgumentError: too bright")
