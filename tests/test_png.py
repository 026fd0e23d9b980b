"""saliency_widgets._png: the one PNG writer."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from saliency_widgets import _png


def test_every_png_row_filter_round_trips():
    rng = np.random.default_rng(2)
    array = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    for kind in range(5):
        png = _png._filtered_gray_png(array, kind)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), array)


def test_optimised_bytes_are_the_smallest_and_lossless():
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    ramp = np.tile(np.arange(48, dtype=np.uint8) * 5, (32, 1))
    for array in (noise, ramp):
        small, fast = _png.png_bytes(array), _png.png_bytes(array, optimize=False)
        assert len(small) <= len(fast)
        assert len(small) == min(len(_png._filtered_gray_png(array, k)) for k in range(5)) or (
            len(small) < min(len(_png._filtered_gray_png(array, k)) for k in range(5))
        )
        for png in (small, fast):
            np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), array)
    rgb = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(_png.png_bytes(rgb)))), rgb)
