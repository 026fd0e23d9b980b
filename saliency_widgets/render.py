"""Rendering of images and saliency maps as figures: the seed's ``visualize``, the one grid layout.

Shared by :func:`saliency_widgets.utils.visualize`, the widget, the Sphinx directive and the CLI.
The colours come from :mod:`saliency_widgets.display`.
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
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
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


PANELS = ("image", "map", "overlay")
"""Panel kinds: the image, the colour-mapped map, the map blended over the image."""
MAX_PANELS_PER_ROW = 8
"""Row width, in panels, when :func:`render_grid` is not told ``cols``."""
PANEL_SIZE = 1.6
"""Inches per panel: 160 pixels at 100 dpi, a 64-pixel image enlarged 2.5 times."""
CELL_GAP = 0.15
"""Space between two images' groups of panels, as a fraction of a panel's width."""
CAPTION_FONT = 7.0
"""Points: the size of the lines printed under a map (its figures, ``captions``)."""


def _maps_per_image(maps: object) -> list[np.ndarray]:
    """``(H, W, K)`` per image, from ``(N, H, W[, K])`` or a list of ``(H, W[, K])``."""
    if isinstance(maps, np.ndarray) or hasattr(maps, "numpy"):
        array = _numpy(maps)
        maps = list(array if array.ndim == 4 else array[..., None])
    found = [_numpy(m) for m in _iterable(maps, "maps")]
    found = [m[..., None] if m.ndim == 2 else m for m in found]
    if any(m.ndim != 3 for m in found) or len({m.shape[-1] for m in found}) > 1:
        shapes = sorted({m.shape for m in found})
        raise ValueError(f"maps must be (H, W) or (H, W, K) with one K, got shapes {shapes}")
    return found


def _titles_per_class(titles: Sequence[str | Sequence[str]] | None, count: int) -> list[tuple]:
    if titles is None:
        return [()] * count
    rows = [(title,) if isinstance(title, str) else tuple(title) for title in titles]
    return rows + [()] * (count - len(rows))


def panels_per_image(panels: Sequence[str], classes: int = 1) -> int:
    """How many panels :func:`render_grid` draws per image: the image once, the rest per class.

    Args:
        panels: Panel kinds (:data:`PANELS`).
        classes: Maps per image.

    Returns:
        The width of one image's group of panels.
    """
    return ("image" in panels) + classes * sum(kind != "image" for kind in panels)


def render_grid(
    images: object,
    maps: object,
    titles: Sequence[str | Sequence[str]] | None = None,
    *,
    names: Sequence[str] | None = None,
    panels: Sequence[str] = PANELS,
    alpha: float = display.DEFAULT_ALPHA,
    cmap: str = DEFAULT_CMAP,
    blend: str = display.DEFAULT_BLEND,
    clip: float | None = display.DEFAULT_CLIP,
    colour_bar: bool = False,
    cols: int | None = None,
    panel_size: float = PANEL_SIZE,
    dpi: float = 100,
    captions: Sequence[Sequence[Sequence[str]]] | None = None,
) -> Figure:
    """The one grid layout: per image, the picture once, then a map and/or overlay per class.

    Used by the ``saliency-grid`` directive and ``saliency-widgets render`` (through
    :func:`saliency_widgets.grid.grid_figure`), ``saliency-widgets demo`` and the widget's
    export. A narrow gap separates one image's panels from the next image's, and an image's
    panels always share a row.

    Args:
        images: ``(N, H, W[, C])`` display images, or a list of them (uint8 or float).
        maps: ``(N, H, W)`` (one class per image), ``(N, H, W, K)`` (K classes per image), or a
            list of ``(H, W[, K])`` maps.
        titles: Per image, the title of its map (a string) or of each of its K maps (a
            sequence), shown above the first map/overlay panel of that class.
        names: Per image, a short name shown above its image panel.
        panels: Which panels to draw, among ``"image"``, ``"map"``, ``"overlay"``.
        alpha: Overlay opacity.
        cmap: Colour map of maps and overlays.
        blend: Overlay blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Percentile of each map drawn at full colour (``None``: values as they are).
        colour_bar: Adds a colour bar with the map's scale to each map panel (each overlay
            panel when there is no map panel), so that a reader knows what bright means.
        cols: Grid columns, in panels, rounded down to whole images (at least one); default:
            as many images as fit in :data:`MAX_PANELS_PER_ROW` panels.
        panel_size: Inches per panel.
        dpi: The resolution the figure will be written at: pictures enlarged at it keep their
            pixels (sharper, and PNGs 2-3x smaller than smoothed ones); shrunk ones are
            filtered against aliasing.
        captions: Per image, per class, lines printed under that class's panels (a map's
            figures, see :meth:`saliency_widgets.metrics.Scorecard.caption`); each row of
            images grows by the height of the longest caption.

    Returns:
        The figure (close it, or pass it to :func:`figure_to_png`).

    Raises:
        ValueError: For a number of maps other than of images, unknown panels or a bad display
            option.
    """
    display.check(clip=clip, blend=blend, alpha=alpha)
    pictures = [image for image in _as_panels(images) if image is not None]
    saliency = _maps_per_image(maps)
    if len(pictures) != len(saliency):
        raise ValueError(f"got {len(pictures)} images but {len(saliency)} maps")
    unknown = set(panels) - set(PANELS)
    if unknown or not panels:
        raise ValueError(f"panels must be among 'image', 'map', 'overlay', got {list(panels)}")
    n, k = len(pictures), saliency[0].shape[-1]
    labels = _titles_per_class(titles, n)
    per_class = [kind for kind in panels if kind != "image"]
    scaled = "map" if "map" in panels else "overlay"
    cell = panels_per_image(panels, k)
    per_row = min(n, max(1, cols // cell) if cols else max(1, MAX_PANELS_PER_ROW // cell))
    rows = math.ceil(n / per_row)
    enlarged = panel_size * dpi >= max(max(p.shape[:2]) for p in pictures)
    interpolation = "nearest" if enlarged else "antialiased"
    gap = CELL_GAP if cell > 1 and per_row > 1 else 0.0
    widths = ([1.0] * cell + [gap]) * per_row
    widths = widths[:-1] if gap else [w for w in widths if w]
    written = list(captions or ())
    lines = max((len(c) for per_image in written for c in per_image), default=0)
    below = lines * CAPTION_FONT * 1.3 / 72 + 0.05 if lines else 0.0  # inches per row
    size = (panel_size * sum(widths), (panel_size * 1.12 + below) * rows)  # 12%: the titles
    figure = Figure(figsize=size, layout="constrained")
    heights = [panel_size, below] if lines else [panel_size]
    grid = figure.add_gridspec(len(heights) * rows, len(widths), width_ratios=widths)
    grid.set_height_ratios(heights * rows)
    for i, (image, maps_of_image) in enumerate(zip(pictures, saliency, strict=True)):
        row, first = divmod(i, per_row)
        row *= len(heights)
        column = first * (cell + (1 if gap else 0))
        if "image" in panels:
            axes = figure.add_subplot(grid[row, column])
            axes.set_axis_off()
            axes.imshow(to_display_image(image), interpolation=interpolation)
            if names is not None and i < len(names):
                axes.set_title(_short(names[i]), fontsize=8)
            column += 1
        for c in range(k):
            one = maps_of_image[..., c]
            if lines and i < len(written) and c < len(written[i]):
                span = grid[row + 1, column : column + len(per_class)]
                _caption(figure.add_subplot(span), written[i][c])
            for j, kind in enumerate(per_class):
                axes = figure.add_subplot(grid[row, column])
                axes.set_axis_off()
                if kind == "map":
                    picture = colorize(one, cmap, clip)
                else:
                    picture = overlay(image, one, alpha, cmap, blend=blend, clip=clip)
                axes.imshow(picture, interpolation=interpolation)
                if j == 0 and c < len(labels[i]):
                    axes.set_title(labels[i][c], fontsize=8)
                if colour_bar and kind == scaled:
                    _colour_bar(figure, axes, one, cmap, clip)
                column += 1
    return figure


def _caption(axes: Axes, lines: Sequence[str]) -> None:
    """``lines`` centred at the top of ``axes``, which the layout leaves as tall as they need."""
    axes.set_axis_off()
    text = axes.text(
        0.5,
        1.0,
        "\n".join(lines),
        ha="center",
        va="top",
        fontsize=CAPTION_FONT,
        linespacing=1.15,
        transform=axes.transAxes,
    )
    text.set_in_layout(False)  # the row's height is computed; text must not squeeze the panels


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _colour_bar(
    figure: _MatplotlibFigure, axes: Axes, saliency: np.ndarray, cmap: str, clip: float | None
) -> None:
    """A vertical colour bar beside ``axes``: 0 at the bottom, the clip value at the top."""
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


__all__ = [
    "CAPTION_FONT",
    "CELL_GAP",
    "DEFAULT_CMAP",
    "MAX_PANELS_PER_ROW",
    "PANELS",
    "PANEL_SIZE",
    "colorize",
    "figure_to_png",
    "overlay",
    "panels_per_image",
    "render_grid",
    "scores_to_probabilities",
    "to_display_image",
    "visualize",
    "visualize_png",
]
