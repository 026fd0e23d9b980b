"""The engine's forward pass: logits of the explained model, probabilities, checks."""

from __future__ import annotations

import numpy as np
import pytest
from builders import small_cnn

from saliency_widgets.predict import predict, scores_to_probabilities


def test_softmax_head_gives_logits_and_the_models_probabilities(images):
    model = small_cnn(activation="softmax", seed=8)
    prediction = predict(model, images, batch_size=3)  # 7 images: batches 3, 3, 1
    assert prediction.activation == "softmax" and prediction.logits.shape == (7, 5)
    np.testing.assert_allclose(prediction.probabilities, model(images), rtol=1e-5, atol=1e-6)
    assert prediction.probabilities.sum(axis=1) == pytest.approx(np.ones(7))
    np.testing.assert_array_equal(
        prediction.top_k(2)[:, 0], np.argmax(np.asarray(model(images)), axis=1)
    )


def test_a_model_without_head_is_scored_as_it_is(images):
    model = small_cnn(seed=9)
    prediction = predict(model, images)
    assert prediction.activation == "none"
    np.testing.assert_allclose(prediction.logits, model(images), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(prediction.probabilities, prediction.logits)


def test_sigmoid_probabilities_are_stable_for_large_logits():
    logits = np.array([[-800.0, 0.0, 800.0]])
    np.testing.assert_allclose(scores_to_probabilities(logits, "sigmoid"), [[0.0, 0.5, 1.0]])
    np.testing.assert_allclose(
        scores_to_probabilities(np.array([[1000.0, 0.0]]), "softmax"), [[1.0, 0.0]]
    )


@pytest.mark.parametrize(
    ("x", "kwargs", "message"),
    [
        (np.zeros((0, 12, 12, 3)), {}, "image 3 is empty"),
        (np.zeros((1, 10, 12, 3)), {}, "image 3 has images of size 10x12"),
        (np.full((1, 12, 12, 3), np.nan), {}, "image 3"),
        (np.zeros((1, 12, 12, 3)), {"batch_size": 0}, "batch_size must be a positive int"),
    ],
)
def test_bad_input_names_the_argument(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict(small_cnn(seed=10), x, name="image 3", **kwargs)
