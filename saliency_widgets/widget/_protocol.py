"""The messages between the kernel and a widget's browser views.

Browser → kernel (custom messages, checked here before anything runs):

- ``{"kind": "want", "image": i, "methods": [...], "class_index": c | None}``: the view lacks
  these maps (a compare mode, a typed class, a reloaded page);
- ``{"kind": "images", "indices": [...], "thumbs": bool}``: pictures for the thumbnails or the
  view;
- ``{"kind": "scores", "image": i, "methods": [...], "class_index": c}``: the trust panel lacks
  these maps' figures (the kernel sends those it holds and computes the others after the maps);
- ``{"kind": "sanity", "image": i, "method": m, "class_index": c}``: the panel's sanity button
  (run on the worker, on a re-initialised copy of the model, then kept).

Kernel → browser (custom messages with binary buffers):

- ``{"kind": "maps", "image", "method", "classes", "shape": [h, w], "scales", "probabilities"}``
  with one buffer: the ``K`` signed maps as int8 levels (:func:`saliency_widgets.explorer.
  signed_bytes`, 127 steps per sign: a 224² map costs 50,176 bytes), each standing for
  ``level * scale``;
- ``{"kind": "image", "index", "thumb"}`` with the PNG bytes of the picture as displayed (and,
  for a full picture of an image with a known mask, the mask's PNG as a second buffer);
- ``{"kind": "failed", "image", "methods"}``: the maps could not be computed (the reason is in
  the ``status`` trait);
- ``{"kind": "scores", "image", "method", "class_index", "card"}``: one map's trust figures,
  ``card`` being :meth:`saliency_widgets.metrics.Scorecard.to_dict` (or ``"error"``: why not);
- ``{"kind": "sanity", "image", "method", "class_index", "check"}``: one map's sanity check,
  ``check`` being :meth:`saliency_widgets.metrics.SanityCheck.to_dict` (or ``"error"``).

State that every view shares (selection, predictions, status, initial display) travels in
synced traits instead (see :class:`~saliency_widgets.widget.SaliencyWidget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets.explorer import mask_png, png_bytes, signed_bytes, thumbnail_png

LIVE_STEPS = 127
"""Quantisation steps per sign of the maps sent to a live view (the whole signed byte)."""


@dataclass(frozen=True)
class WantMessage:
    """A view's request for maps (see the module's description)."""

    image: int
    methods: tuple[str, ...]
    class_index: int | None


@dataclass(frozen=True)
class ImagesMessage:
    """A view's request for pictures (see the module's description)."""

    indices: tuple[int, ...]
    thumbs: bool


@dataclass(frozen=True)
class ScoresMessage:
    """A view's request for figures (see the module's description)."""

    image: int
    methods: tuple[str, ...]
    class_index: int


@dataclass(frozen=True)
class SanityMessage:
    """A view's sanity button (see the module's description)."""

    image: int
    method: str
    class_index: int


Request = WantMessage | ImagesMessage | ScoresMessage | SanityMessage
"""A checked browser message."""


def _index(value: object, limit: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
        raise ValueError(f"{name} must be an int in [0, {limit}), got {value!r}")
    return value


def parse(
    content: Mapping[str, Any], count: int, classes: int | None, methods: Sequence[str]
) -> Request:
    """Checks a browser message.

    Args:
        content: The message's content.
        count: Number of images.
        classes: Number of classes (``None`` while unknown).
        methods: Method names the widget offers.

    Returns:
        The request.

    Raises:
        ValueError: For a message that is not one of the above, naming what is wrong.
    """
    kind = content.get("kind")
    if kind == "want":
        image = _index(content.get("image"), count, "image")
        wanted = content.get("methods")
        if not isinstance(wanted, list) or not all(m in methods for m in wanted):
            raise ValueError(f"methods must be a list of {list(methods)}, got {wanted!r}")
        found = content.get("class_index")
        class_index = None if found is None else _index(found, classes or 0, "class_index")
        return WantMessage(image, tuple(wanted), class_index)
    if kind == "images":
        indices = content.get("indices")
        if not isinstance(indices, list):
            raise ValueError(f"indices must be a list, got {indices!r}")
        return ImagesMessage(
            tuple(_index(i, count, "indices[]") for i in indices), bool(content.get("thumbs"))
        )
    if kind in ("scores", "sanity"):
        image = _index(content.get("image"), count, "image")
        class_index = _index(content.get("class_index"), classes or 0, "class_index")
        named = content.get("methods") if kind == "scores" else [content.get("method")]
        if not isinstance(named, list) or not all(m in methods for m in named):
            raise ValueError(f"methods must be a list of {list(methods)}, got {named!r}")
        if kind == "sanity":
            return SanityMessage(image, named[0], class_index)
        return ScoresMessage(image, tuple(named), class_index)
    raise ValueError(f"unknown message kind {kind!r}")


def maps_message(
    image: int,
    method: str,
    classes: Sequence[int],
    maps: np.ndarray,
    probabilities: Sequence[float] | np.ndarray,
) -> tuple[dict[str, Any], list[bytes]]:
    """The message carrying ``(K, h, w)`` signed maps of ``classes`` (see the module)."""
    levels, scales = signed_bytes(np.asarray(maps, dtype=np.float32), LIVE_STEPS)
    content = {
        "kind": "maps",
        "image": int(image),
        "method": method,
        "classes": [int(c) for c in classes],
        "shape": [int(maps.shape[1]), int(maps.shape[2])],
        "scales": scales,
        "probabilities": [round(float(p), 5) for p in probabilities],
    }
    return content, [levels]


def figure_message(kind: str, key: tuple[int, int, str], result: Any) -> dict[str, Any]:
    """The message carrying one map's figures (``kind`` ``"scores"`` or ``"sanity"``).

    Args:
        kind: ``"scores"`` or ``"sanity"``.
        key: The map's ``(image, class_index, method)``.
        result: A :class:`~saliency_widgets.metrics.Scorecard` or
            :class:`~saliency_widgets.metrics.SanityCheck`, or the message saying why it failed.
    """
    image, class_index, method = key
    content: dict[str, Any] = {
        "kind": kind,
        "image": int(image),
        "method": method,
        "class_index": int(class_index),
    }
    if isinstance(result, str):
        content["error"] = result
    else:
        content["card" if kind == "scores" else "check"] = result.to_dict()
    return content


def image_message(
    index: int, picture: np.ndarray, thumb: bool, mask: np.ndarray | None
) -> tuple[dict[str, Any], list[bytes]]:
    """The message carrying one picture (RGB uint8 as displayed), its thumbnail or its mask."""
    if thumb:
        return {"kind": "image", "index": int(index), "thumb": True}, [
            thumbnail_png(picture) or png_bytes(picture, optimize=False)
        ]
    buffers = [png_bytes(picture, optimize=False)]
    if mask is not None:
        buffers.append(mask_png(mask))
    return {"kind": "image", "index": int(index), "thumb": False}, buffers


__all__ = [
    "LIVE_STEPS",
    "ImagesMessage",
    "Request",
    "SanityMessage",
    "ScoresMessage",
    "WantMessage",
    "figure_message",
    "image_message",
    "maps_message",
    "parse",
]
