"""Sign modes: which part of a signed attribution a map shows, and how to ask the engine for it.

Shared by the widget and the static explorer (so both show the same map for the same choice),
and free of widget code, so the explorer and the command line need no ``ipywidgets``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saliency_widgets.filters import FILTERS
from saliency_widgets.methods import get_method

SIGNS = ("absolute", "positive", "negative")
"""Sign modes: which part of a signed attribution the map shows."""

SIGNED_REDUCTION = "sum"
"""Channel reduction asked of methods with a ``reduce`` option when a signed map is needed:
their default (``"max"`` of absolute values) has no sign left to keep."""


@dataclass(frozen=True)
class Recipe:
    """How :func:`saliency_widgets.explain` is called for one method and sign mode.

    Attributes:
        function: The pure method.
        postprocessing: The filter that turns its output into a ``[0, 1]`` map.
        params: Keyword parameters of the method.
    """

    function: Callable
    postprocessing: Callable
    params: dict[str, Any]


def recipe(method: str, sign: str) -> Recipe:
    """Decides the engine call for ``method`` shown in sign mode ``sign``.

    ``"absolute"`` uses the method's own default postprocessing (so the widget shows what
    ``sw.explain`` with the registry's defaults returns), ``absolute_normalize`` when it has none.
    ``"positive"``/``"negative"`` use ``positive_normalize``/``negative_normalize``; a method whose
    ``reduce`` option would discard the sign (``"max"`` of absolute values) is asked for a signed
    :data:`SIGNED_REDUCTION` instead.

    Args:
        method: A name in :data:`saliency_widgets.methods.METHODS`.
        sign: One of :data:`SIGNS`.

    Returns:
        The :class:`Recipe`.

    Raises:
        ValueError: For an unknown method or sign mode.
    """
    spec = get_method(method)
    if sign not in SIGNS:
        raise ValueError(f"sign={sign!r}: expected one of {SIGNS}")
    params = dict(spec.params)
    if sign == "absolute":
        return Recipe(spec.function, spec.postprocessing or FILTERS["absolute_normalize"], params)
    defaults = {parameter.name: parameter.default for parameter in spec.parameters}
    if defaults.get("reduce") == "max":
        params["reduce"] = SIGNED_REDUCTION
    return Recipe(spec.function, FILTERS[f"{sign}_normalize"], params)


__all__ = ["SIGNED_REDUCTION", "SIGNS", "Recipe", "recipe"]
