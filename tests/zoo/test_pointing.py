"""The engine on the bundled model: its maps are about the object, flat or outlined.

The floors below sit a little under what the shipped model measured on this set (the figures in
the comments, from ``pointing_table`` on these 400 images), so a retrained model that points as
well passes, and one whose maps drift off the objects fails.
"""

from __future__ import annotations

import numpy as np
import pytest

import saliency_widgets as sw
from saliency_widgets import zoo
from saliency_widgets.zoo.evaluate import pointing_table

# (method, fill style) -> floor; measured on make_shapes(400, HELD_OUT_SEED + 1) in brackets.
# The centre of the image scores (0.40) on filled and (0.45) on outlined objects of this set. The
# gradient barely beats it on flat objects, whose shape lives in one edge (the map peaks on the
# edge, as often just outside the mask as inside); Grad-CAM's coarse map peaks inside the object.
FLOORS = {
    ("gradients", "filled"): 0.42,  # measured 0.474
    ("gradients", "outlined"): 0.65,  # measured 0.718
    ("gradcam", "filled"): 0.75,  # measured 0.825
    ("gradcam", "outlined"): 0.73,  # measured 0.782
}


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, float]]:
    shapes = zoo.make_shapes(400, seed=zoo.HELD_OUT_SEED + 1)
    return pointing_table(zoo.load_shapes_model(), shapes, methods=("gradients", "gradcam"))


@pytest.mark.parametrize(("method", "fill"), list(FLOORS))
def test_maps_point_at_flat_and_outlined_objects(table, method: str, fill: str) -> None:
    assert table[method]["n"] >= 360  # the correctly classified images (374 measured)
    assert table[method][fill] >= FLOORS[method, fill], table[method]


def test_objects_are_small_so_pointing_is_not_free() -> None:
    masks = zoo.make_shapes(400, seed=zoo.HELD_OUT_SEED + 1).masks
    # A random point lands on an object about one time in ten; the centre not much more often.
    assert masks.mean() < 0.15
    assert sw.metrics.centre_baseline(masks).mean() < 0.6


def test_maps_are_normalised_and_finite() -> None:
    samples = zoo.load_samples(32)
    _, maps = sw.gradients(zoo.load_shapes_model(), zoo.preprocess(samples.images), samples.labels)
    assert np.isfinite(maps).all()
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)
    assert maps.min() == 0.0
