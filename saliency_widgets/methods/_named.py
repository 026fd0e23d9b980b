"""Method functions by registered name, for the modules the registry itself imports.

``smooth`` (``method="gradcam"``) and ``parameters`` resolve names while
:mod:`saliency_widgets.methods` imports them, so they cannot import the registry back. The
registry fills :data:`FUNCTIONS` once it is built; this module imports nothing of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FUNCTIONS: dict[str, Callable[..., Any]] = {}
"""Every registered method's function, by name (filled by :mod:`saliency_widgets.methods`)."""


def function_of(name: str) -> Callable[..., Any]:
    """The function registered as ``name``.

    Raises:
        ValueError: If no method has that name (the message lists the known ones).
    """
    try:
        return FUNCTIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"method={name!r}: expected one of {sorted(FUNCTIONS)}") from None


__all__ = ["FUNCTIONS", "function_of"]
