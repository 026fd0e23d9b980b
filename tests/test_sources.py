"""The one path from sources to arrays: :func:`saliency_widgets.sources.load_sources`."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import _named_inputs, grid, zoo
from saliency_widgets._messages import GridError, InputError
from saliency_widgets.sources import checked_class_names, load_sources


def test_references_give_images_inputs_labels_masks_and_names():
    sources = load_sources(
        "saliency_widgets.zoo:load_shapes_model",
        "saliency_widgets.zoo:load_samples(5, seed=3)",
        preprocess="saliency_widgets.zoo:preprocess",
        class_names="saliency_widgets.zoo:class_names",
        models=_named_inputs.ModelCache(),
    )
    samples = zoo.load_samples(5, seed=3)
    assert np.array_equal(sources.images, samples.images)  # already the model's 64x64
    np.testing.assert_array_equal(sources.inputs, zoo.preprocess(samples.images))
    assert sources.inputs.dtype == np.float32
    assert sources.labels.tolist() == samples.labels.tolist()
    assert np.array_equal(sources.masks, samples.masks)
    assert sources.class_names == tuple(zoo.class_names())
    assert sources.names == ("#0", "#1", "#2", "#3", "#4") and len(sources) == 5


def test_arrays_are_fitted_to_the_model_and_given_to_the_preprocess_callable(cnn):
    rng = np.random.default_rng(2)
    pictures = rng.integers(0, 255, (3, 24, 24, 3), dtype=np.uint8)
    seen = []

    def preprocess(batch: np.ndarray) -> np.ndarray:
        seen.append(batch)
        return batch / 127.5 - 1.0

    sources = load_sources(cnn, pictures, preprocess=preprocess, labels=[4, 0, 1])
    expected = np.stack(
        [
            np.asarray(Image.fromarray(p).resize((12, 12), Image.Resampling.BILINEAR))
            for p in pictures
        ]
    )
    assert np.array_equal(sources.images, expected)  # the 12x12 input size, read from the model
    assert len(seen) == 1 and seen[0] is sources.images
    np.testing.assert_allclose(sources.inputs, expected / 127.5 - 1.0, rtol=1e-6)
    assert sources.labels.tolist() == [4, 0, 1] and sources.masks is None
    assert sources.class_names == ()


def test_float_images_are_model_inputs_kept_as_given(cnn):
    x = np.random.default_rng(0).normal(size=(2, 12, 12, 3)).astype(np.float32)
    same = load_sources(cnn, x)
    assert np.array_equal(same.inputs, x)  # no uint8 round trip: negative values stay
    larger = load_sources(cnn, np.repeat(np.repeat(x, 2, axis=1), 2, axis=2))
    assert larger.inputs.shape == (2, 12, 12, 3)
    # Each 2x2 block of equal values shrinks back to about that value (bilinear, not rescaled).
    assert np.abs(larger.inputs - x).mean() < 0.5 * np.abs(x).mean()
    gray = load_sources(cnn, x[..., 0])  # (N, H, W): a batch of gray images, made RGB
    assert np.array_equal(gray.inputs[..., 1], x[..., 0])


def test_problems_name_the_input(cnn):
    pictures = np.zeros((2, 12, 12, 3), np.uint8)
    with pytest.raises(InputError, match="class-names: 3 names for a model with 5 outputs"):
        load_sources(cnn, pictures, class_names="a,b,c")
    with pytest.raises(InputError, match=r"labels: expected one per image \(2\)"):
        load_sources(cnn, pictures, labels=[1, 2, 3])
    with pytest.raises(InputError, match="preprocess failed on the images: ZeroDivisionError"):
        load_sources(cnn, pictures, preprocess=lambda batch: 1 / 0)
    with pytest.raises(InputError, match=r"must be a batch \(N, H, W\[, C\]\), got shape \(12,\)"):
        load_sources(cnn, np.zeros(12))
    with pytest.raises(InputError, match=r"item 1: expected an .* image, got shape"):
        load_sources(cnn, [pictures[0], np.zeros((2, 2, 2, 2))])
    with pytest.raises(InputError, match="'x' is not a reference"):
        load_sources(cnn, pictures, preprocess="x")
    assert checked_class_names(["a", "b"], None) == ("a", "b")  # unknown units: checked later


def test_the_former_error_name_is_the_same_class():
    assert GridError is InputError and grid.GridError is InputError
    assert issubclass(InputError, ValueError)


def test_a_grid_of_arrays_is_the_grid_of_the_same_images_as_files(cnn, tmp_path):
    rng = np.random.default_rng(5)
    pictures = rng.integers(0, 255, (3, 12, 12, 3), dtype=np.uint8)
    for i, picture in enumerate(pictures):
        Image.fromarray(picture).save(tmp_path / f"p{i}.png")
    options = grid.GridOptions.from_strings({"classes": "top-2"})
    _, files_result = grid.make_grid(
        model=cnn, images=str(tmp_path / "*.png"), options=options, class_names="a,b,c,d,e"
    )
    _, arrays_result = grid.make_grid(
        model=cnn, images=pictures, options=options, class_names=["a", "b", "c", "d", "e"]
    )
    np.testing.assert_array_equal(files_result.maps, arrays_result.maps)
    assert files_result.titles == arrays_result.titles
    assert files_result.names == ("p0", "p1", "p2") and arrays_result.names == ("#0", "#1", "#2")
