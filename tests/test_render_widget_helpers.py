"""Rendering helpers added for the widget: :func:`saliency_widgets.render.fit_png`."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from saliency_widgets import render


def _decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)))


def test_fit_png_enlarges_small_images_by_whole_pixels():
    image = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)  # 1x2
    out = _decode(render.fit_png(image, 9))
    assert out.shape == (4, 8, 3)  # factor 9 // 2 = 4
    assert (out[:, :4] == [255, 0, 0]).all()
    assert (out[:, 4:] == [0, 0, 255]).all()


def test_fit_png_reduces_large_images_keeping_the_aspect_ratio():
    image = np.zeros((200, 100, 3), np.uint8)
    image[:100] = 255  # top half white
    out = _decode(render.fit_png(image, 50))
    assert out.shape == (50, 25, 3)
    assert out[5, 5].tolist() == [255, 255, 255]
    assert out[45, 5].tolist() == [0, 0, 0]


def test_fit_png_keeps_sizes_between_half_and_full():
    out = _decode(render.fit_png(np.zeros((40, 30), np.uint8), 64))
    assert out.shape == (40, 30)


def test_fit_png_converts_float_images_like_the_display():
    out = _decode(render.fit_png(np.array([[-1.0, 1.0]]), 2))
    assert out.tolist() == [[0, 255]]


def test_fit_png_rejects_a_zero_size():
    with pytest.raises(ValueError, match="size"):
        render.fit_png(np.zeros((2, 2), np.uint8), 0)
