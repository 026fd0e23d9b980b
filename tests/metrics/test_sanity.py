"""The sanity check on demand: an edge detector is flagged, the bundled model's gradients pass."""

from __future__ import annotations

import numpy as np
import pytest
from builders import small_cnn
from bundled_shapes import shapes_batch, shapes_model
from scipy import ndimage

import saliency_widgets as sw
from saliency_widgets import metrics


def sobel(model, x, indices, **options):
    """An "explanation" that never looks at the model: the edges of the image (Sobel)."""
    gray = np.asarray(x).mean(-1)
    edges = np.hypot(ndimage.sobel(gray, axis=1), ndimage.sobel(gray, axis=2))
    k = np.asarray(indices).reshape(len(gray), -1).shape[1]
    return None, np.repeat(edges[..., None], k, axis=-1)


def test_an_edge_detector_is_flagged_and_vanilla_gradients_pass():
    model = shapes_model()
    batch = shapes_batch()
    x, labels = batch.x[:16], batch.labels[:16]
    edges = metrics.sanity_check(sobel, model, x, labels)
    assert all(not check[0].depends_on_model for check in edges)
    np.testing.assert_allclose([check[0].correlation for check in edges], 1.0)
    assert edges[0][0].layers == ("predictions", "last_bn", "last_conv", "bn4", "conv4")
    gradients = metrics.sanity_check(sw.gradients, model, x, labels, verbose=False)
    rho = np.array([check[0].correlation for check in gradients])
    # Measured: all 16 pass, median 0.35, largest 0.48 (threshold 0.5).
    assert sum(check[0].depends_on_model for check in gradients) >= 15, rho
    assert np.median(rho) < 0.4, rho
    assert not any(check[0].constant for check in gradients)


def test_guided_backprop_is_flagged_as_adebayo_et_al_found():
    model = shapes_model()
    batch = shapes_batch()
    checks = metrics.sanity_check("guided_backprop", model, batch.x[:16], batch.labels[:16])
    rho = np.array([check[0].correlation for check in checks])
    assert sum(not check[0].depends_on_model for check in checks) >= 14, rho


def test_the_users_model_is_untouched_and_its_later_weights_are_used(images):
    model = small_cnn()
    before = [w.copy() for w in model.get_weights()]
    first = metrics.sanity_check("gradients", model, images, 0, layers=1)
    again = metrics.sanity_check("gradients", model, images, 0, layers=1)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [c[0].correlation for c in first] == [c[0].correlation for c in again]
    assert first[0][0].layers == ("head",)
    # The user trains the model further: the copy's kept layers follow, its head stays random.
    conv = model.layers[1]
    conv.set_weights([w * 1.5 for w in conv.get_weights()])
    after = metrics.sanity_check("gradients", model, images, 0, layers=1)
    assert [c[0].correlation for c in after] != [c[0].correlation for c in first]
    copy = metrics.sanity._RANDOMIZED[model][("head",), 0]
    np.testing.assert_array_equal(copy.layers[1].get_weights()[0], conv.get_weights()[0])
    assert not np.array_equal(copy.get_layer("head").get_weights()[0], before[-2])


def test_given_maps_are_compared_and_k_maps_per_image(images):
    model = small_cnn()
    _, maps = sw.gradients(model, images, [[0, 1]] * len(images))
    given = metrics.sanity_check("gradients", model, images, [[0, 1]] * 7, maps=maps, layers=2)
    computed = metrics.sanity_check("gradients", model, images, [[0, 1]] * 7, layers=2)
    assert len(given) == 7 and len(given[0]) == 2
    np.testing.assert_allclose(
        [[c.correlation for c in row] for row in given],
        [[c.correlation for c in row] for row in computed],
        atol=1e-12,
    )
    record = given[0][1].to_dict()
    assert record["depends_on_model"] == given[0][1].depends_on_model
    assert record["threshold"] == metrics.SANITY_THRESHOLD


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": 0}, r"layers must be in \[1, 3\]"),
        ({"layers": ["nope"]}, "not found"),
        ({"layers": "head"}, "a count or a list"),
        ({"threshold": 1.5}, r"threshold must be a number in \(0, 1\]"),
        ({"maps": np.zeros((7, 6, 6, 1))}, "pass the maps of the same method"),
    ],
)
def test_bad_options_are_named(images, options, message):
    with pytest.raises(ValueError, match=message):
        metrics.sanity_check("gradients", small_cnn(), images, 0, **options)
