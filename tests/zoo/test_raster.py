"""Raster primitives and geometry of the shapes generator, checked against independent references.

Mirrors saliency_widgets/zoo/_raster.py and _geometry.py.
"""

from __future__ import annotations

import colorsys
import io

import numpy as np
from PIL import Image
from scipy import ndimage

from saliency_widgets.zoo._geometry import SHAPE_NAMES, Placement, closed_path, silhouettes
from saliency_widgets.zoo._raster import (
    crop_resample,
    erode,
    gaussian_blur,
    hsv_to_rgb,
    inside_polygon,
    jpeg_like,
    polyline_distance,
    regular_polygon,
)

_COORDS = np.arange(64, dtype=np.float32) + 0.5
XS, YS = _COORDS[None, None, :], _COORDS[None, :, None]


def _placement(b: int, radius: float = 20.0, aspect: float = 1.0, angle: float = 0.0) -> Placement:
    full = np.full(b, 1.0, dtype=np.float32)
    return Placement(32 * full, 32 * full, radius * full, angle * full, aspect * full)


def test_erode_matches_scipy() -> None:
    masks = silhouettes(np.arange(8), _placement(8, angle=0.3), XS, YS)
    disc = np.zeros((3, 5, 5), dtype=bool)
    disc[1] = np.hypot(*np.mgrid[-2:3, -2:3]) <= 2
    np.testing.assert_array_equal(erode(masks, 2.0), ndimage.binary_erosion(masks, structure=disc))


def test_hsv_to_rgb_matches_colorsys() -> None:
    hsv = np.random.default_rng(0).uniform(0, 1, (200, 3))
    expected = np.array([colorsys.hsv_to_rgb(*row) for row in hsv])
    np.testing.assert_allclose(hsv_to_rgb(hsv), expected, atol=1e-6)


def test_inside_polygon_area_of_a_square() -> None:
    # A square of circumradius 20 px has side 20 * sqrt(2): area 800 px.
    v, u = np.mgrid[0:64, 0:64].astype(np.float32) + 0.5 - 32
    inside = inside_polygon(regular_polygon(4)[None] * 20.0, u[None], v[None])
    assert abs(int(inside.sum()) - 800) <= 16


def test_silhouette_areas_match_the_geometry() -> None:
    r = 20.0
    areas = silhouettes(np.arange(8), _placement(8, r, angle=0.4), XS, YS).sum(axis=(1, 2))
    expected = {
        "circle": np.pi * r**2,
        "square": 2 * r**2,
        "triangle": 3 * np.sqrt(3) / 4 * r**2,
        "ring": np.pi * r**2 * (1 - 0.55**2),
        "diamond": 2 * 0.6 * r**2,
        "hexagon": 3 * np.sqrt(3) / 2 * r**2,
    }
    for name, area in expected.items():
        assert abs(areas[SHAPE_NAMES.index(name)] - area) < 0.03 * area, name
    # Stretching by the aspect keeps the area (x by a, y by 1 / a).
    stretched = silhouettes(np.arange(8), _placement(8, r, aspect=1.1), XS, YS).sum(axis=(1, 2))
    np.testing.assert_allclose(stretched, areas, rtol=0.04)


def test_closed_paths_trace_the_silhouettes() -> None:
    # Every point of a traced outline lies on the boundary of the silhouette, to the pixel.
    placement = _placement(1, 20.0)
    for label, name in enumerate(SHAPE_NAMES):
        points = closed_path(name, 200) * 20.0 + 32.0
        mask = silhouettes(np.array([label]), placement, XS, YS)[0]
        distance = ndimage.distance_transform_edt(~mask) + ndimage.distance_transform_edt(mask)
        ys, xs = np.clip(points.astype(int).T[::-1], 0, 63)
        # Within a pixel or so (the distance transforms count whole pixels; star tips are thin).
        assert distance[ys, xs].max() <= 2.5, name
        assert distance[ys, xs].mean() <= 1.2, name


def test_polyline_distance_of_a_segment() -> None:
    points = np.array([[[10.0, 32.0], [50.0, 32.0]]], dtype=np.float32)
    distance = polyline_distance(points, XS, YS)[0]
    assert distance[32, 30] == 0.5  # pixel centre (30.5, 32.5)
    assert np.isclose(distance[40, 30], 8.5)
    assert np.isclose(distance[32, 60], np.hypot(10.5, 0.5))


def test_gaussian_blur_matches_scipy_away_from_the_border() -> None:
    images = np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32)
    blurred = gaussian_blur(images, np.array([0.7, 1.3], dtype=np.float32))
    for image, out, sigma in zip(images, blurred, (0.7, 1.3), strict=True):
        expected = ndimage.gaussian_filter(image, (sigma, sigma, 0), truncate=8)
        np.testing.assert_allclose(out[10:-10, 10:-10], expected[10:-10, 10:-10], atol=1e-5)


def test_jpeg_like_compression_is_as_lossy_as_a_real_jpeg() -> None:
    rng = np.random.default_rng(0)
    smooth = ndimage.gaussian_filter(rng.random((4, 64, 64, 3)), (0, 3, 3, 0))
    images = ((smooth - smooth.min()) / np.ptp(smooth)).astype(np.float32)
    for quality in (20, 50, 90):
        ours = jpeg_like(images, np.full(4, quality, dtype=np.float32))
        errors = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(np.rint(image * 255).astype(np.uint8)).save(
                buffer, "JPEG", quality=quality
            )
            real = np.asarray(Image.open(buffer), dtype=np.float32) / 255
            errors.append(np.abs(real - image).mean())
        ratio = np.abs(ours - images).mean() / np.mean(errors)
        assert 0.5 < ratio < 2.0, (quality, ratio)


def test_crop_resample_of_the_whole_image_is_the_image() -> None:
    source = np.random.default_rng(1).random((64, 64, 3)).astype(np.float32)
    zero = np.zeros(1, dtype=np.float32)
    out = crop_resample(source, zero, zero, np.full(1, 64.0, np.float32), 64)
    np.testing.assert_allclose(out[0], source, atol=2e-3)  # the last row/column is clamped
    # Any crop: bilinear interpolation at the pixel centres of the crop (scipy as reference).
    top, left, side = np.float32([5.5]), np.float32([12.25]), np.float32([40.0])
    crop = crop_resample(source, top, left, side, 64)[0]
    centres = (np.arange(64) + 0.5) / 64 * side[0] - 0.5
    rows, cols = np.meshgrid(top[0] + centres, left[0] + centres, indexing="ij")
    for channel in range(3):
        expected = ndimage.map_coordinates(source[..., channel], [rows, cols], order=1)
        np.testing.assert_allclose(crop[..., channel], expected, atol=1e-5)
