"""Metrics on hand-made maps with known answers, and the sanity checks on the bundled model."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import small_cnn
from bundled_shapes import shapes_batch, shapes_model
from scipy import stats

import saliency_widgets as sw
from saliency_widgets import metrics

# Two 4x4 masks: a 2x2 square at the top left, a column on the right.
MASKS = np.zeros((2, 4, 4), bool)
MASKS[0, :2, :2] = True
MASKS[1, :, 3] = True


def test_pointing_game_on_hand_made_maps():
    maps = np.zeros((2, 4, 4))
    maps[0, 1, 1] = 5.0  # inside the square
    maps[1, 0, 2] = 5.0  # one pixel left of the column
    assert metrics.pointing_game(maps, MASKS).tolist() == [True, False]
    assert metrics.pointing_game(maps, MASKS, tolerance=1.0).tolist() == [True, True]
    assert metrics.pointing_game(maps[..., None], MASKS).tolist() == [True, False]  # (N,H,W,1)
    # A constant map points at its first pixel: (0, 0), inside the first mask only.
    assert metrics.pointing_game(np.zeros((2, 4, 4)), MASKS).tolist() == [True, False]
    # Low-resolution maps are resized to the masks: a 2x2 map hot at its top-left quarter.
    low = np.zeros((2, 2, 2))
    low[:, 0, 0] = 1.0
    assert metrics.pointing_game(low, MASKS).tolist() == [True, False]


def test_centre_baseline():
    assert metrics.centre_baseline(MASKS).tolist() == [False, False]  # centre is (2, 2)
    assert metrics.centre_baseline(MASKS, tolerance=1.0).tolist() == [False, True]
    assert metrics.centre_baseline(MASKS, tolerance=1.5).tolist() == [True, True]  # √2 away
    full = np.ones((1, 5, 5), bool)
    assert metrics.centre_baseline(full).tolist() == [True]


def test_energy_in_mask_on_hand_made_maps():
    maps = np.zeros((2, 4, 4))
    maps[0, 0, 0] = 3.0  # inside
    maps[0, 3, 3] = 1.0  # outside
    maps[0, 2, 2] = -10.0  # negative relevance is ignored
    maps[1] = 1.0  # uniform: the object's area fraction, 4 / 16
    np.testing.assert_allclose(metrics.energy_in_mask(maps, MASKS), [0.75, 0.25])
    np.testing.assert_array_equal(metrics.energy_in_mask(np.zeros((2, 4, 4)), MASKS), [0.0, 0.0])
    with pytest.raises(ValueError, match="one"):
        metrics.energy_in_mask(np.zeros((2, 4, 4, 3)), MASKS)


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


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, (3, 50)).astype(float)  # many ties
    b = a + rng.normal(size=(3, 50))
    expected = [stats.spearmanr(u, v).statistic for u, v in zip(a, b, strict=True)]
    np.testing.assert_allclose(metrics.spearman(a, b), expected, rtol=1e-10)
    np.testing.assert_allclose(metrics.spearman(a, -a), -1.0)
    np.testing.assert_array_equal(metrics.spearman(np.zeros((1, 5)), a[:1, :5]), [0.0])


def input_only(model, x, indices, **options):
    """An "explanation" that ignores the model: the image's mean over channels."""
    return None, np.asarray(x).mean(-1, keepdims=True)


def test_randomization_check_separates_model_blind_maps_from_gradients(images):
    model = small_cnn(activation="softmax")
    before = [w.copy() for w in model.get_weights()]
    names = [layer.name for layer in model.layers if layer.weights][::-1]
    blind = metrics.randomization_check(input_only, model, images, 0)
    assert blind.layers == tuple(names)
    np.testing.assert_allclose(blind.correlations, 1.0)
    curve = metrics.randomization_check(sw.gradients, model, images, 0, keep_maps=True)
    assert curve.per_image.shape == (3, 7) and curve.maps.shape == (4, 7, 12, 12)
    assert curve.correlations[-1] < 0.5
    assert curve.correlations[-1] < blind.correlations[-1] - 0.5
    np.testing.assert_allclose(
        curve.maps[0], sw.gradients(model, images, 0)[1][..., 0], rtol=1e-5, atol=1e-6
    )
    for a, b in zip(before, model.get_weights(), strict=True):  # the user's model is untouched
        np.testing.assert_array_equal(a, b)


