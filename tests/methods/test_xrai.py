"""XRAI: greedy ranking by gain density (against a plain numpy greedy), segments, the host step."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets.methods import segments, xrai


def greedy(attr: np.ndarray, masks: np.ndarray, min_pixel_diff: int = 50) -> np.ndarray:
    """XRAI's greedy loop written plainly, as the paper (and PAIR) describe it."""
    out = np.full(attr.shape, -np.inf)
    covered = np.zeros(attr.shape, bool)
    remaining = list(range(len(masks)))
    while remaining:
        best, best_gain = None, -np.inf
        for index in list(remaining):
            new = masks[index] & ~covered
            if new.sum() < min_pixel_diff:
                remaining.remove(index)
                continue
            gain = attr[new].mean()
            if gain > best_gain:
                best, best_gain = index, gain
        if best is None:
            break
        new = masks[best] & ~covered
        out[new] = best_gain
        covered |= masks[best]
        remaining.remove(best)
    if (~covered).any():
        out[~covered] = attr[~covered].mean()
    return out


def test_the_densest_region_comes_first_not_the_largest_sum():
    """A: 1,000 pixels at 0.1 (sum 100); B: 100 pixels at 0.5 (sum 50). Density picks B first."""
    attr = np.zeros(2000, np.float32)
    big, small = np.zeros(2000, bool), np.zeros(2000, bool)
    big[:1000], small[1500:1600] = True, True
    attr[big], attr[small] = 0.1, 0.5
    masks = np.stack([big, small])
    ranked = np.asarray(xrai.rank_regions(attr[None, None], masks[None]))[0, 0]
    np.testing.assert_allclose(ranked[small], 0.5, rtol=1e-6)
    np.testing.assert_allclose(ranked[big], 0.1, rtol=1e-6)
    rest = ~(big | small)
    np.testing.assert_allclose(ranked[rest], 0.0, atol=1e-7)  # uncovered: their mean


def test_ranking_equals_the_plain_greedy_on_overlapping_random_regions():
    rng = np.random.default_rng(0)
    side = 24
    rows, cols = np.mgrid[:side, :side]
    attr = rng.normal(size=(3, 2, side * side)).astype(np.float32)
    masks = np.zeros((3, 40, side * side), bool)
    for b in range(3):
        for s in range(40 - 3 * b):  # a different number of regions per image (padding)
            r, c = rng.integers(0, side, 2).tolist()
            radius = int(rng.integers(2, 9))
            masks[b, s] = (((rows - r) ** 2 + (cols - c) ** 2) <= radius**2).ravel()
    ranked = np.asarray(xrai.rank_regions(attr, masks, min_pixel_diff=5))
    for b in range(3):
        for k in range(2):
            expected = greedy(attr[b, k], masks[b], min_pixel_diff=5)
            np.testing.assert_allclose(ranked[b, k], expected, rtol=1e-5, atol=1e-6)


def square_image() -> np.ndarray:
    image = np.full((64, 64, 3), -0.8, np.float32)
    image[16:48, 8:40] = 0.9  # a bright 32×32 square on a dark background
    return image


def test_xrai_on_a_map_concentrated_on_one_region_picks_it_first():
    image = square_image()
    square = np.zeros((64, 64), bool)
    square[16:48, 8:40] = True

    def concentrated(model, inputs, indices=None):
        logits = model(inputs)
        saliency = np.where(square, 1.0, 0.0).astype(np.float32)[None, :, :, None]
        return logits, tf.tile(tf.constant(saliency), [tf.shape(inputs)[0], 1, 1, 1])

    inputs = keras.Input((64, 64, 3))
    model = keras.Model(
        inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(inputs))
    )
    _, maps = xrai.xrai(model, image[None], [[0]], method=concentrated)
    ranked = np.asarray(maps)[0, :, :, 0]
    first = ranked == ranked.max()
    # The first region added lies on the square (masks are dilated by 5 pixels: the square's
    # rim counts), and the square outranks the background.
    rim = np.zeros((64, 64), bool)
    rim[11:53, 3:45] = True
    assert first.any() and not (first & ~rim).any()
    assert ranked.max() > 0.5
    assert ranked[square].mean() > 0.5 > 0.1 > ranked[~rim].mean()


def test_segments_follow_pairs_procedure():
    masks = segments.felzenszwalb_masks(square_image())
    assert masks.dtype == bool and masks.shape[1:] == (64, 64)
    assert masks.any(axis=0).all()  # every pixel is in some region
    # Segments follow the square's edges: some lie within it (and the 5-pixel dilation rim).
    rim = np.zeros((64, 64), bool)
    rim[11:53, 3:45] = True
    inside = (masks & rim).sum(axis=(1, 2)) == masks.sum(axis=(1, 2))
    assert inside.sum() >= 3
    # A flat image is one segment per scale; the batch pads with empty masks.
    batch = segments.segment_batch(np.stack([square_image(), np.zeros((64, 64, 3), np.float32)]))
    count = len(segments.SCALES)
    assert batch.shape[:2] == (2, len(masks))
    assert batch[1, :count].all() and not batch[1, count:].any()


def test_xla_is_never_asked_for_and_forcing_it_is_refused(images):
    model = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            keras.layers.Conv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    assert not sw.methods.METHODS["xrai"].compiles_with_xla({})
    assert not sw.methods.METHODS["smoothgrad"].compiles_with_xla({"method": "xrai"})
    assert sw.methods.METHODS["smoothgrad"].compiles_with_xla({"method": "gradients"})
    with pytest.raises(ValueError, match="jit_compile=True: xrai calls host code"):
        sw.xrai(model, images[:2], 0, jit_compile=True)
    with pytest.raises(ValueError, match="jit_compile=True: smoothgrad calls host code"):
        sw.smoothgrad(model, images[:2], 0, method="xrai", jit_compile=True)
    _, maps = sw.xrai(model, images[:2], 0, steps=4)
    assert maps.shape == (2, 12, 12, 1) and np.isfinite(maps).all()


def test_parameters_are_checked_before_tracing(images):
    model = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    with pytest.raises(ValueError, match="min_pixel_diff must be a positive int"):
        sw.xrai(model, images[:1], 0, min_pixel_diff=0)
    with pytest.raises(ValueError, match=r"area_threshold must be a number in \[0, 1\]"):
        sw.xrai(model, images[:1], 0, area_threshold=2.0)
    with pytest.raises(TypeError, match=r"xrai\(\) got unexpected parameter"):
        sw.xrai(model, images[:1], 0, stpes=3)
    _, maps = sw.xrai(model, images[:1], 0, method="gradients", reduce="max")
    assert np.isfinite(maps).all()
