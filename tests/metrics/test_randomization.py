"""Spearman correlation and the randomisation check, on a toy explainer and the bundled model."""

from __future__ import annotations

import numpy as np
import pytest
from builders import small_cnn
from bundled_shapes import shapes_batch, shapes_model
from scipy import stats

import saliency_widgets as sw
from saliency_widgets import metrics


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
    fresh = metrics.randomization._freshly_initialized(model, seed=3)[head]
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
    top = ["predictions", "last_bn", "last_conv", "bn4", "conv4"]
    guided = metrics.randomization_check(
        sw.guided_backprop, shapes_model(), batch.x[:8], batch.labels[:8], layers=top
    )
    gradcam = metrics.randomization_check(
        sw.gradcam, shapes_model(), batch.x[:8], batch.labels[:8], layers=top
    )
    assert guided.correlations[-1] > gradcam.correlations[-1] + 0.3, (guided, gradcam)
