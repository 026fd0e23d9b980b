"""Saliency grids: a model and images in, one PNG out.

The code the ``.. saliency-grid::`` Sphinx directive and the ``saliency-widgets render`` command
share. Options arrive as strings (directive options, command-line flags) and are parsed once, by
:meth:`GridOptions.from_strings`; :func:`make_grid` loads the inputs
(:func:`saliency_widgets.sources.load_sources`), asks the engine for maps and draws them with the
one grid layout (:func:`saliency_widgets.render.render_grid`).

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from saliency_widgets import render
from saliency_widgets._grid_options import PANELS, ClassSelection, GridOptions, parse_params
from saliency_widgets._held_inputs import ModelInputs
from saliency_widgets._messages import GridError, InputError, describe
from saliency_widgets._named_inputs import MODELS, ModelCache
from saliency_widgets.predict import predict, probability_titles
from saliency_widgets.render import Figure
from saliency_widgets.sources import Sources, checked_class_names, load_sources

if TYPE_CHECKING:
    from saliency_widgets.metrics import Scorecard


@dataclass(frozen=True)
class GridResult:
    """Computed maps with what is needed to draw them.

    Attributes:
        images: ``(N, H, W, C)`` images as shown (:attr:`Sources.images`).
        names: A label per image.
        indices: ``(N, K)`` explained classes.
        maps: ``(N, H, W, K)`` maps, ``maps[i, ..., k]`` explaining ``indices[i, k]``.
        titles: ``titles[i][k]``: the class and its probability, e.g. ``"star 97.3%"``.
        method: The method's label.
        scores: ``scores[i][k]``: the figures of ``maps[i, ..., k]``
            (:func:`saliency_widgets.metrics.scorecard`), when the ``metrics`` option is on.
    """

    images: np.ndarray
    names: tuple[str, ...]
    indices: np.ndarray
    maps: np.ndarray
    titles: tuple[tuple[str, ...], ...]
    method: str
    scores: tuple[tuple[Scorecard, ...], ...] | None = None

    def captions(self) -> tuple[tuple[tuple[str, ...], ...], ...] | None:
        """Per image, per class, the lines printed under the map (``None`` without scores)."""
        if self.scores is None:
            return None
        return tuple(tuple(card.caption() for card in cards) for cards in self.scores)


def method_of(options: GridOptions) -> tuple[Any, dict[str, Any], Callable | None]:
    """The method, its parameters and postprocessing the options name, checked before tracing.

    Args:
        options: The grid's options.

    Returns:
        ``(spec, params, postprocessing)``: the registry entry, its parameters over their
        defaults, and the filter (``None`` for none).

    Raises:
        InputError: For an unknown method or filter, or parameters the method does not take.
    """
    # The registries import TensorFlow: loaded on first use, not when the directive is set up.
    from saliency_widgets.filters import FILTERS
    from saliency_widgets.methods import get_method

    try:
        spec = get_method(options.method)
    except ValueError as error:
        raise InputError(f"method: {error}") from None
    try:  # names and values, before anything is loaded (the engine checks layers later)
        spec.check(options.params)
    except (TypeError, ValueError) as error:
        raise InputError(f"params: {error}") from None
    if options.postprocessing == "default":
        postprocessing = spec.postprocessing
    elif options.postprocessing == "none":
        postprocessing = None
    elif options.postprocessing in FILTERS:
        postprocessing = FILTERS[options.postprocessing]
    else:
        raise InputError(
            f"postprocessing: {options.postprocessing!r}; expected default, none or one of "
            f"{', '.join(sorted(FILTERS))}"
        )
    return spec, {**spec.params, **options.params}, postprocessing


def compute_grid(sources: Sources, options: GridOptions, verbose: bool | str = False) -> GridResult:
    """Explains the sources' images with the engine and titles each map with its class.

    Args:
        sources: Model, images and inputs (:func:`saliency_widgets.sources.load_sources`).
        options: Method, parameters, classes and postprocessing.
        verbose: The engine's progress bar (see :func:`saliency_widgets.explain`).

    Returns:
        The maps and titles.

    Raises:
        InputError: For a bad option, an unknown class, or a model that fails on the images.
    """
    from saliency_widgets.engine import explain  # TensorFlow, on first use

    spec, params, postprocessing = method_of(options)
    try:
        prediction = predict(
            sources.model, sources.model_x(), batch_size=options.batch_size, name="the images"
        )
    except Exception as error:
        raise InputError(f"the model failed on the images: {describe(error, limit=300)}") from error
    logits = prediction.logits
    names = checked_class_names(sources.class_names, logits.shape[1])
    indices = options.classes.indices(logits, names)
    try:
        _, maps = explain(
            spec.function,
            sources.model,
            sources.model_x(),
            indices,
            batch_size=options.batch_size,
            postprocessing=postprocessing,
            verbose=verbose,
            **params,
        )
    except Exception as error:
        raise InputError(f"{options.method} failed: {describe(error, limit=300)}") from error
    columns = [
        probability_titles(logits, indices[:, k], list(names) or None, prediction.activation)
        for k in range(indices.shape[1])
    ]
    titles = tuple(tuple(column[i] for column in columns) for i in range(len(sources)))
    scores = None
    if options.metrics:
        raw = complete_attributions(spec, sources, indices, params, options.batch_size)
        scores = score_maps(
            sources,
            maps,
            indices,
            options.batch_size,
            attributions=raw,
            attribution_baseline=params.get("baseline", "zeros"),
        )
    label = spec.label or spec.name
    return GridResult(sources.images, sources.names, indices, maps, titles, label, scores)


def complete_attributions(
    spec: Any, sources: Sources, indices: np.ndarray, params: dict[str, Any], batch_size: int
) -> np.ndarray | None:
    """The raw maps whose completeness gap a scored grid prints, or ``None`` for none.

    See :func:`saliency_widgets.metrics.comparison.raw_attributions` (the one place that knows
    which methods have one).

    Args:
        spec: The method's registry entry (:func:`method_of`).
        sources: The model and inputs.
        indices: ``(N, K)`` explained classes.
        params: The method's parameters.
        batch_size: Images per compiled engine call.

    Returns:
        ``(N, H, W, K)`` attributions, or ``None``.

    Raises:
        InputError: When the method fails.
    """
    from saliency_widgets.metrics.comparison import raw_attributions  # TensorFlow, on first use

    try:
        return raw_attributions(
            spec.name, sources.model, sources.model_x(), indices, params, batch_size=batch_size
        )
    except Exception as error:
        raise InputError(f"metrics: {describe(error, limit=300)}") from error


def score_maps(
    sources: Sources,
    maps: np.ndarray,
    indices: np.ndarray,
    batch_size: int = 32,
    *,
    attributions: np.ndarray | None = None,
    attribution_baseline: Any = "zeros",
) -> tuple[tuple[Scorecard, ...], ...]:
    """The figures of every map, with the sources' object masks when they have them.

    The one place a grid scores its maps (:func:`saliency_widgets.metrics.scorecard`): the
    ``metrics`` option of the directive and the command line comes here.

    Args:
        sources: The model, inputs and masks the maps were computed from.
        maps: ``(N, H, W, K)`` maps.
        indices: ``(N, K)`` explained classes.
        batch_size: Images per model call.
        attributions: Raw maps for the completeness gap (:func:`complete_attributions`).
        attribution_baseline: The baseline they were computed from.

    Returns:
        ``scores[i][k]``: the :class:`~saliency_widgets.metrics.Scorecard` of
        ``maps[i, ..., k]``.

    Raises:
        InputError: When the maps cannot be scored (e.g. masks that do not fit the images).
    """
    from saliency_widgets.metrics import scorecard  # TensorFlow, on first use

    if sources.held is not None:
        raise InputError("metrics: the scores of a model with several inputs are not computed yet")
    try:
        cards = scorecard(
            sources.model,
            sources.inputs,
            maps,
            indices,
            masks=sources.masks,
            attributions=attributions,
            attribution_baseline=attribution_baseline,
            batch_size=batch_size,
        )
    except Exception as error:
        raise InputError(f"metrics: {describe(error, limit=300)}") from error
    return tuple(tuple(row) for row in cards)


def grid_figure(result: GridResult, options: GridOptions) -> Figure:
    """Draws a computed grid with the one grid layout (:func:`saliency_widgets.render.render_grid`).

    Args:
        result: From :func:`compute_grid`.
        options: Panels, images per row, colour map, overlay blend, opacity and clip, panel size
            and resolution.

    Returns:
        The figure (close it, or pass it to :func:`saliency_widgets.render.figure_to_png`).
    """
    cell = render.panels_per_image(options.panels, result.indices.shape[1])
    cols = options.cols * cell if options.cols else None  # images per row -> panel columns
    return render.render_grid(
        result.images,
        result.maps,
        result.titles,
        names=result.names,
        cols=cols,
        captions=result.captions(),
        **options.drawing(),
    )


def make_grid(
    *,
    model: Any,
    images: object,
    options: GridOptions | None = None,
    preprocess: Callable[[np.ndarray], Any] | str | None = None,
    class_names: str | Sequence[str] | None = None,
    base: Path | None = None,
    models: ModelCache = MODELS,
    verbose: bool | str = False,
    model_inputs: ModelInputs = None,
) -> tuple[bytes, GridResult]:
    """Loads, explains and renders: the whole grid as PNG bytes.

    Args:
        model: A Keras model, a ``.keras``/``.h5`` file or a ``module:callable`` reference.
        images: Patterns, paths, arrays or a reference (see
            :func:`saliency_widgets.sources.load_sources`).
        options: How to compute and draw (defaults: top-1 vanilla gradients, image + overlay).
        preprocess: ``f(images) -> model input`` or a reference to it, e.g.
            ``saliency_widgets.zoo:preprocess``.
        class_names: Names, a reference, a ``.json``/``.txt`` file or a comma list.
        base: Folder that relative paths are resolved against.
        models: The model cache (a model is loaded once per process).
        verbose: The engine's progress bar.
        model_inputs: A model's inputs other than the images (see
            :func:`saliency_widgets.sources.load_sources`).

    Returns:
        The PNG bytes and the computed result (its titles make good alt text).

    Raises:
        InputError: For any bad input or option; the message names it.
    """
    options = options or GridOptions()
    method_of(options)  # fail on a bad method or filter before loading anything
    sources = load_sources(
        model,
        images,
        preprocess=preprocess,
        class_names=class_names,
        base=base,
        models=models,
        model_inputs=model_inputs,
    )
    result = compute_grid(sources, options, verbose)
    return render.figure_to_png(grid_figure(result, options), dpi=options.dpi), result


__all__ = [
    "MODELS",
    "PANELS",
    "ClassSelection",
    "GridError",
    "GridOptions",
    "GridResult",
    "InputError",
    "ModelCache",
    "complete_attributions",
    "compute_grid",
    "grid_figure",
    "make_grid",
    "method_of",
    "parse_params",
    "score_maps",
]
