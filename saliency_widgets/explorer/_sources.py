"""Explorers from text options: what the ``saliency-explorer`` directive and ``explore`` share.

The options are the grid's (:class:`saliency_widgets.grid.GridOptions`, parsed by the same
:meth:`~saliency_widgets.grid.GridOptions.from_strings`) plus ``methods`` and ``sanity``; the
inputs are loaded by the one path every face takes
(:func:`saliency_widgets.sources.load_sources`). ``metrics`` (a switch, on by default;
``off`` leaves them out) puts each map's trust figures in the page beside the map, as a grid
prints them under it; ``sanity`` (a switch, off by default: it runs every method again) adds
each map's sanity check. Grid options that lay out a PNG (``panels``, ``cols``, ``dpi``) have
no meaning in an explorer and are refused by name, as is ``postprocessing`` (the explorer shows
the widget's sign modes) and a fixed class list (the explorer shows each image's top-K classes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from saliency_widgets._grid_options import SWITCH_VALUES, GridOptions
from saliency_widgets._held_inputs import ModelInputs
from saliency_widgets._messages import InputError, describe
from saliency_widgets.explorer._data import DEFAULT_METHODS, explain_top_k, parse_methods
from saliency_widgets.explorer._html import fragment
from saliency_widgets.sources import load_sources

NOT_FOR_EXPLORERS = ("postprocessing", "panels", "cols", "dpi")
"""Grid options an explorer refuses (see the module's description)."""


DEFAULT_METRICS = True
"""Whether an explorer holds its maps' trust figures when ``metrics`` is not given. On: every
map of an explorer shows how far it can be trusted. On the bundled 16 images x top-5 x 4
methods they cost 28 KB of the page (paid for by storing maps at 9 levels per sign) and a third
of the maps' own compute time (``benchmarks/results/trust-panel.md``)."""
EXPLORER_SWITCHES = ("sanity",)
"""Options an explorer adds to the grid's that are switches (on when given without a value)."""

DEFAULT_TOP_K = 5
"""Classes per image when ``classes`` is not given (a grid's default, top-1, leaves nothing to
click)."""


def explorer_options(strings: Mapping[str, str]) -> tuple[GridOptions, tuple[str, ...], int]:
    """Parses grid options plus ``methods`` into grid options, method names and K.

    Args:
        strings: Options as text: any of ``GridOptions.KEYS`` but :data:`NOT_FOR_EXPLORERS`,
            ``methods`` (``"a, b, c"``) and ``sanity``. ``method`` alone names one method; with
            ``methods`` it is shown first.

    Returns:
        The :class:`~saliency_widgets.grid.GridOptions` (``metrics`` as given, else off;
        :func:`explorer_from_sources` applies :data:`DEFAULT_METRICS` when it is not given),
        the method names and the number of classes per image (:data:`DEFAULT_TOP_K` unless
        ``classes`` says ``top-K``).

    Raises:
        InputError: For an option an explorer does not take or a value that does not parse.
    """
    refused = [name for name in NOT_FOR_EXPLORERS if name in strings]
    if refused:
        raise InputError(f"{refused[0]}: a grid option that an explorer does not use")
    grid = {key: value for key, value in strings.items() if key not in ("methods", "sanity")}
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


def sanity_option(strings: Mapping[str, str]) -> bool:
    """The ``sanity`` switch: off when absent, on when given empty or as on/yes/true.

    Raises:
        InputError: For another value.
    """
    text = strings.get("sanity")
    if text is None:
        return False
    found = SWITCH_VALUES.get(text.strip().lower())
    if found is None:
        raise InputError(f"sanity: expected on or off (or nothing, for on), got {text!r}")
    return found


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
    sanity = sanity_option(strings)
    sources = load_sources(
        model,
        images,
        preprocess=preprocess,
        class_names=class_names,
        base=base,
        model_inputs=model_inputs,
    )
    # The default is on where the figures can be computed (not yet for several inputs).
    metrics = options.metrics if "metrics" in strings else DEFAULT_METRICS and sources.held is None
    try:
        data = explain_top_k(
            sources.model,
            sources.images,
            sources.model_x(),
            methods=methods,
            top_k=top_k,
            class_names=sources.class_names or None,
            names=sources.names,
            masks=sources.masks if metrics else None,
            params=options.params,
            batch_size=options.batch_size,
            verbose=verbose,
            metrics=metrics,
            sanity=sanity,
        )
    except InputError:
        raise
    except Exception as error:
        raise InputError(f"the explorer's maps failed: {describe(error, limit=300)}") from error
    return fragment(
        data, cmap=options.cmap, alpha=options.alpha, blend=options.blend, clip=options.clip
    )


__all__ = [
    "DEFAULT_METRICS",
    "DEFAULT_TOP_K",
    "EXPLORER_SWITCHES",
    "NOT_FOR_EXPLORERS",
    "explorer_from_sources",
    "explorer_options",
    "sanity_option",
]
