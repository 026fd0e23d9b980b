"""The one signed map per (image, class, method) that every view draws all three sign modes from.

The widget and the explorer ask the engine for a single *signed* map per class and method and
leave the sign to the display step (:func:`saliency_widgets.display.signed`): ``"absolute"``
shows ``|m|``, ``"positive"`` ``max(m, 0)`` and ``"negative"`` ``max(-m, 0)`` of the same map, so
switching the sign computes nothing and sends nothing.

Which map: the method's raw output with the registry's parameters and no postprocessing (the
display step's percentile scaling replaces normalising filters), except that a method whose
channel reduction is ``"max"`` of absolute values (vanilla gradients, guided backprop, SmoothGrad
over them: Simonyan et al.'s map, which has no sign left) is asked for ``"signed_max"``: the
signed value of the channel with the largest magnitude. Its absolute value is exactly the
``"max"`` map, so the default ``"absolute"`` view draws the method as registered (before its
normalising filter, which the display step's percentile scaling replaces), and its sign is that
of the dominant colour channel. Methods whose maps cannot be
negative (CAMs, VarGrad, SquareGrad) show nothing in ``"negative"`` mode, as they should.

Free of widget code, so the explorer and the command line need no ``ipywidgets``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from saliency_widgets.methods import get_method

SIGNED_REDUCTION = "signed_max"
"""Channel reduction asked of methods whose registered reduction is ``"max"`` of absolute
values (see the module's description)."""


@dataclass(frozen=True)
class SignedCall:
    """How :func:`saliency_widgets.explain` is called for a method's signed map.

    Attributes:
        function: The pure method.
        params: Its keyword parameters (the registry's, with a signed reduction).
    """

    function: Callable
    params: dict[str, Any]


def signed_call(method: str) -> SignedCall:
    """The engine call that gives ``method``'s signed map (no postprocessing).

    Args:
        method: A name in :data:`saliency_widgets.methods.METHODS`.

    Returns:
        The :class:`SignedCall`.

    Raises:
        ValueError: For an unknown method.
    """
    spec = get_method(method)
    params = dict(spec.params)
    reductions = {parameter.name: parameter.default for parameter in spec.parameters}
    if reductions.get("reduce") == "max":
        params["reduce"] = SIGNED_REDUCTION
    return SignedCall(spec.function, params)


__all__ = ["SIGNED_REDUCTION", "SignedCall", "signed_call"]
