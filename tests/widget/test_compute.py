"""What the widget asks of the engine: recipes per sign mode, maps, start-up predictions."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets import filters
from saliency_widgets.methods import METHODS, MethodSpec
from saliency_widgets.widget import _compute, load_pictures


def test_absolute_mode_uses_the_registry_defaults():
    for name, spec in METHODS.items():
        recipe = _compute.recipe(name, "absolute")
        assert recipe.function is spec.function
        assert recipe.postprocessing is (spec.postprocessing or filters.absolute_normalize)
        assert recipe.params == spec.params


def test_signed_modes_ask_for_signed_reductions_only_where_the_default_discards_the_sign():
    positive = _compute.recipe("gradients", "positive")
    assert positive.params == {"reduce": "sum"}
    assert positive.postprocessing is filters.positive_normalize
    assert _compute.recipe("gradients", "negative").postprocessing is filters.negative_normalize
    kinds = set()
    for name, spec in METHODS.items():
        default = {p.name: p.default for p in spec.parameters}.get("reduce", "absent")
        recipe = _compute.recipe(name, "negative")
        if default == "max":  # the magnitude discards the sign: a signed sum is asked for
            assert recipe.params["reduce"] == "sum", name
        else:  # a signed default (or no reduce at all) is left as registered
            assert recipe.params.get("reduce", default) == default, name
        kinds.add(default)
    assert kinds == {"max", "sum", "absent"}  # every case above was met


def test_a_method_without_reduce_is_called_as_registered(monkeypatch):
    def plain(model, inputs, indices=None, layer=None):
        raise AssertionError("not called")

    monkeypatch.setitem(METHODS, "plain", MethodSpec("plain", plain, None, {"layer": "x"}))
    recipe = _compute.recipe("plain", "positive")
    assert recipe.params == {"layer": "x"}
    assert _compute.recipe("plain", "absolute").postprocessing is filters.absolute_normalize
    with pytest.raises(ValueError, match="sign="):
        _compute.recipe("plain", "both")


def test_explain_classes_is_one_engine_call(softmax_cnn, count_engine_calls):
    x = np.random.default_rng(0).uniform(-1, 1, (12, 12, 3)).astype(np.float32)
    maps = _compute.explain_classes(softmax_cnn, x, (4, 0, 4), "gradients", "positive")
    assert maps.shape == (3, 12, 12)
    assert len(count_engine_calls) == 1
    _, expected = sw.explain(
        sw.methods.gradient.gradients,
        softmax_cnn,
        x[None],
        [[4, 0]],
        reduce="sum",
        postprocessing=filters.positive_normalize,
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
