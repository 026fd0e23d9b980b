"""Rendering of images and saliency maps: colour mapping, overlays, grids, PNG bytes.

Shared by :func:`saliency_widgets.utils.visualize`, the widget, the Sphinx directive and the CLI.
Figures are built with :class:`matplotlib.figure.Figure` (not ``pyplot``), so rendering keeps no
global state, is safe off the main thread, and nothing is left open: functions that write PNG
bytes or files close what they create.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure as _MatplotlibFigure


class Figure(_MatplotlibFigure):
    """A matplotlib figure that Jupyter displays as a PNG without ``pyplot`` or ``%matplotlib``.

    Plain :class:`matplotlib.figure.Figure` objects made without ``pyplot`` print as
    ``<Figure size …>`` in a fresh kernel; this subclass brings its own ``_repr_png_``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


DEFAULT_CMAP = "inferno"
"""Perceptually uniform, readable in print and for colour-blind readers."""


def _numpy(array: object) -> np.ndarray:
    return array.numpy() if hasattr(array, "numpy") else np.asarray(array)


def to_display_image(image: object) -> np.ndarray:
    """Converts an image to ``uint8`` RGB(A) or 2-D for display.

    Floats in ``[0, 1]`` are scaled by 255, floats in ``[-1, 1]`` (the usual ``x/127.5 - 1``
    preprocessing) are mapped back, any other float range is min-max scaled.

    Args:
        image: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` array.

    Returns:
        A ``uint8`` array, ``(H, W)`` for single-channel images.
    """
    image = _numpy(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype == np.uint8:
        return image
    image = image.astype(np.float32)
    low, high = float(np.nanmin(image)), float(np.nanmax(image))
    if low >= 0.0 and high <= 1.0:
        scaled = image
    elif low >= -1.0 and high <= 1.0:
        scaled = (image + 1.0) / 2.0
    elif low >= 0.0 and high <= 255.0:
        scaled = image / 255.0
    else:
        scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return (np.clip(np.nan_to_num(scaled), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def colorize(saliency: object, cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """Maps a 2-D saliency map in ``[0, 1]`` to ``uint8`` RGB with a matplotlib colour map.

    Args:
        saliency: ``(H, W)`` or ``(H, W, 1)`` values; clipped to ``[0, 1]``, NaN shown as 0.
        cmap: A matplotlib colour map name.

    Returns:
        ``(H, W, 3)`` uint8.
    """
    saliency = _numpy(saliency).astype(np.float32)
    if saliency.ndim == 3 and saliency.shape[-1] == 1:
        saliency = saliency[..., 0]
    if saliency.ndim != 2:
        raise ValueError(f"saliency must be a 2-D map, got shape {saliency.shape}")
    values = np.clip(np.nan_to_num(saliency), 0.0, 1.0)
    rgba = matplotlib.colormaps[cmap](values)
    return (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)


def overlay(
    image: object, saliency: object, alpha: float = 0.6, cmap: str = DEFAULT_CMAP
) -> np.ndarray:
    """Blends a colour-mapped saliency map over an image.

    The map's opacity is ``alpha`` times its value, so weak saliency leaves the image visible.

    Args:
        image: The displayed image (any format :func:`to_display_image` accepts).
        saliency: ``(H', W')`` map in ``[0, 1]``; resized to the image when sizes differ.
        alpha: Maximum opacity of the map, in ``[0, 1]``.
        cmap: Colour map name.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    base = to_display_image(image)
    if base.ndim == 2:
        base = np.repeat(base[..., None], 3, axis=-1)
    base = base[..., :3].astype(np.float32)
    saliency = _numpy(saliency).astype(np.float32)
    if saliency.ndim == 3 and saliency.shape[-1] == 1:
        saliency = saliency[..., 0]
    if saliency.shape != base.shape[:2]:
        saliency = _resize_nearest(saliency, base.shape[:2])
    values = np.clip(np.nan_to_num(saliency), 0.0, 1.0)
    weight = (alpha * values)[..., None]
    blended = (1.0 - weight) * base + weight * colorize(values, cmap).astype(np.float32)
    return (blended + 0.5).astype(np.uint8)


def _resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    rows = (np.arange(size[0]) * array.shape[0] / size[0]).astype(int)
    cols = (np.arange(size[1]) * array.shape[1] / size[1]).astype(int)
    return array[rows][:, cols]


def _is_map(item: np.ndarray) -> bool:
    return item.ndim == 2 or (item.ndim == 3 and item.shape[-1] not in (3, 4))


def _as_panels(images: object) -> list[np.ndarray | None]:
    if isinstance(images, np.ndarray) or hasattr(images, "numpy"):
        array = _numpy(images)
        return list(array) if array.ndim == 4 or (array.ndim == 3 and _is_map(array)) else [array]
    return [None if item is None else _numpy(item) for item in images]


def visualize(
    images: object,
    titles: Sequence[str] | None = None,
    overlays: Sequence[object] | None = None,
    overlay_alpha: float = 0.6,
    rows: int | None = None,
    cols: int | None = None,
    figsize: tuple[float, float] | None = None,
    cmap: str | None = None,
    overlay_cmap: str = DEFAULT_CMAP,
    panel_size: float = 2.5,
    to_file: str | Path | None = None,
) -> Figure:
    """Draws images and maps in a grid, as the seed's ``utils.visualize`` did.

    Typical use interleaves images and maps: ``visualize(sum(zip(images, maps), ()), cols=4)``.
    A panel that is 2-D, or has a channel count other than 3/4, is drawn as a map with ``cmap``
    (default :data:`DEFAULT_CMAP`); a map with K > 1 channels shows its first channel.

    Args:
        images: A batch or a sequence of images and/or maps (``None`` leaves a panel empty).
        titles: One title per panel (shorter lists leave the rest untitled).
        overlays: Maps drawn over the panels of the same position (``None`` entries skip).
        overlay_alpha: Maximum opacity of overlays.
        rows: Grid rows (derived from ``cols`` when omitted).
        cols: Grid columns (at most 8 by default).
        figsize: Figure size in inches (default ``panel_size`` per panel).
        cmap: Colour map for map panels.
        overlay_cmap: Colour map for overlays.
        panel_size: Inches per panel when ``figsize`` is not given.
        to_file: If given, the figure is also written there (format from the suffix).

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure` (displayed inline by Jupyter).
    """
    panels = _as_panels(images)
    if not panels:
        raise ValueError("images is empty: nothing to visualize")
    n = len(panels)
    if rows is None and cols is None:
        cols = min(8, n)
    if cols is None:
        cols = math.ceil(n / rows)
    rows = math.ceil(n / cols) if rows is None else rows
    figure = Figure(figsize=figsize or (panel_size * cols, panel_size * rows), layout="tight")
    for i, panel in enumerate(panels):
        axes = figure.add_subplot(rows, cols, i + 1)
        axes.set_axis_off()
        if panel is not None:
            if _is_map(panel):
                values = panel if panel.ndim == 2 else panel[..., 0]
                axes.imshow(
                    values, cmap=cmap or DEFAULT_CMAP, vmin=0.0, vmax=max(1.0, values.max())
                )
            else:
                axes.imshow(to_display_image(panel))
            if overlays is not None and i < len(overlays) and overlays[i] is not None:
                layer = _numpy(overlays[i])
                layer = layer if layer.ndim == 2 else layer[..., 0]
                axes.imshow(layer, cmap=overlay_cmap, alpha=overlay_alpha, vmin=0.0, vmax=1.0)
        if titles is not None and i < len(titles) and titles[i]:
            axes.set_title(titles[i], fontsize=9)
    if to_file is not None:
        figure.savefig(to_file)
    return figure


def visualize_png(images: object, dpi: int = 100, **kwargs: object) -> bytes:
    """Renders :func:`visualize`'s grid straight to PNG bytes (the figure is released).

    Args:
        images: As for :func:`visualize`.
        dpi: Resolution.
        **kwargs: Options of :func:`visualize`.

    Returns:
        The PNG file's bytes.
    """
    return figure_to_png(visualize(images, **kwargs), dpi=dpi)


def render_grid(
    images: object,
    maps: object,
    titles: Sequence[str] | None = None,
    *,
    panels: Sequence[str] = ("image", "map", "overlay"),
    alpha: float = 0.6,
    cmap: str = DEFAULT_CMAP,
    cols: int | None = None,
    panel_size: float = 2.2,
) -> Figure:
    """Lays out, per image, the picture, its map and the overlay.

    Args:
        images: ``(N, H, W, C)`` display images (uint8 or float).
        maps: ``(N, H, W)`` or ``(N, H, W, 1)`` maps in ``[0, 1]`` (one class per image).
        titles: One title per image, shown above its first panel.
        panels: Which panels to draw per image, among ``"image"``, ``"map"``, ``"overlay"``.
        alpha: Overlay opacity.
        cmap: Colour map of maps and overlays.
        cols: Grid columns; a multiple of ``len(panels)`` keeps an image's panels on one row.
        panel_size: Inches per panel.

    Returns:
        The figure.
    """
    images = _as_panels(images)
    if isinstance(maps, np.ndarray) or hasattr(maps, "numpy"):
        array = _numpy(maps)
        maps = list(array[..., 0] if array.ndim == 4 else array)
    maps = [m if m.ndim == 2 else m[..., 0] for m in (_numpy(m) for m in maps)]
    if len(images) != len(maps):
        raise ValueError(f"got {len(images)} images but {len(maps)} maps")
    unknown = set(panels) - {"image", "map", "overlay"}
    if unknown or not panels:
        raise ValueError(f"panels must be among 'image', 'map', 'overlay', got {list(panels)}")
    per = len(panels)
    cols = cols or per * max(1, min(4, 12 // per) if len(images) > 1 else 1)
    cols = min(cols, per * len(images))
    rows = math.ceil(per * len(images) / cols)
    figure = Figure(figsize=(panel_size * cols, panel_size * rows * 1.1), layout="tight")
    for i, (image, saliency) in enumerate(zip(images, maps, strict=True)):
        for j, kind in enumerate(panels):
            axes = figure.add_subplot(rows, cols, i * per + j + 1)
            axes.set_axis_off()
            if kind == "image":
                axes.imshow(to_display_image(image))
            elif kind == "map":
                axes.imshow(colorize(saliency, cmap))
            else:
                axes.imshow(overlay(image, saliency, alpha=alpha, cmap=cmap))
            if j == 0 and titles is not None and i < len(titles):
                axes.set_title(titles[i], fontsize=9, loc="left")
    return figure


def figure_to_png(figure: Figure, dpi: int = 100) -> bytes:
    """Encodes a figure as PNG bytes and releases it.

    Args:
        figure: A figure from :func:`visualize` or :func:`render_grid`.
        dpi: Resolution.

    Returns:
        The PNG file's bytes.
    """
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=dpi)
    finally:
        figure.clear()
    return buffer.getvalue()


def array_to_png(array: np.ndarray) -> bytes:
    """Encodes a ``uint8`` image array (2-D, RGB or RGBA) as PNG bytes (for widgets)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_display_image(array)).save(buffer, format="png")
    return buffer.getvalue()


def probability_titles(
    logits: np.ndarray, classes: np.ndarray, class_names: Sequence[str] | None, activation: str
) -> list[str]:
    """Titles like ``"star 97.3%"`` from logits, for the explained class of each image.

    Args:
        logits: ``(N, L)`` explained outputs.
        classes: ``(N,)`` explained class per image.
        class_names: Names by index (indices are shown when ``None``).
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``: how logits become probabilities.

    Returns:
        One title per image.
    """
    probabilities = scores_to_probabilities(logits, activation)
    titles = []
    for row, c in zip(probabilities, classes, strict=True):
        name = class_names[c] if class_names is not None else f"class {c}"
        titles.append(f"{name} {100 * row[c]:.1f}%" if activation != "none" else name)
    return titles


def scores_to_probabilities(logits: np.ndarray, activation: str) -> np.ndarray:
    """Applies the head's activation to logits (numpy, numerically stable).

    Args:
        logits: ``(N, L)``.
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.

    Returns:
        Probabilities (or the logits unchanged for ``"none"``).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if activation == "softmax":
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits


def fit_png(image: object, size: int) -> bytes:
    """PNG bytes of an image scaled so that its longer side is about ``size`` pixels (for widgets).

    Small images are enlarged by an integer factor with nearest-neighbour sampling, so their
    pixels stay crisp instead of being blurred by the browser; large ones are reduced with a
    Lanczos filter (thumbnails). An image between half ``size`` and ``size`` keeps its size.

    Args:
        image: Any image :func:`to_display_image` accepts (uint8, float, 2-D or RGB(A)).
        size: Target length of the longer side, in pixels (``>= 1``).

    Returns:
        The PNG file's bytes.

    Raises:
        ValueError: If ``size`` is below 1.

    Example:
        >>> from PIL import Image
        >>> png = fit_png(np.zeros((16, 8, 3), np.uint8), 64)
        >>> Image.open(io.BytesIO(png)).size
        (32, 64)
    """
    from PIL import Image

    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    picture = to_display_image(image)
    longest = max(picture.shape[:2])
    if longest < size:
        factor = size // longest
        picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    pil = Image.fromarray(picture)
    if longest > size:
        pil.thumbnail((size, size), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    pil.save(buffer, format="png", compress_level=3)
    return buffer.getvalue()


__all__ = [
    "DEFAULT_CMAP",
    "array_to_png",
    "colorize",
    "figure_to_png",
    "fit_png",
    "overlay",
    "probability_titles",
    "render_grid",
    "scores_to_probabilities",
    "to_display_image",
    "visualize",
    "visualize_png",
]
