"""Rendering: colour maths, overlays, grids and PNG bytes."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from saliency_widgets import render, utils
from saliency_widgets.predict import probability_titles


def test_to_display_image_ranges():
    assert render.to_display_image(np.array([[0.0, 1.0]])).tolist() == [[0, 255]]
    assert render.to_display_image(np.array([[-1.0, 0.0, 1.0]])).tolist() == [[0, 128, 255]]
    assert render.to_display_image(np.array([[0.0, 127.5, 255.0]])).tolist() == [[0, 128, 255]]
    gray = render.to_display_image(np.zeros((2, 2, 1), np.uint8))
    assert gray.shape == (2, 2)


def test_colorize_uses_the_colour_map():
    out = render.colorize(np.array([[0.0, 1.0], [0.5, np.nan]]), cmap="gray", clip=None)
    assert out[0, 0].tolist() == [0, 0, 0]
    assert out[0, 1].tolist() == [255, 255, 255]
    assert out[1, 0].tolist() == [128, 128, 128]
    assert out[1, 1].tolist() == [0, 0, 0]  # NaN shown as 0
    expected = (np.array(matplotlib.colormaps["inferno"](0.5)[:3]) * 255 + 0.5).astype(int)
    half = render.colorize(np.array([[0.5, 1.0]]), clip=None)[0, 0]
    assert np.abs(half.astype(int) - expected).max() <= 1  # 128/255, not exactly 0.5


def test_colorize_scales_by_the_99th_percentile_by_default():
    saliency = np.zeros((10, 10))
    saliency[0, 0] = 100.0  # one outlier
    saliency[5, :] = 1.0  # the real signal, a tenth of the pixels
    out = render.colorize(saliency, cmap="gray")
    # The 99th percentile lies between the signal (1.0, rank 98) and the outlier: 1 + 0.01 * 99.
    assert out[5, 0].tolist() == [np.floor(255 / 1.99 + 0.5)] * 3
    assert out[0, 0].tolist() == [255, 255, 255]  # saturated
    assert out[9, 9].tolist() == [0, 0, 0]
    raw = render.colorize(saliency / 100.0, cmap="gray", clip=None)
    assert raw[5, 0].tolist() == [3, 3, 3]  # what dividing by the maximum shows: almost black


def test_overlay_mask_weights_by_saliency():
    image = np.full((2, 2, 3), 100, np.uint8)
    saliency = np.array([[0.0, 1.0], [0.5, 0.0]])
    out = render.overlay(image, saliency, alpha=0.5, cmap="gray", blend="mask", clip=None)
    assert out[0, 0].tolist() == [100, 100, 100]  # zero saliency leaves the image
    assert out[0, 1].tolist() == [178, 178, 178]  # 0.5*100 + 0.5*255
    # level 128, weight 0.5 * 128 / 255, colour gray(128) = 128
    weight = 0.5 * 128 / 255
    assert out[1, 0].tolist() == [int(np.floor(100 * (1 - weight) + 128 * weight + 0.5))] * 3
    with pytest.raises(ValueError, match="alpha"):
        render.overlay(image, saliency, alpha=2)
    with pytest.raises(ValueError, match="blend must be one of heat, mask, mask-image"):
        render.overlay(image, saliency, blend="screen")
    with pytest.raises(ValueError, match=r"clip must be a percentile in \(0, 100\]"):
        render.overlay(image, saliency, clip=0)


def test_overlay_heat_and_mask_image():
    image = np.full((1, 3, 3), 100, np.uint8)
    saliency = np.array([[0.0, 0.5, 1.0]])
    heat = render.overlay(image, saliency, 0.5, "gray", blend="heat", clip=100)
    # The colour map everywhere at half opacity: black dims the image where the map is 0.
    assert heat[0, :, 0].tolist() == [50, 114, 178]
    dimmed = render.overlay(image, saliency, 0.5, "gray", blend="mask-image", clip=100)
    # No colour: the image dimmed by alpha * (255 - level) / 255, untouched at the top.
    assert dimmed[0, :, 0].tolist() == [50, 75, 100]
    assert (dimmed[..., 0] == dimmed[..., 2]).all()


def test_overlay_resizes_a_smaller_map():
    out = render.overlay(
        np.zeros((4, 4, 3), np.uint8), np.eye(2), alpha=1.0, cmap="gray", clip=None
    )
    assert out[:2, :2, 0].tolist() == [[255, 255], [255, 255]]
    assert out[:2, 2:, 0].tolist() == [[0, 0], [0, 0]]


def test_render_grid_adds_a_colour_bar_with_the_clip_value():
    image = np.zeros((8, 8, 3), np.uint8)
    saliency = np.linspace(0.0, 1.0, 64).reshape(8, 8)
    figure = render.render_grid([image], [saliency], ["x"], colour_bar=True, clip=50)
    bars = [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]
    assert len(figure.axes) == 4 and len(bars) == 1
    labels = [t.get_text() for t in bars[0].get_yticklabels()]
    assert labels == ["0", "≥0.5"]
    assert bars[0].get_ylabel() == "clipped at p50"
    figure.clear()


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
    assert figure.axes[0].get_title() == "star 99.0%"
    pixels = np.asarray(Image.open(io.BytesIO(render.figure_to_png(figure))).convert("L"))
    assert pixels.max() == 255  # the salient square is drawn white
    with pytest.raises(ValueError, match="2 maps"):
        render.render_grid(np.zeros((1, 4, 4, 3)), np.zeros((2, 4, 4)))


def test_probability_titles():
    logits = np.array([[2.0, 0.0], [0.0, 0.0]])
    titles = probability_titles(logits, np.array([0, 1]), ["cat", "dog"], "softmax")
    assert titles == ["cat 88.1%", "dog 50.0%"]


def test_figures_display_as_png_in_jupyter_without_pyplot():
    figure = render.visualize(np.zeros((2, 4, 4, 3)), cols=2)
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG")
    assert len(figure.axes) == 2  # displaying does not release the figure


def test_visualize_draws_raw_maps_unless_asked():
    saliency = np.zeros((10, 10))
    saliency[0, 0], saliency[5, :] = 1.0, 0.01
    image = np.full((10, 10, 3), 100, np.uint8)
    raw = utils.visualize([saliency, image], overlays=[None, saliency])
    assert raw.axes[0].get_images()[0].get_array()[5, 0] == 0.01  # the values, as the seed drew
    assert len(raw.axes[1].get_images()) == 2  # the image, then a translucent layer
    shown = utils.visualize([saliency, image], overlays=[None, saliency], clip=99, cmap="gray")
    assert shown.axes[0].get_images()[0].get_array()[5, 0].tolist() == [128] * 3
    (layer,) = shown.axes[1].get_images()
    expected = render.overlay(image, saliency, 0.6, "inferno", blend="heat", clip=99)
    assert np.array_equal(layer.get_array(), expected)
    raw.clear()
    shown.clear()
