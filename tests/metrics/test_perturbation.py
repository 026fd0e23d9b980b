"""Deletion and insertion curves on a linear model whose scores are known in closed form."""

from __future__ import annotations

import keras
import numpy as np

import saliency_widgets as sw
from saliency_widgets import metrics


def weighted_sum_model(weights: np.ndarray) -> keras.Model:
    """Two scores: Σ w x and Σ x, on (3, 3, 1) images."""
    inputs = keras.Input((3, 3, 1))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([np.stack([weights.ravel(), np.ones(9)], axis=1).astype(np.float32)])
    return model


WEIGHTS = np.arange(1.0, 10.0).reshape(3, 3)  # pixel (i, j) weighs 3 i + j + 1


def test_deletion_and_insertion_curves_have_known_values():
    model = weighted_sum_model(WEIGHTS)
    x = np.ones((1, 3, 3, 1), np.float32)
    # The map ranks pixels by weight: deleting the heaviest first removes 9, 8, 7, ...
    curve = metrics.deletion(model, x, WEIGHTS[None], 0, steps=9, batch_size=4)
    remaining = 45 - np.concatenate([[0], np.cumsum(np.arange(9, 0, -1))])
    np.testing.assert_allclose(curve.scores[0], remaining)
    np.testing.assert_allclose(curve.fractions, np.arange(10) / 9)
    np.testing.assert_allclose(curve.auc, [(remaining[1:] + remaining[:-1]).sum() / 2 / 9])
    # The reversed map deletes the light pixels first: a larger area (a worse map).
    worse = metrics.deletion(model, x, -WEIGHTS[None], 0, steps=9)
    assert worse.auc[0] > curve.auc[0]
    # Insertion onto a zero canvas puts back 9, 8, 7, ... first.
    inserted = metrics.insertion(model, x, WEIGHTS[None], 0, steps=9, baseline="zeros")
    np.testing.assert_allclose(inserted.scores[0], 45 - remaining)
    # Three steps change three pixels each; the second score counts every pixel equally.
    coarse = metrics.deletion(model, x, WEIGHTS[None], [1], steps=3)
    np.testing.assert_allclose(coarse.scores[0], [9, 6, 3, 0])


def test_insertion_canvas_is_blurred_and_batching_does_not_matter():
    model = weighted_sum_model(WEIGHTS)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (5, 3, 3, 1)).astype(np.float32)
    maps = rng.normal(size=(5, 3, 3))
    one = metrics.insertion(model, x, maps, [0, 1, 0, 1, 0], steps=9, batch_size=1)
    many = metrics.insertion(model, x, maps, [0, 1, 0, 1, 0], steps=9, batch_size=64)
    np.testing.assert_allclose(one.scores, many.scores, rtol=1e-6)
    canvas = sw.methods.integrated.gaussian_blur(x, 0.3).numpy()
    start = np.asarray(model(canvas))[np.arange(5), [0, 1, 0, 1, 0]]
    np.testing.assert_allclose(one.scores[:, 0], start, rtol=1e-5)
    end = np.asarray(model(x))[np.arange(5), [0, 1, 0, 1, 0]]
    np.testing.assert_allclose(one.scores[:, -1], end, rtol=1e-5)


def test_ties_are_broken_at_random_reproducibly():
    model = weighted_sum_model(WEIGHTS)
    x = np.ones((1, 3, 3, 1), np.float32)
    flat = np.zeros((1, 3, 3))
    a = metrics.deletion(model, x, flat, 0, steps=9, seed=1)
    b = metrics.deletion(model, x, flat, 0, steps=9, seed=1)
    c = metrics.deletion(model, x, flat, 0, steps=9, seed=2)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)
    # Raster order would delete the lightest pixels first; a random order is not that biased.
    raster = 45 - np.concatenate([[0], np.cumsum(np.arange(1, 10))])
    assert not np.array_equal(a.scores[0], raster)
