"""Explorers from text options: what the ``saliency-explorer`` directive and ``explore`` share.

The options are the grid's (:class:`saliency_widgets.grid.GridOptions`, parsed by the same
:meth:`~saliency_widgets.grid.GridOptions.from_strings`) plus ``methods``; the inputs are loaded
by the one path every face takes (:func:`saliency_widgets.sources.load_sources`). Grid options
that lay out a PNG (``panels``, ``cols``, ``dpi``, and ``metrics``, which prints figures under
a grid's maps) have no meaning in an explorer and are refused by name, as is
``postprocessing`` (the explorer shows the widget's sign modes) and a fixed class list (the
explorer shows each image's top-K classes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from saliency_widgets._grid_options import GridOptions
from saliency_widgets._held_inputs import ModelInputs
from saliency_widgets._messages import InputError, describe
from saliency_widgets.explorer._data import DEFAULT_METHODS, explain_top_k, parse_methods
from saliency_widgets.explorer._html import fragment
from saliency_widgets.sources import load_sources

NOT_FOR_EXPLORERS = ("postprocessing", "panels", "cols", "dpi", "metrics")
"""Grid options an explorer refuses (see the module's description)."""


DEFAULT_TOP_K = 5
"""Classes per image when ``classes`` is not given (a grid's default, top-1, leaves nothing to
click)."""


def explorer_options(strings: Mapping[str, str]) -> tuple[GridOptions, tuple[str, ...], int]:
    """Parses grid options plus ``methods`` into grid options, method names and K.

    Args:
        strings: Options as text: any of ``GridOptions.KEYS`` but :data:`NOT_FOR_EXPLORERS`,
            and ``methods`` (``"a, b, c"``). ``method`` alone names one method; with
            ``methods`` it is shown first.

    Returns:
        The :class:`~saliency_widgets.grid.GridOptions`, the method names and the number of
        classes per image (:data:`DEFAULT_TOP_K` unless ``classes`` says ``top-K``).

    Raises:
        InputError: For an option an explorer does not take or a value that does not parse.
    """
    refused = [name for name in NOT_FOR_EXPLORERS if name in strings]
    if refused:
        raise InputError(f"{refused[0]}: a grid option that an explorer does not use")
    grid = {key: value for key, value in strings.items() if key != "methods"}
    options = GridOptions.from_strings(grid)
    if options.classes.top is None:
        raise InputError("classes: an explorer shows each image's top-K classes; write top-K")
    try:
        listed = parse_methods(strings["methods"]) if "methods" in strings else ()
        first = (options.method,) if "method" in strings else ()
        methods = parse_methods([*first, *listed] or list(DEFAULT_METHODS))
    except ValueError as error:
        raise InputError(str(error)) from None
    top_k = (options.classes.top or 1) if "classes" in strings else DEFAULT_TOP_K
    return options, methods, top_k


def explorer_from_sources(
    *,
    model: Any,
    images: object,
    strings: Mapping[str, str],
    preprocess: Callable[[Any], Any] | str | None = None,
    class_names: str | Sequence[str] | None = None,
    base: Path | None = None,
    verbose: bool | str = False,
    model_inputs: ModelInputs = None,
) -> str:
    """Loads the inputs, computes the maps and returns the explorer's HTML fragment.

    Args:
        model: A Keras model, a ``.keras``/``.h5`` file or a ``module:callable`` reference.
        images: Patterns, paths, arrays or a reference
            (:func:`saliency_widgets.sources.load_sources`).
        strings: Options as text (:func:`explorer_options`).
        preprocess: ``f(images) -> model input`` or a ``module:callable`` reference.
        class_names: Names, a reference, a ``.json``/``.txt`` file or a comma list.
        base: Folder that relative paths are resolved against.
        verbose: The engine's progress bar.
        model_inputs: A model's inputs other than the images (see
            :func:`saliency_widgets.sources.load_sources`).

    Returns:
        The fragment (:func:`saliency_widgets.explorer.fragment`).

    Raises:
        InputError: For any bad input or option, naming it, or a model that fails.
    """
    options, methods, top_k = explorer_options(strings)
    sources = load_sources(
        model,
        images,
        preprocess=preprocess,
        class_names=class_names,
        base=base,
        model_inputs=model_inputs,
    )
    try:
        data = explain_top_k(
            sources.model,
            sources.images,
            sources.model_x(),
            methods=methods,
            top_k=top_k,
            class_names=sources.class_names or None,
            names=sources.names,
            params=options.params,
            batch_size=options.batch_size,
            verbose=verbose,
        )
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"the explorer's maps failed: {describe(error, limit=300)}") from error
    return fragment(
        data, cmap=options.cmap, alpha=options.alpha, blend=options.blend, clip=options.clip
    )


__all__ = ["DEFAULT_TOP_K", "NOT_FOR_EXPLORERS", "explorer_from_sources", "explorer_options"]
