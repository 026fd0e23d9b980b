"""Tests for the synthetic shapes generator (saliency_widgets/zoo/shapes.py)."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from scipy import ndimage

from saliency_widgets.zoo._raster import erode, hsv_to_rgb, inside_polygon, regular_polygon
from saliency_widgets.zoo.shapes import (
    CLASS_NAMES,
    IMAGE_SIZE,
    ShapeSet,
    make_shapes,
    preprocess,
)

N = 400
# 4-connected dilation within each image, never across the batch axis.
_CROSS_3D = np.zeros((3, 3, 3), dtype=bool)
_CROSS_3D[1] = ndimage.generate_binary_structure(2, 1)
# The generator's outline: pixels within 2 px (Euclidean) of the background.
_DISC_3D = np.zeros((3, 5, 5), dtype=bool)
_DISC_3D[1] = np.hypot(*np.mgrid[-2:3, -2:3]) <= 2


@pytest.fixture(scope="module")
def shapes() -> ShapeSet:
    return make_shapes(N, seed=7)


def test_shapes_dtypes_and_shapes(shapes: ShapeSet) -> None:
    assert IMAGE_SIZE == 64
    assert len(shapes) == N
    assert shapes.images.shape == (N, 64, 64, 3)
    assert shapes.images.dtype == np.uint8
    assert shapes.labels.shape == (N,)
    assert shapes.labels.dtype == np.int64
    assert shapes.masks.shape == (N, 64, 64)
    assert shapes.masks.dtype == np.bool_


def test_at_least_six_distinct_classes() -> None:
    assert len(CLASS_NAMES) >= 6
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES)


def test_same_seed_gives_identical_bytes(shapes: ShapeSet) -> None:
    again = make_shapes(N, seed=7)
    assert again.images.tobytes() == shapes.images.tobytes()
    assert np.array_equal(again.labels, shapes.labels)
    assert np.array_equal(again.masks, shapes.masks)


def test_different_seed_gives_different_images(shapes: ShapeSet) -> None:
    other = make_shapes(N, seed=8)
    differing = (other.images != shapes.images).any(axis=(1, 2, 3))
    assert differing.all()
    assert not np.array_equal(other.masks, shapes.masks)


def test_smaller_set_is_a_prefix(shapes: ShapeSet) -> None:
    # 130 crosses a chunk boundary of the generator.
    prefix = make_shapes(130, seed=7)
    assert np.array_equal(prefix.images, shapes.images[:130])
    assert np.array_equal(prefix.masks, shapes.masks[:130])


def test_classes_are_balanced(shapes: ShapeSet) -> None:
    counts = np.bincount(shapes.labels, minlength=len(CLASS_NAMES))
    assert counts.max() - counts.min() <= 1
    assert counts.sum() == N
    assert np.array_equal(shapes.labels[: len(CLASS_NAMES)], np.arange(len(CLASS_NAMES)))


def test_masks_cover_a_plausible_fraction(shapes: ShapeSet) -> None:
    fraction = shapes.masks.mean(axis=(1, 2))
    # Smallest objects are thin diamonds/triangles (~3%), largest are big discs (~28%).
    assert fraction.min() > 0.025
    assert fraction.max() < 0.30
    # Rings have a hole, discs do not: same bounding size, clearly less area.
    circle = fraction[shapes.labels == CLASS_NAMES.index("circle")].mean()
    ring = fraction[shapes.labels == CLASS_NAMES.index("ring")].mean()
    assert 0.55 < ring / circle < 0.8


def test_object_extent_and_geometry(shapes: ShapeSet) -> None:
    rows = shapes.masks.any(axis=2).sum(axis=1)
    cols = shapes.masks.any(axis=1).sum(axis=1)
    extent = np.maximum(rows, cols)
    # Objects span roughly 35–60% of the image side (a triangle or diamond spans less).
    assert extent.min() >= 0.25 * IMAGE_SIZE
    assert extent.max() <= 0.62 * IMAGE_SIZE
    # A disc fills pi/4 of its bounding square; its bounding box is square.
    circles = shapes.labels == CLASS_NAMES.index("circle")
    fill = shapes.masks[circles].sum(axis=(1, 2)) / (rows[circles] * cols[circles])
    assert np.all(np.abs(fill - np.pi / 4) < 0.05)
    assert np.all(np.abs(rows[circles] - cols[circles]) <= 1)
    # A ring's centre is background.
    for mask in shapes.masks[shapes.labels == CLASS_NAMES.index("ring")]:
        ys, xs = np.nonzero(mask)
        centre_y, centre_x = round(ys.mean()), round(xs.mean())
        assert not mask[centre_y - 1 : centre_y + 2, centre_x - 1 : centre_x + 2].any()


def _colour_matches(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Pixels of ``colour`` up to brightness changes of -40%/+50% and pixel noise."""
    norm = np.linalg.norm(image, axis=-1)
    cosine = image @ colour / (norm * np.linalg.norm(colour))
    brightness = norm / np.linalg.norm(colour)
    return (cosine > 0.98) & (brightness > 0.6) & (brightness < 1.5)


