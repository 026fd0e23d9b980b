"""Tests for the bundled shapes CNN and the zoo loaders (saliency_widgets/zoo/__init__.py)."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest
from PIL import Image

from saliency_widgets import zoo


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return zoo.load_shapes_model()


@pytest.fixture(scope="module")
def held_out() -> zoo.ShapeSet:
    return zoo.make_shapes(1000, seed=zoo.HELD_OUT_SEED)


def test_model_file_is_small_and_documented() -> None:
    path = zoo.model_path()
    assert path.name == "shapes_cnn.keras"
    assert path.stat().st_size < 3_000_000
    report = json.loads(path.with_suffix(".json").read_text())
    assert report["class_names"] == list(zoo.CLASS_NAMES)
    assert report["held_out"]["seed"] == zoo.HELD_OUT_SEED
    assert report["held_out"]["accuracy"] >= 0.97
    assert report["gradient_pointing"]["rate"] >= 0.85


def test_held_out_accuracy(model: keras.Model, held_out: zoo.ShapeSet) -> None:
    probabilities = model.predict(zoo.preprocess(held_out.images), batch_size=250, verbose=0)
    assert probabilities.shape == (1000, len(zoo.CLASS_NAMES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = (probabilities.argmax(axis=1) == held_out.labels).mean()
    assert accuracy >= 0.95
    # Every class is recognised, not just most of them.
    for label in range(len(zoo.CLASS_NAMES)):
        of_class = held_out.labels == label
        assert (probabilities[of_class].argmax(axis=1) == label).mean() >= 0.85


def test_architecture_contract(model: keras.Model) -> None:
    assert model.input_shape == (None, zoo.IMAGE_SIZE, zoo.IMAGE_SIZE, 3)
    head = model.layers[-1]
    assert head.name == "predictions"
    assert isinstance(head, keras.layers.Dense)
    assert head.activation is keras.activations.softmax
    assert head.units == len(zoo.CLASS_NAMES)
    last_conv = model.get_layer("last_conv")
    assert isinstance(last_conv, keras.layers.Conv2D)
    assert last_conv.output.shape[1:3] in ((8, 8), (16, 16))
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)


def test_loading_uses_safe_mode() -> None:
    with mock.patch.object(keras.models, "load_model", wraps=keras.models.load_model) as load:
        zoo.load_shapes_model()
    load.assert_called_once()
    assert load.call_args.kwargs["safe_mode"] is True


def test_each_load_is_an_independent_model(model: keras.Model) -> None:
    other = zoo.load_shapes_model()
    assert other is not model
    kernel = other.get_layer("predictions").kernel
    assert kernel is not model.get_layer("predictions").kernel
    kernel.assign(np.zeros(kernel.shape, dtype="float32"))
    fresh = zoo.load_shapes_model()
    assert np.abs(fresh.get_layer("predictions").kernel.numpy()).sum() > 0
    assert np.abs(model.get_layer("predictions").kernel.numpy()).sum() > 0


def test_class_names_is_a_copy() -> None:
    names = zoo.class_names()
    assert names == list(zoo.CLASS_NAMES)
    names.append("oops")
    assert zoo.class_names() == list(zoo.CLASS_NAMES)


def test_load_samples_are_the_head_of_the_held_out_set(held_out: zoo.ShapeSet) -> None:
    samples = zoo.load_samples(12)
    assert samples.images.shape == (12, 64, 64, 3)
    assert np.array_equal(samples.images, held_out.images[:12])
    assert np.array_equal(samples.masks, held_out.masks[:12])
    assert samples.labels.tolist() == [i % len(zoo.CLASS_NAMES) for i in range(12)]


def test_samples_to_png_round_trips(tmp_path: Path) -> None:
    paths = zoo.samples_to_png(tmp_path / "out", n=3, scale=2)
    assert [p.name for p in paths] == ["00_circle.png", "01_square.png", "02_triangle.png"]
    samples = zoo.load_samples(3)
    for path, image in zip(paths, samples.images, strict=True):
        pixels = np.asarray(Image.open(path))
        assert pixels.shape == (128, 128, 3)
        assert np.array_equal(pixels[::2, ::2], image)
    with pytest.raises(ValueError, match="scale"):
        zoo.samples_to_png(tmp_path, n=1, scale=0)
