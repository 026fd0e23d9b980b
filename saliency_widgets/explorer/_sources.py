"""Explorers from text options: what the ``saliency-explorer`` directive and ``explore`` share.

The options are the grid's (:class:`saliency_widgets.grid.GridOptions`, parsed by the same
:meth:`~saliency_widgets.grid.GridOptions.from_strings`) plus ``methods``; the inputs are loaded
by the grid's loaders. Grid options that lay out a PNG (``panels``, ``cols``, ``dpi``) have no
meaning in an explorer and are refused by name, as is ``postprocessing`` (the explorer shows the
widget's sign modes) and a fixed class list (the explorer shows each image's top-K classes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from saliency_widgets._grid_inputs import GridError

NOT_FOR_EXPLORERS = ("postprocessing", "panels", "cols", "dpi")
"""Grid options an explorer refuses (see the module's description)."""


DEFAULT_TOP_K = 5
"""Classes per image when ``classes`` is not given (a grid's default, top-1, leaves nothing to
click)."""


def explorer_options(strings: Mapping[str, str]) -> tuple[Any, tuple[str, ...], int]:
    """Parses grid options plus ``methods`` into grid options, method names and K.

    Args:
        strings: Options as text: any of ``GridOptions.KEYS`` but :data:`NOT_FOR_EXPLORERS`,
            and ``methods`` (``"a, b, c"``). ``method`` alone names one method; with
            ``methods`` it is shown first.

    Returns:
        The :class:`~saliency_widgets.grid.GridOptions`, the method names and the number of
        classes per image (:data:`DEFAULT_TOP_K` unless ``classes`` says ``top-K``).

    Raises:
        GridError: For an option an explorer does not take or a value that does not parse.
    """
    from saliency_widgets.explorer._data import DEFAULT_METHODS, parse_methods
    from saliency_widgets.grid import GridOptions

    refused = [name for name in NOT_FOR_EXPLORERS if name in strings]
    if refused:
        raise GridError(f"{refused[0]}: a grid option that an explorer does not use")
    grid = {key: value for key, value in strings.items() if key != "methods"}
    options = GridOptions.from_strings(grid)
    if options.classes.top is None:
        raise GridError("classes: an explorer shows each image's top-K classes; write top-K")
    try:
        listed = parse_methods(strings["methods"]) if "methods" in strings else ()
        first = (options.method,) if "method" in strings else ()
        methods = parse_methods([*first, *listed] or list(DEFAULT_METHODS))
    except ValueError as error:
        raise GridError(str(error)) from None
    top_k = (options.classes.top or 1) if "classes" in strings else DEFAULT_TOP_K
    return options, methods, top_k


def explorer_from_sources(
    *,
    model: str | Path,
    images: str | Sequence[str | Path],
    strings: Mapping[str, str],
    preprocess: str | None = None,
    class_names: str | Sequence[str] | None = None,
    base: Path | None = None,
    verbose: bool | str = False,
) -> str:
    """Loads the inputs, computes the maps and returns the explorer's HTML fragment.

    Args:
        model: A ``.keras``/``.h5`` file or a ``module:callable`` reference.
        images: A glob pattern, paths/patterns, or a reference (as :func:`make_grid`).
        strings: Options as text (:func:`explorer_options`).
        preprocess: A ``module:callable`` reference.
        class_names: A reference, a ``.json``/``.txt`` file or a comma list.
        base: Folder that relative paths are resolved against.
        verbose: The engine's progress bar.

    Returns:
        The fragment (:func:`saliency_widgets.explorer.fragment`).

    Raises:
        GridError: For any bad input or option, naming it, or a model that fails.
    """
    from saliency_widgets import grid
    from saliency_widgets._grid_inputs import fit_images, function, load_class_names, load_images
    from saliency_widgets._messages import describe
    from saliency_widgets.explorer._data import explain_top_k
    from saliency_widgets.explorer._html import fragment

    options, methods, top_k = explorer_options(strings)
    names = load_class_names(class_names, base)
    transform = function(preprocess) if preprocess else None
    image_set = load_images(images, base)
    loaded = grid.MODELS.get(model, base)
    size, channels = grid._model_geometry(loaded)
    batch = fit_images(image_set, size, channels)
    try:
        x = transform(batch) if transform else batch
        x = x.numpy() if hasattr(x, "numpy") else x
        data = explain_top_k(
            loaded,
            batch,
            x,
            methods=methods,
            top_k=top_k,
            class_names=names or None,
            names=image_set.names,
            params=options.params,
            batch_size=options.batch_size,
            verbose=verbose,
        )
    except GridError:
        raise
    except Exception as error:
        raise GridError(f"the explorer's maps failed: {describe(error, limit=300)}") from error
    return fragment(
        data, cmap=options.cmap, alpha=options.alpha, blend=options.blend, clip=options.clip
    )


__all__ = ["DEFAULT_TOP_K", "NOT_FOR_EXPLORERS", "explorer_from_sources", "explorer_options"]
