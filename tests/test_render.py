"""Rendering: colour maths, overlays, grids and PNG bytes."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from saliency_widgets import render, utils


def test_to_display_image_ranges():
    assert render.to_display_image(np.array([[0.0, 1.0]])).tolist() == [[0, 255]]
    assert render.to_display_image(np.array([[-1.0, 0.0, 1.0]])).tolist() == [[0, 128, 255]]
    assert render.to_display_image(np.array([[0.0, 127.5, 255.0]])).tolist() == [[0, 128, 255]]
    gray = render.to_display_image(np.zeros((2, 2, 1), np.uint8))
    assert gray.shape == (2, 2)


def test_colorize_uses_the_colour_map():
    out = render.colorize(np.array([[0.0, 1.0], [0.5, np.nan]]), cmap="gray")
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 1].tolist() == [0, 0, 0]  # NaN shown as 0
    expected = (np.array(matplotlib.colormaps["inferno"](0.5)[:3]) * 255 + 0.5).astype(int)
    assert render.colorize(np.full((1, 1), 0.5))[0, 0].tolist() == expected.tolist()


def test_overlay_weights_by_saliency():
    image = np.full((2, 2, 3), 100, np.uint8)
    saliency = np.array([[0.0, 1.0], [0.5, 0.0]])
    out = render.overlay(image, saliency, alpha=0.5, cmap="gray").astype(int)
    assert out[0, 0].tolist() == [100, 100, 100]  # zero saliency leaves the image
    assert out[0, 1].tolist() == [178, 178, 178]  # 0.5*100 + 0.5*255
    # 0.25 weight of gray(0.5)=128
    assert out[1, 0].tolist() == [round(0.75 * 100 + 0.25 * 128)] * 3
    with pytest.raises(ValueError, match="alpha"):
        render.overlay(image, saliency, alpha=2)


def test_overlay_resizes_a_smaller_map():
    out = render.overlay(np.zeros((4, 4, 3), np.uint8), np.eye(2), alpha=1.0, cmap="gray")
    assert out[:2, :2, 0].tolist() == [[255, 255], [255, 255]]
    assert out[:2, 2:, 0].tolist() == [[0, 0], [0, 0]]


def test_visualize_interleaved_images_and_maps():
    images = np.random.default_rng(0).integers(0, 255, (3, 8, 8, 3)).astype(np.uint8)
    maps = np.random.default_rng(1).random((3, 8, 8, 1))
    figure = utils.visualize(sum(zip(images, maps, strict=True), ()), cols=4, titles=["a"])
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 6
    assert figure.axes[0].get_title() == "a"
    png = render.figure_to_png(figure)
    assert Image.open(io.BytesIO(png)).size == (4 * 250, 2 * 250)
    assert len(figure.axes) == 0  # released after writing


def test_visualize_png_and_to_file(tmp_path):
    png = utils.visualize_png(np.zeros((2, 4, 4, 3)), cols=2, dpi=50)
    assert png.startswith(b"\x89PNG")
    target = tmp_path / "grid.png"
    utils.visualize(np.zeros((2, 4, 4)), to_file=target)
    assert Image.open(target).size[0] > 0


def test_render_grid_panels_and_pixels():
    image = np.zeros((1, 16, 16, 3), np.uint8)
    saliency = np.zeros((1, 16, 16))
    saliency[0, 4:12, 4:12] = 1.0
    figure = render.render_grid(image, saliency, ["star 99.0%"], panels=("map",), cmap="gray")
    assert figure.axes[0].get_title(loc="left") == "star 99.0%"
    pixels = np.asarray(Image.open(io.BytesIO(render.figure_to_png(figure))).convert("L"))
    assert pixels.max() == 255  # the salient square is drawn white
    with pytest.raises(ValueError, match="2 maps"):
        render.render_grid(np.zeros((1, 4, 4, 3)), np.zeros((2, 4, 4)))


def test_probability_titles():
    logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    titles = render.probability_titles(logits, np.array([0, 1]), ["cat", "dog"], "softmax")
    assert titles == ["cat 88.1%", "dog 50.0%"]


def test_figures_display_as_png_in_jupyter_without_pyplot():
    figure = render.visualize(np.zeros((2, 4, 4, 3)), cols=2)
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert len(figure.axes) == 2  # displaying does not release the figure