def test_mask_agrees_with_the_object_colours(shapes: ShapeSet) -> None:
    images = shapes.images.astype(np.float64) + 1.0
    fills = ndimage.binary_erosion(shapes.masks, structure=_DISC_3D)
    outer_rings = ndimage.binary_dilation(shapes.masks, structure=_CROSS_3D) & ~shapes.masks
    for image, mask, fill, outer in zip(images, shapes.masks, fills, outer_rings, strict=True):
        outline = mask & ~fill
        assert fill.any()
        fill_colour = np.median(image[fill], axis=0)
        outline_colour = np.median(image[outline], axis=0)
        # The fill is one colour up to gentle shading; the 2-pixel outline is a flat, darker or
        # lighter shade of it.
        assert _colour_matches(image, fill_colour)[fill].mean() > 0.9
        outline_distance = np.linalg.norm(image - outline_colour, axis=-1)
        assert (outline_distance[outline] < 30).mean() > 0.95
        assert np.linalg.norm(fill_colour - outline_colour) > 80
        # The object's colours stop right at the mask boundary.
        assert (outline_distance[outer] < 30).mean() < 0.25
        assert _colour_matches(image, fill_colour)[outer].mean() < 0.25


def test_colour_does_not_reveal_the_class(shapes: ShapeSet) -> None:
    object_colour = np.stack(
        [image[mask].mean(axis=0) for image, mask in zip(shapes.images, shapes.masks, strict=True)]
    )
    hue_proxy = np.argmax(object_colour, axis=1)
    for label in range(len(CLASS_NAMES)):
        dominant = np.bincount(hue_proxy[shapes.labels == label], minlength=3)
        # Every class shows objects whose dominant channel is each of red, green and blue.
        assert (dominant > 0).all()


def test_preprocess_maps_pixel_range_onto_minus_one_one() -> None:
    pixels = np.array([0, 127.5, 255], dtype=np.float64)
    assert preprocess(pixels).tolist() == [-1.0, 0.0, 1.0]
    assert preprocess(np.array([0, 255], dtype=np.uint8)).tolist() == [-1.0, 1.0]
    batch = preprocess(np.zeros((2, 3, 4, 4, 3), dtype=np.uint8))
    assert batch.shape == (2, 3, 4, 4, 3)
    assert batch.dtype == np.float32


def test_preprocessed_images_span_the_full_range(shapes: ShapeSet) -> None:
    x = preprocess(shapes.images)
    assert x.dtype == np.float32
    assert x.min() >= -1.0
    assert x.max() <= 1.0
    assert np.allclose((x + 1.0) * 127.5, shapes.images, atol=1e-4)


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        make_shapes(-1, seed=0)
    with pytest.raises(ValueError, match="at least 16"):
        make_shapes(4, seed=0, size=8)
    assert make_shapes(0, seed=0).images.shape == (0, 64, 64, 3)


# Raster primitives (saliency_widgets/zoo/_raster.py), checked against independent references.


def test_erode_matches_scipy(shapes: ShapeSet) -> None:
    masks = shapes.masks[:40]
    np.testing.assert_array_equal(
        erode(masks, 2.0), ndimage.binary_erosion(masks, structure=_DISC_3D)
    )


def test_hsv_to_rgb_matches_colorsys() -> None:
    hsv = np.random.default_rng(0).uniform(0, 1, (200, 3))
    expected = np.array([colorsys.hsv_to_rgb(*row) for row in hsv])
    np.testing.assert_allclose(hsv_to_rgb(hsv), expected, atol=1e-6)


def test_inside_polygon_area_of_a_square() -> None:
    # A square of circumradius 20 px has side 20 * sqrt(2): area 800 px.
    v, u = np.mgrid[0:64, 0:64].astype(np.float32) + 0.5 - 32
    inside = inside_polygon(regular_polygon(4)[None] * 20.0, u[None], v[None])
    assert abs(int(inside.sum()) - 800) <= 16
