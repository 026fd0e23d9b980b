"""What every explorer view is told before any map: its lists, names and initial display.

The browser module (``explorer.js``) writes no list of its own: the methods, sign modes, blends,
colour maps and compare modes it offers all come from here, each from its one owner
(:data:`saliency_widgets.methods.METHODS`, :data:`saliency_widgets.display.SIGNS`,
:data:`~saliency_widgets.display.BLENDS`, :data:`~saliency_widgets.display.COLOUR_MAPS`,
:data:`COMPARE_MODES`). The static explorer writes :func:`view_meta` into its page; the live
widget syncs the same object as a trait.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from saliency_widgets import display

COMPARE_MODES = {"single": "single map", "classes": "top classes", "methods": "all methods"}
"""Compare modes and their labels: one map, the image's top classes side by side, or every
method side by side."""

RANKINGS = {
    "deletion": "deletion: better than random by",
    "insertion": "insertion: better than random by",
    "energy": "energy in mask",
    "gini": "Gini (concentration)",
}
"""Figures the "all methods" compare mode ranks the methods by (higher first), and labels."""

THUMBNAIL_SIDE = 64
"""Longest side, in pixels, of the thumbnails sent for images larger than twice this."""


@dataclass(frozen=True)
class ViewOptions:
    """How a view draws its maps: presentation only, so changing one never computes a map.

    Attributes:
        sign: Which part of the signed map is shown (:data:`saliency_widgets.display.SIGNS`).
        cmap: Colour map (:data:`saliency_widgets.display.COLOUR_MAPS` or any matplotlib name).
        alpha: Overlay opacity in ``[0, 1]``.
        blend: Blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Percentile of each map drawn at full colour, in ``(0, 100]``.
        compare: Compare mode (:data:`COMPARE_MODES`).
        outline: Outline the true object when masks are known.
    """

    sign: str = "absolute"
    cmap: str = display.DEFAULT_CMAP
    alpha: float = display.DEFAULT_ALPHA
    blend: str = display.DEFAULT_BLEND
    clip: float = display.DEFAULT_CLIP
    compare: str = "single"
    outline: bool = True

    def __post_init__(self) -> None:
        display.check(clip=self.clip, blend=self.blend, alpha=self.alpha)
        if self.sign not in display.SIGNS:
            raise ValueError(f"sign must be one of {', '.join(display.SIGNS)}; got {self.sign!r}")
        if self.compare not in COMPARE_MODES:
            raise ValueError(
                f"compare must be one of {', '.join(COMPARE_MODES)}; got {self.compare!r}"
            )
        display.colour_table(self.cmap)  # raises for an unknown colour map
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "clip", float(self.clip))
        object.__setattr__(self, "outline", bool(self.outline))

    def updated(self, **changes: Any) -> ViewOptions:
        """A copy with ``changes`` (``None`` values ignored), checked.

        Raises:
            TypeError: For an option that does not exist.
            ValueError: For a value out of range.
        """
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise TypeError(
                f"unknown view option {sorted(unknown)[0]!r}; known: {list(asdict(self))}"
            )
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        """The options as the browser takes them."""
        return asdict(self)


def colour_tables(cmaps: Sequence[str]) -> dict[str, str]:
    """Each colour map's 256 RGB entries (:func:`saliency_widgets.display.colour_table`), base64."""
    return {
        name: base64.b64encode(display.colour_table(name).tobytes()).decode("ascii")
        for name in cmaps
    }


def method_entries(methods: Sequence[str]) -> list[dict[str, str]]:
    """``{"name", "label"}`` of each method, from the registry.

    Raises:
        ValueError: For an unknown method.
    """
    from saliency_widgets.methods import get_method

    return [{"name": name, "label": get_method(name).label or name} for name in methods]


def view_meta(
    *,
    names: Sequence[str],
    labels: Sequence[int] | None,
    class_names: Sequence[str],
    activation: str,
    methods: Sequence[str],
    top_k: int,
    view: ViewOptions,
    masks: bool = False,
    per_page: int = 24,
    live: bool = False,
    cmaps: Sequence[str] = display.COLOUR_MAPS,
    metrics: bool = False,
    sanity: bool = False,
) -> dict[str, Any]:
    """The object every view starts from (see the module's description).

    Args:
        names: A name per image.
        labels: The true class per image, or ``None``.
        class_names: Names by class index.
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"`` (raw scores are shown as such).
        methods: Registry names of the methods offered.
        top_k: Classes listed per image.
        view: The initial display.
        masks: Whether ground-truth masks are known (the outline control is offered).
        per_page: Thumbnails per page.
        live: A kernel computes maps on request (any class may be typed; every method of the
            list can be computed); otherwise only what the page holds can be shown.
        cmaps: Colour maps offered (the initial one is added when missing).
        metrics: Each map's trust figures are shown beside it (a live widget computes them, a
            page holds them).
        sanity: The sanity check can be shown (a live widget runs it on request, a page holds
            it precomputed).

    Returns:
        A JSON-serialisable dict.
    """
    offered = tuple(dict.fromkeys((view.cmap, *cmaps)))
    return {
        "version": 2,
        "count": len(names),
        "names": [str(name) for name in names],
        "labels": None if labels is None else [int(label) for label in labels],
        "classNames": [str(name) for name in class_names],
        "activation": activation,
        "topK": int(top_k),
        "methods": method_entries(methods),
        "signs": list(display.SIGNS),
        "blends": list(display.BLENDS),
        "compares": [[mode, label] for mode, label in COMPARE_MODES.items()],
        "cmaps": colour_tables(offered),
        "view": view.as_dict(),
        "masks": bool(masks),
        "outlineColour": list(display.OUTLINE_COLOUR),
        "perPage": int(per_page),
        "live": bool(live),
        "metrics": bool(metrics),
        "sanity": bool(sanity),
        "ranks": [[key, label] for key, label in RANKINGS.items()],
    }


__all__ = [
    "COMPARE_MODES",
    "RANKINGS",
    "THUMBNAIL_SIDE",
    "ViewOptions",
    "colour_tables",
    "method_entries",
    "view_meta",
]