def test_randomization_is_reproducible_by_seed_and_reports_dead_networks(images):
    model = small_cnn()
    head = model.layers[-1].name
    once = metrics.randomization_check("gradients", model, images, 1, layers=[head], seed=3)
    again = metrics.randomization_check("gradients", model, images, 1, layers=[head], seed=3)
    other = metrics.randomization_check("gradients", model, images, 1, layers=[head], seed=4)
    assert once.layers == (head,) and once.maps is None
    np.testing.assert_array_equal(once.per_image, again.per_image)
    assert not np.array_equal(once.per_image, other.per_image)
    np.testing.assert_array_equal(once.constant, [0.0])
    # The fresh weights come from the layers' initializers: Glorot-uniform kernel, zero bias.
    fresh = metrics._freshly_initialized(model, seed=3)[head]
    kernel, bias = fresh.get_weights()
    limit = np.sqrt(6 / sum(kernel.shape))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_array_equal(bias, 0.0)
    with pytest.raises(ValueError, match="not found"):
        metrics.randomization_check(sw.gradients, model, images, 0, layers=["nope"])


def test_a_dead_randomised_network_shows_in_the_constant_share(images):
    """Constant maps count as correlation 0, and are reported, so a trivial pass is visible."""
    model = small_cnn()
    trained = model.layers[-1].get_weights()[0].copy()

    def dies_when_randomised(clone, x, indices, **options):
        maps = sw.gradients(clone, x, indices, **options)[1]
        alive = np.array_equal(clone.layers[-1].get_weights()[0], trained)
        return None, maps if alive else np.zeros_like(maps)

    curve = metrics.randomization_check(
        dies_when_randomised, model, images, 0, layers=[model.layers[-1].name]
    )
    np.testing.assert_array_equal(curve.constant, [1.0])
    np.testing.assert_array_equal(curve.correlations, [0.0])


# --- The bundled model: the methods explain it, and point at the object --------------------------


@pytest.mark.parametrize("method", ["gradients", "gradcam"])
def test_bundled_model_passes_the_randomization_check(method):
    batch = shapes_batch()
    curve = metrics.randomization_check(
        getattr(sw, method), shapes_model(), batch.x[:8], batch.labels[:8]
    )
    assert curve.layers[0] == "predictions" and curve.layers[-1] == "conv1"
    assert curve.correlations[-1] < 0.5, dict(zip(curve.layers, curve.correlations, strict=True))
    assert curve.constant.max() < 0.5  # the randomised network still responds to the input


def test_the_check_tells_guided_backprop_from_gradcam_on_the_bundled_model():
    """Adebayo et al.'s finding: guided backprop barely changes when the top layers are lost."""
    batch = shapes_batch()
    top = ["predictions", "last_conv", "bn3", "conv3"]
    guided = metrics.randomization_check(
        sw.guided_backprop, shapes_model(), batch.x[:8], batch.labels[:8], layers=top
    )
    gradcam = metrics.randomization_check(
        sw.gradcam, shapes_model(), batch.x[:8], batch.labels[:8], layers=top
    )
    assert guided.correlations[-1] > gradcam.correlations[-1] + 0.3, (guided, gradcam)


@pytest.mark.parametrize("method", ["gradients", "gradcam"])
def test_bundled_model_maps_point_at_the_object_more_often_than_the_centre(method):
    batch = shapes_batch()
    _, maps = getattr(sw, method)(shapes_model(), batch.x, batch.labels)
    hits = metrics.pointing_game(maps, batch.masks)
    centre = metrics.centre_baseline(batch.masks)
    assert hits.mean() > centre.mean(), (hits.mean(), centre.mean())
    inside = metrics.energy_in_mask(maps, batch.masks)
    area = batch.masks.mean(axis=(1, 2))
    assert inside.mean() > area.mean()  # more relevance on the object than a uniform map
