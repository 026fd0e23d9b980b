"""Filters on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from saliency_widgets import filters

MAP = np.array([[-2.0, 1.0], [0.0, 4.0]], np.float32)[None, ..., None]  # (1, 2, 2, 1)


def values(t):
    return np.asarray(t)[0, ..., 0]


def test_normalize_is_min_max():
    np.testing.assert_allclose(values(filters.normalize(MAP)), [[0.0, 0.5], [1 / 3, 1.0]])


def test_absolute_normalize():
    np.testing.assert_allclose(values(filters.absolute_normalize(MAP)), [[0.5, 0.25], [0, 1]])


def test_positive_normalize_keeps_positive_part():
    np.testing.assert_allclose(values(filters.positive_normalize(MAP)), [[0, 0.25], [0, 1]])


def test_negative_normalize_keeps_negative_part():
    # The seed's negative_normalize was a copy of positive: here -2 is the strongest pixel.
    np.testing.assert_allclose(values(filters.negative_normalize(MAP)), [[1, 0], [0, 0]])


@pytest.mark.parametrize("name", sorted(filters.FILTERS))
def test_constant_maps_become_zeros_not_nan(name):
    constant = np.full((2, 3, 3, 2), 7.0, np.float32)
    out = np.asarray(filters.FILTERS[name](constant))
    assert np.isfinite(out).all()
    if name.endswith(("normalize", "clip")):
        assert (out == 0).all()


def test_each_map_is_normalised_on_its_own():
    maps = np.stack([MAP[0], 10 * MAP[0]])  # two images, same pattern, different scale
    out = np.asarray(filters.absolute_normalize(maps))
    np.testing.assert_allclose(out[0], out[1])


def test_percentile_clip_matches_numpy():
    rng = np.random.default_rng(0)
    maps = rng.exponential(size=(2, 10, 10, 3)).astype(np.float32)
    out = np.asarray(filters.percentile_clip(maps, lower=5, upper=95))
    for b in range(2):
        for k in range(3):
            m = maps[b, ..., k]
            lo, hi = np.percentile(m, [5, 95])
            expected = (np.clip(m, lo, hi) - lo) / (hi - lo)
            np.testing.assert_allclose(out[b, ..., k], expected, rtol=1e-4, atol=1e-5)


def test_percentile_clip_inside_a_compiled_function():
    fn = tf.function(lambda m: filters.percentile_clip(m, lower=0, upper=50))
    out = fn(tf.constant(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))).numpy()
    assert out.max() == 1.0
    assert (out.reshape(-1)[8:] == 1.0).all()  # everything above the median is clipped to 1


def test_percentile_clip_rejects_bad_percentiles():
    with pytest.raises(ValueError, match="lower < upper"):
        filters.percentile_clip(MAP, lower=90, upper=10)


def test_integer_maps_are_accepted():
    out = np.asarray(filters.normalize(np.array([[[[0], [2]]]], np.int32)))
    np.testing.assert_allclose(out[0, 0, :, 0], [0.0, 1.0])
