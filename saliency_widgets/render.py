"""Rendering of images and saliency maps: colour mapping, overlays, grids, PNG bytes.

Shared by :func:`saliency_widgets.utils.visualize`, the widget, the Sphinx directive and the CLI.
Figures are built with :class:`matplotlib.figure.Figure` (not ``pyplot``), so rendering keeps no
global state, is safe off the main thread, and nothing is left open: functions that write PNG
bytes or files close what they create.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure as _MatplotlibFigure

from saliency_widgets import display
from saliency_widgets.display import colorize, overlay, to_display_image
from saliency_widgets.predict import scores_to_probabilities


class Figure(_MatplotlibFigure):
    """A matplotlib figure that Jupyter displays as a PNG without ``pyplot`` or ``%matplotlib``.

    Plain :class:`matplotlib.figure.Figure` objects made without ``pyplot`` print as
    ``<Figure size …>`` in a fresh kernel; this subclass brings its own ``_repr_png_``.
    """

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        return buffer.getvalue()


DEFAULT_CMAP = display.DEFAULT_CMAP
"""Perceptually uniform, readable in print and for colour-blind readers."""


def _numpy(array: object) -> np.ndarray:
    return array.numpy() if hasattr(array, "numpy") else np.asarray(array)


def scale_hint(
    saliency: object, clip: float | None = display.DEFAULT_CLIP, sign: str = "absolute"
) -> str:
    """What the colours of a displayed map mean, e.g. ``"0 → 0.43 (99th percentile)"``.

    Args:
        saliency: The map.
        clip: As for :func:`colorize`.
        sign: As for :func:`colorize`.

    Returns:
        The range from no colour to full colour, and where full colour starts.
    """
    if clip is None:
        return "0 → 1 (values as computed)"
    top = display.clip_value(saliency, clip, sign)
    if not top > 0.0:
        return "0 everywhere: nothing to show"
    where = "the maximum" if clip == 100 else f"{_ordinal(clip)} percentile; higher saturates"
    return f"0 → {top:.3g} ({where})"


def _ordinal(number: float) -> str:
    text = f"{number:g}"
    if not text.isdigit():
        return text
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(int(text) % 10, "th")
    return text + ("th" if int(text) % 100 in (11, 12, 13) else suffix)


def colour_bar_png(cmap: str = DEFAULT_CMAP, width: int = 256, height: int = 10) -> bytes:
    """PNG bytes of a horizontal bar of the colour table, level 0 on the left (for widgets).

    Args:
        cmap: Colour map name.
        width: Width in pixels.
        height: Height in pixels.

    Returns:
        The PNG file's bytes.
    """
    columns = (np.arange(width) * 256 // width).astype(np.uint8)
    bar = display.colour(np.repeat(columns[None], height, axis=0), cmap)
    return array_to_png(bar)


def _is_map(item: np.ndarray) -> bool:
    return item.ndim == 2 or (item.ndim == 3 and item.shape[-1] not in (3, 4))


def _iterable(items: object, name: str) -> Iterable[object]:
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise TypeError(f"{name} must be an array or a sequence of arrays, got {items!r:.80}")
    return items


def _as_panels(images: object) -> list[np.ndarray | None]:
    if isinstance(images, np.ndarray) or hasattr(images, "numpy"):
        array = _numpy(images)
        return list(array) if array.ndim == 4 or (array.ndim == 3 and _is_map(array)) else [array]
    return [None if item is None else _numpy(item) for item in _iterable(images, "images")]


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
    *,
    clip: float | None = None,
    blend: str | None = None,
) -> Figure:
    """Draws images and maps in a grid, as the seed's ``utils.visualize`` did.

    Typical use interleaves images and maps: ``visualize(sum(zip(images, maps), ()), cols=4)``.
    A panel that is 2-D, or has a channel count other than 3/4, is drawn as a map with ``cmap``
    (default :data:`DEFAULT_CMAP`); a map with K > 1 channels shows its first channel.

    Maps are drawn raw, as the seed drew them, unless ``clip`` or ``blend`` asks for the display
    step of the rest of the package (:func:`colorize`, :func:`overlay`):
    ``visualize(..., clip=99)`` scales each map by its 99th percentile and blends overlays with
    :data:`saliency_widgets.display.DEFAULT_BLEND`.

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
        clip: Percentile of each map drawn at full colour (``None``: raw values, unless
            ``blend`` is given, which implies :data:`saliency_widgets.display.DEFAULT_CLIP`).
        blend: Blend mode of overlays (``None``: a plain translucent layer, unless ``clip`` is
            given, which implies :data:`saliency_widgets.display.DEFAULT_BLEND`).

    Returns:
        The matplotlib :class:`~matplotlib.figure.Figure` (displayed inline by Jupyter).
    """
    shown = clip is not None or blend is not None
    mode = blend or display.DEFAULT_BLEND
    if shown:
        clip = display.DEFAULT_CLIP if clip is None else clip
        display.check(clip=clip, blend=mode, alpha=overlay_alpha)
    panels = _as_panels(images)
    if not panels:
        raise ValueError("images is empty: nothing to visualize")
    n = len(panels)
    if cols is None:
        cols = min(8, n) if rows is None else math.ceil(n / rows)
    rows = math.ceil(n / cols) if rows is None else rows
    figure = Figure(figsize=figsize or (panel_size * cols, panel_size * rows), layout="tight")
    for i, panel in enumerate(panels):
        axes = figure.add_subplot(rows, cols, i + 1)
        axes.set_axis_off()
        if panel is not None:
            layer = None
            if overlays is not None and i < len(overlays) and overlays[i] is not None:
                layer = _numpy(overlays[i])
                layer = layer if layer.ndim == 2 else layer[..., 0]
            if _is_map(panel):
                values = panel if panel.ndim == 2 else panel[..., 0]
                picture = colorize(values, cmap or DEFAULT_CMAP, clip) if shown else None
            else:
                picture = to_display_image(panel)
            if shown and layer is not None:
                axes.imshow(
                    overlay(picture, layer, overlay_alpha, overlay_cmap, blend=mode, clip=clip)
                )
                layer = None
            elif picture is not None:
                axes.imshow(picture)
            else:
                axes.imshow(
                    values, cmap=cmap or DEFAULT_CMAP, vmin=0.0, vmax=max(1.0, values.max())
                )
            if layer is not None:
                axes.imshow(layer, cmap=overlay_cmap, alpha=overlay_alpha, vmin=0.0, vmax=1.0)
        if titles is not None and i < len(titles) and titles[i]:
            axes.set_title(titles[i], fontsize=9)
    if to_file is not None:
        figure.savefig(to_file)
    return figure


def visualize_png(images: object, dpi: int = 100, **kwargs: Any) -> bytes:
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
    alpha: float = display.DEFAULT_ALPHA,
    cmap: str = DEFAULT_CMAP,
    blend: str = display.DEFAULT_BLEND,
    clip: float | None = display.DEFAULT_CLIP,
    colour_bar: bool = False,
    cols: int | None = None,
    panel_size: float = 2.2,
) -> Figure:
    """Lays out, per image, the picture, its map and the overlay.

    Args:
        images: ``(N, H, W, C)`` display images (uint8 or float).
        maps: ``(N, H, W)`` or ``(N, H, W, 1)`` maps (one class per image).
        titles: One title per image, shown above its first panel.
        panels: Which panels to draw per image, among ``"image"``, ``"map"``, ``"overlay"``.
        alpha: Overlay opacity.
        cmap: Colour map of maps and overlays.
        blend: Overlay blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Percentile of each map drawn at full colour (``None``: values as they are).
        colour_bar: Adds a colour bar with the map's scale to each image's map panel (its
            overlay when there is no map panel), so that a reader knows what bright means.
        cols: Grid columns; a multiple of ``len(panels)`` keeps an image's panels on one row.
        panel_size: Inches per panel.

    Returns:
        The figure.
    """
    display.check(clip=clip, blend=blend, alpha=alpha)
    images = _as_panels(images)
    if isinstance(maps, np.ndarray) or hasattr(maps, "numpy"):
        array = _numpy(maps)
        maps = list(array[..., 0] if array.ndim == 4 else array)
    maps = [m if m.ndim == 2 else m[..., 0] for m in (_numpy(m) for m in _iterable(maps, "maps"))]
    if len(images) != len(maps):
        raise ValueError(f"got {len(images)} images but {len(maps)} maps")
    unknown = set(panels) - {"image", "map", "overlay"}
    if unknown or not panels:
        raise ValueError(f"panels must be among 'image', 'map', 'overlay', got {list(panels)}")
    per = len(panels)
    cols = cols or per * max(1, min(4, 12 // per) if len(images) > 1 else 1)
    cols = min(cols, per * len(images))
    rows = math.ceil(per * len(images) / cols)
    scaled = "map" if "map" in panels else "overlay"
    figure = Figure(figsize=(panel_size * cols, panel_size * rows * 1.1), layout="tight")
    for i, (image, saliency) in enumerate(zip(images, maps, strict=True)):
        for j, kind in enumerate(panels):
            axes = figure.add_subplot(rows, cols, i * per + j + 1)
            axes.set_axis_off()
            if kind == "image":
                axes.imshow(to_display_image(image))
            elif kind == "map":
                axes.imshow(colorize(saliency, cmap, clip))
            else:
                axes.imshow(overlay(image, saliency, alpha, cmap, blend=blend, clip=clip))
            if colour_bar and kind == scaled:
                _colour_bar(figure, axes, saliency, cmap, clip)
            if j == 0 and titles is not None and i < len(titles):
                axes.set_title(titles[i], fontsize=9, loc="left")
    return figure


def _colour_bar(
    figure: _MatplotlibFigure, axes: Axes, saliency: np.ndarray, cmap: str, clip: float | None
) -> None:
    """A vertical colour bar beside ``axes``: 0 at the bottom, the clip value at the top."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize

    top = display.clip_value(saliency, clip)
    colours = ListedColormap(display.colour_table(cmap) / 255.0)
    mappable = ScalarMappable(Normalize(0.0, top if top > 0.0 else 1.0), colours)
    bar = figure.colorbar(mappable, ax=axes, fraction=0.046, pad=0.03)
    bar.set_ticks([0.0, top] if top > 0.0 else [0.0])
    bar.set_ticklabels(["0", f"≥{top:.2g}"] if top > 0.0 else ["0"])
    bar.ax.tick_params(labelsize=7)
    label = "map value" if clip is None else f"clipped at p{clip:g}"
    bar.set_label(label, fontsize=7)


def figure_to_png(figure: _MatplotlibFigure, dpi: int = 100) -> bytes:
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
    "colour_bar_png",
    "figure_to_png",
    "fit_png",
    "overlay",
    "render_grid",
    "scale_hint",
    "scores_to_probabilities",
    "to_display_image",
    "visualize",
    "visualize_png",
]
