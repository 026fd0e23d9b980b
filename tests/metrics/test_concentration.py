"""The Gini index on maps whose concentration is known."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_widgets import metrics


def test_one_pixel_gives_almost_one_and_a_uniform_map_zero():
    n = 64 * 64
    point = np.zeros((1, 64, 64))
    point[0, 10, 20] = 5.0
    uniform = np.full((1, 64, 64), 0.2)
    half = np.zeros((1, 64, 64))
    half[0, :32] = 1.0
    values = metrics.gini(np.concatenate([point, uniform, half]))
    # One pixel: 1 − 1/n; half the pixels equal, the rest zero: exactly 1/2.
    np.testing.assert_allclose(values, [1 - 1 / n, 0.0, 0.5], atol=1e-12)
    assert values[0] > 0.9997


def test_signs_scale_and_order_do_not_matter():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 8, 8))
    base = metrics.gini(maps)
    np.testing.assert_allclose(metrics.gini(-3.0 * maps), base)
    shuffled = rng.permutation(maps.reshape(3, -1).T).T
    np.testing.assert_allclose(metrics.gini(shuffled), base)
    # Concentrating mass raises the index: square the magnitudes.
    assert (metrics.gini(maps**2) > base).all()
    assert metrics.gini(np.zeros((1, 4, 4))).tolist() == [0.0]  # no relevance: no concentration


def test_empty_maps_are_refused():
    with pytest.raises(ValueError, match="maps must be"):
        metrics.gini(np.zeros((0, 4, 4)))
