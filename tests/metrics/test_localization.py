"""Localisation metrics on hand-made masks with known answers, and on the bundled model."""

from __future__ import annotations

import numpy as np
import pytest
from bundled_shapes import shapes_batch, shapes_model

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
