"""The engine on the bundled model: accurate, and its maps are about the object."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

import saliency_widgets as sw
from saliency_widgets import zoo


@pytest.fixture(scope="module")
def held_out():
    samples = zoo.make_shapes(300, seed=zoo.HELD_OUT_SEED + 1)
    model = zoo.load_shapes_model()
    logits, maps = sw.gradients(model, zoo.preprocess(samples.images), samples.labels)
    return samples, logits, maps


def test_bundled_model_is_accurate_on_held_out_images(held_out):
    samples, logits, _ = held_out
    accuracy = np.mean(logits.argmax(-1) == samples.labels)
    assert accuracy >= 0.95, accuracy


def test_gradient_maximum_lies_on_the_object(held_out):
    samples, logits, maps = held_out
    correct = np.flatnonzero(logits.argmax(-1) == samples.labels)
    hits = []
    for i in correct:
        blurred = gaussian_filter(maps[i, ..., 0], sigma=1.5)
        row, col = np.unravel_index(blurred.argmax(), blurred.shape)
        hits.append(samples.masks[i, row, col])
    rate = float(np.mean(hits))
    # Objects cover far less than half the image, so a random point would land on them rarely.
    baseline = float(samples.masks[correct].mean())
    assert baseline < 0.35
    assert rate >= 0.85, (rate, baseline)


def test_maps_are_normalised_and_finite(held_out):
    _, _, maps = held_out
    assert np.isfinite(maps).all()
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)
    assert maps.min() == 0.0
