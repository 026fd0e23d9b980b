"""Saliency grids: a model and images in, one PNG out.

The code the ``.. saliency-grid::`` Sphinx directive and the ``saliency-widgets render`` command
share. Options arrive as strings (directive options, command-line flags) and are parsed once, by
:meth:`GridOptions.from_strings`; :func:`make_grid` loads the model (through a process-wide
:class:`ModelCache`), collects the images, asks the engine for maps and the renderer for pictures.

Example:
    >>> from saliency_widgets import grid
    >>> options = grid.GridOptions.from_strings({"classes": "top-2", "cols": "3"})
    >>> png, result = grid.make_grid(
    ...     model="saliency_widgets.zoo:load_shapes_model",
    ...     images="saliency_widgets.zoo:load_samples(6)",
    ...     preprocess="saliency_widgets.zoo:preprocess",
    ...     class_names="saliency_widgets.zoo:class_names",
    ...     options=options,
    ... )
    >>> result.maps.shape
    (6, 64, 64, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_widgets import render
from saliency_widgets._grid_inputs import (
    MODELS,
    GridError,
    ImageSet,
    ModelCache,
    fit_images,
    function,
    load_class_names,
    load_images,
)
from saliency_widgets._grid_options import (
    MAX_PANELS_PER_ROW,
    PANELS,
    ClassSelection,
    GridOptions,
    parse_params,
)
from saliency_widgets._messages import describe
from saliency_widgets.render import Figure


@dataclass(frozen=True)
class GridResult:
    """Computed maps with what is needed to draw them.

    Attributes:
        images: ``(N, H, W, C)`` uint8 images as fed to the model (before preprocessing).
        names: A label per image.
        indices: ``(N, K)`` explained classes.
        maps: ``(N, H, W, K)`` maps, ``maps[i, ..., k]`` explaining ``indices[i, k]``.
        titles: ``titles[i][k]``: the class and its probability, e.g. ``"star 97.3%"``.
        method: The method's label.
    """

    images: np.ndarray
    names: tuple[str, ...]
    indices: np.ndarray
    maps: np.ndarray
    titles: tuple[tuple[str, ...], ...]
    method: str


def _method_and_params(options: GridOptions) -> tuple[Any, dict[str, Any], Callable | None]:
    from saliency_widgets.filters import FILTERS
    from saliency_widgets.methods import get_method

    try:
        spec = get_method(options.method)
    except ValueError as error:
        raise GridError(f"method: {error}") from None
    try:  # names and values, before anything is loaded (the engine checks layers later)
        spec.check(options.params)
    except (TypeError, ValueError) as error:
        raise GridError(f"params: {error}") from None
    if options.postprocessing == "default":
        postprocessing = spec.postprocessing
    elif options.postprocessing == "none":
        postprocessing = None
    elif options.postprocessing in FILTERS:
        postprocessing = FILTERS[options.postprocessing]
    else:
        raise GridError(
            f"postprocessing: {options.postprocessing!r}; expected default, none or one of "
            f"{', '.join(sorted(FILTERS))}"
        )
    return spec, {**spec.params, **options.params}, postprocessing


def _model_geometry(model: Any) -> tuple[tuple[int, int] | None, int | None]:
    try:
        shape = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None, None
    size = (shape[1], shape[2]) if len(shape) == 4 and None not in shape[1:3] else None
    return size, (shape[3] if len(shape) == 4 else None)


def compute_grid(
    model: Any,
    images: ImageSet,
    options: GridOptions,
    preprocess: Callable[[np.ndarray], Any] | None = None,
    class_names: Sequence[str] = (),
    verbose: bool | str = False,
) -> GridResult:
    """Explains images with the engine and titles each map with its class and probability.

    Args:
        model: The Keras model (never modified).
        images: The images; resized to the model's input size when it differs.
        options: Method, parameters, classes and postprocessing.
        preprocess: Maps the ``uint8`` batch to the model's input (``None``: float pixels).
        class_names: Names by index, for titles and for ``classes`` given by name.
        verbose: The engine's progress bar (see :func:`saliency_widgets.explain`).

    Returns:
        The maps and titles.

    Raises:
        GridError: For a bad option, an unknown class, or a model that fails on the images.
    """
    from saliency_widgets.engine import explain
    from saliency_widgets.predict import predict, probability_titles

    spec, params, postprocessing = _method_and_params(options)
    size, channels = _model_geometry(model)
    batch = fit_images(images, size, channels)
    try:
        x = np.asarray(preprocess(batch) if preprocess else batch, dtype=np.float32)
        prediction = predict(model, x, batch_size=options.batch_size, name="the images")
    except GridError:
        raise
    except Exception as error:
        raise GridError(f"the model failed on the images: {describe(error, limit=300)}") from error
    logits = prediction.logits
    if class_names and len(class_names) != logits.shape[1]:
        raise GridError(
            f"class-names: {len(class_names)} names for a model with {logits.shape[1]} outputs"
        )
    indices = options.classes.indices(logits, class_names)
    try:
        _, maps = explain(
            spec.function,
            model,
            x,
            indices,
            batch_size=options.batch_size,
            postprocessing=postprocessing,
            verbose=verbose,
            **params,
        )
    except Exception as error:
        raise GridError(f"{options.method} failed: {describe(error, limit=300)}") from error
    activation = prediction.activation
    names = list(class_names) or None
    columns = [
        probability_titles(logits, indices[:, k], names, activation)
        for k in range(indices.shape[1])
    ]
    titles = tuple(tuple(column[i] for column in columns) for i in range(len(batch)))
    return GridResult(batch, images.names, indices, maps, titles, spec.label or spec.name)


CELL_GAP = 0.15
"""Space between two images' groups of panels, as a fraction of a panel's width."""


def grid_figure(result: GridResult, options: GridOptions) -> Figure:
    """Lays the maps out: per image, the picture once, then a map and/or overlay per class.

    Args:
        result: From :func:`compute_grid`.
        options: Panels, columns, colour map, overlay blend, opacity and clip, panel size.

    Returns:
        The figure (close it, or pass it to :func:`saliency_widgets.render.figure_to_png`).
    """
    n, k = result.indices.shape
    per_class = [p for p in options.panels if p != "image"]
    cell = ("image" in options.panels) + k * len(per_class)
    per_row = options.cols or max(1, min(n, MAX_PANELS_PER_ROW // cell))
    per_row = min(per_row, n)
    rows = math.ceil(n / per_row)
    size = options.panel_size
    # Enlarged pictures keep their pixels (sharper, and PNGs 2-3x smaller than smoothed ones);
    # shrunk ones are filtered against aliasing.
    enlarged = size * options.dpi >= max(result.images.shape[1:3])
    interpolation = "nearest" if enlarged else "antialiased"
    # A narrow empty column between images keeps each image's panels together.
    gap = CELL_GAP if cell > 1 and per_row > 1 else 0.0
    widths = ([1.0] * cell + [gap]) * per_row
    widths = widths[:-1] if gap else [w for w in widths if w]
    figure = Figure(figsize=(size * sum(widths), size * rows * 1.12), layout="constrained")
    grid = figure.add_gridspec(rows, len(widths), width_ratios=widths)
    for i in range(n):
        row, first = divmod(i, per_row)
        column = first * (cell + (1 if gap else 0))
        image = result.images[i]
        if "image" in options.panels:
            axes = figure.add_subplot(grid[row, column])
            axes.imshow(render.to_display_image(image), interpolation=interpolation)
            axes.set_title(_short(result.names[i]), fontsize=8)
            column += 1
        for c in range(k):
            saliency = result.maps[i, ..., c]
            for j, kind in enumerate(per_class):
                axes = figure.add_subplot(grid[row, column])
                if kind == "map":
                    picture = render.colorize(saliency, options.cmap, options.clip)
                else:
                    picture = render.overlay(
                        image,
                        saliency,
                        options.alpha,
                        options.cmap,
                        blend=options.blend,
                        clip=options.clip,
                    )
                axes.imshow(picture, interpolation=interpolation)
                if j == 0:
                    axes.set_title(result.titles[i][c], fontsize=8)
                column += 1
    for axes in figure.axes:
        axes.set_axis_off()
    return figure


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def make_grid(
    *,
    model: str | Path,
    images: str | Sequence[str | Path],
    options: GridOptions | None = None,
    preprocess: str | None = None,
    class_names: str | Sequence[str] | None = None,
    base: Path | None = None,
    models: ModelCache = MODELS,
    verbose: bool | str = False,
) -> tuple[bytes, GridResult]:
    """Loads, explains and renders: the whole grid as PNG bytes.

    Args:
        model: A ``.keras``/``.h5`` file or a ``module:callable`` reference.
        images: A glob pattern, a sequence of paths/patterns, or a reference (see
            :func:`saliency_widgets._grid_inputs.load_images`).
        options: How to compute and draw (defaults: top-1 vanilla gradients, image + overlay).
        preprocess: A reference to ``f(uint8 batch) -> model input``, e.g.
            ``saliency_widgets.zoo:preprocess``.
        class_names: A reference, a ``.json``/``.txt`` file or a comma list.
        base: Folder that relative paths are resolved against.
        models: The model cache (a model is loaded once per process).
        verbose: The engine's progress bar.

    Returns:
        The PNG bytes and the computed result (its titles make good alt text).

    Raises:
        GridError: For any bad input or option; the message names it.
    """
    options = options or GridOptions()
    _method_and_params(options)  # fail on a bad method or filter before loading anything
    names = load_class_names(class_names, base)
    transform = function(preprocess) if preprocess else None
    image_set = load_images(images, base)
    loaded = models.get(model, base)
    result = compute_grid(loaded, image_set, options, transform, names, verbose)
    return render.figure_to_png(grid_figure(result, options), dpi=options.dpi), result


__all__ = [
    "MODELS",
    "PANELS",
    "ClassSelection",
    "GridError",
    "GridOptions",
    "GridResult",
    "ModelCache",
    "compute_grid",
    "grid_figure",
    "make_grid",
    "parse_params",
]
