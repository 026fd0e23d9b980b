"""Explanation methods and the registry that the widget and the directive read.

Each method is a pure function ``method(model, inputs, indices, **params) -> (logits, maps)``.
:data:`METHODS` maps a user-facing name to a :class:`MethodSpec` that says how
:func:`saliency_widgets.explain` should postprocess its maps by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from saliency_widgets import filters
from saliency_widgets.methods import gradient


@dataclass(frozen=True)
class MethodSpec:
    """How to run one explanation method.

    Attributes:
        name: User-facing name (widget picker, directive ``:method:``).
        function: The pure method ``(model, inputs, indices, **params) -> (logits, maps)``.
        postprocessing: Default filter applied by the top-level shortcut.
        params: Default keyword parameters for ``function``.
        label: Human-readable label.
    """

    name: str
    function: Callable
    postprocessing: Callable | None = filters.absolute_normalize
    params: dict = field(default_factory=dict)
    label: str = ""


METHODS: dict[str, MethodSpec] = {
    "gradients": MethodSpec(
        "gradients", gradient.gradients, filters.absolute_normalize, label="Vanilla gradient"
    ),
}
"""Registered methods by name. New method families add themselves here."""


def get_method(name: str) -> MethodSpec:
    """Looks a method up by name.

    Args:
        name: A key of :data:`METHODS`.

    Returns:
        The method's :class:`MethodSpec`.

    Raises:
        ValueError: If no method has that name (the message lists the known ones).
    """
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"method={name!r}: expected one of {sorted(METHODS)}") from None


__all__ = ["METHODS", "MethodSpec", "get_method", "gradient"]
