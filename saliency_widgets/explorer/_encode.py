"""The explorer's data as a plain JSON object: PNG data URLs and small numbers.

Maps are stored once per (image, class, method) as 8-bit grayscale: one PNG strip per method and
image holds its K maps stacked top to bottom. A map is quantised to integer levels ``l`` in
``[-steps, steps]`` standing for ``l * scale`` (``scale`` per map, the map's largest magnitude
over ``steps``); a strip stores each level zigzag-coded (``2l`` for ``l >= 0``, ``-2l - 1``
below), which lets PNG's row filters find more to compress than bytes around 128 do (4 % smaller
maps on the bundled samples). A live widget sends the same levels as int8 (:func:`signed_bytes`).

``steps`` sets the precision: 127 uses the whole signed byte; the default, 9 (19 levels), is
what keeps 16 images x top-5 x 4 methods at 64 x 64, with every map's trust figures, under
600 KB. Saliency maps are noise-like, so their PNGs cost about as many bits per pixel as the
values have. Measured on the bundled model (16 images, top-5, the four default methods): the
maps take 930 KB at 127 steps, 435 KB at 15, 368 KB at 11 and 340 KB at 9. The mean
display-level error (against the unquantised map, at the 99th-percentile clip, absolute and
positive signs) is 0.9 at 127 steps, 7.7 at 11, 8.3 at 10 and 9.0 at 9 out of 255 (the largest
for one map: 24, 23 and 23 levels). The trust figures (28 KB) take the page from 599 KB to
627 KB at 11 steps, 606 KB at 10 and 584 KB at 9: two levels fewer per sign buy the figures.

The display step (:mod:`saliency_widgets.display`) divides each map by its own percentile, so
the browser draws from the levels alone and the result equals
:func:`saliency_widgets.display.overlay` of the dequantised map exactly.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from saliency_widgets._png import png_bytes
from saliency_widgets.explorer._data import ExplorerData, MethodMaps
from saliency_widgets.explorer._figures import packed_scores
from saliency_widgets.explorer._meta import THUMBNAIL_SIDE, ViewOptions, view_meta

SIGNED_OFFSET = 128
"""Byte of a signed map's zero: values ``-steps … steps`` are stored as ``128 - steps …``."""
DEFAULT_STEPS = 9
"""Quantisation steps per sign (see the module's description for the measured trade-off)."""


def data_url(png: bytes) -> str:
    """A ``data:image/png;base64,…`` URL (works from ``file://``, taints no canvas)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def quantise(
    maps: np.ndarray, signed: bool, steps: int = DEFAULT_STEPS
) -> tuple[np.ndarray, list[float]]:
    """8-bit bytes and per-map scales of ``(K, h, w)`` maps (NaN and infinities as 0).

    Args:
        maps: ``(K, h, w)`` maps.
        signed: Keep the sign (bytes around :data:`SIGNED_OFFSET`); otherwise the maps are
            non-negative and stored from 0.
        steps: Levels per sign, 1 to 127 (255 for unsigned maps).

    Returns:
        ``(K, h, w)`` uint8 bytes and the ``K`` scales.

    Raises:
        ValueError: For ``steps`` out of range.
    """
    if not 1 <= steps <= (127 if signed else 255):
        raise ValueError(f"steps must be in [1, {127 if signed else 255}], got {steps}")
    values = np.where(np.isfinite(maps), maps, 0.0).astype(np.float64)
    if not signed:
        values = np.maximum(values, 0.0)
    peak = np.abs(values).reshape(len(values), -1).max(axis=1) if values.size else np.zeros(0)
    scales = np.where(peak > 0, peak / steps, 1.0)
    levels = np.rint(values / scales[:, None, None]).clip(-steps, steps)
    stored = levels + (SIGNED_OFFSET if signed else 0)
    # Seven significant digits: the scales say what a step is worth; the display needs none.
    return stored.astype(np.uint8), [float(f"{s:.7g}") for s in scales]


def dequantise(
    stored: np.ndarray, offset: int, scales: Sequence[float] | None = None
) -> np.ndarray:
    """The maps a stored strip stands for: ``(b - offset) * scale`` (scale 1 when omitted).

    Args:
        stored: ``(K, h, w)`` uint8.
        offset: :data:`SIGNED_OFFSET` or 0.
        scales: Per-map scales.

    Returns:
        ``(K, h, w)`` float64.
    """
    values = stored.astype(np.float64) - offset
    if scales is not None:
        values = values * np.asarray(scales, dtype=np.float64)[:, None, None]
    return values


def shown_maps(data: ExplorerData, steps: int = DEFAULT_STEPS) -> dict[str, np.ndarray]:
    """The maps the browser draws, by method: ``(N, K, h, w)`` float64 ``b - offset``.

    :func:`saliency_widgets.display.overlay` of one of these is, pixel for pixel, what the
    explorer's canvas shows for it (the kernel-side reference of the browser tests).
    """
    return {
        method.name: np.stack(
            [
                dequantise(quantise(per_image, True, steps)[0], SIGNED_OFFSET)
                for per_image in method.maps
            ]
        )
        for method in data.methods
    }


def signed_bytes(maps: np.ndarray, steps: int = 127) -> tuple[bytes, list[float]]:
    """``(K, h, w)`` signed maps as int8 bytes and per-map scales: what the kernel sends.

    The bytes are :func:`quantise`'s levels, ``b - offset``, so a view draws the same pixels
    from them as from a static page's strips quantised with the same ``steps``.
    """
    stored, scales = quantise(maps, True, steps)
    levels = stored.astype(np.int16) - SIGNED_OFFSET
    return levels.astype(np.int8).tobytes(), scales


def thumbnail_png(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> bytes | None:
    """A small PNG of an image larger than twice ``side`` (``None``: the image will do)."""
    if max(image.shape[:2]) <= 2 * side:
        return None
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    picture.thumbnail((side, side), Image.Resampling.BOX)
    return png_bytes(np.asarray(picture))


def mask_png(mask: np.ndarray, optimize: bool = True) -> bytes:
    """A boolean mask as a grayscale PNG (0 or 255)."""
    return png_bytes(np.where(mask, 255, 0).astype(np.uint8), optimize)


def zigzag(levels: np.ndarray) -> np.ndarray:
    """Signed levels as bytes: ``2l`` for ``l >= 0``, ``-2l - 1`` below (see the module)."""
    levels = np.asarray(levels, np.int16)
    return np.where(levels >= 0, 2 * levels, -2 * levels - 1).astype(np.uint8)


def unzigzag(stored: np.ndarray) -> np.ndarray:
    """The signed levels of zigzag-coded bytes (:func:`zigzag`'s inverse), as float64."""
    stored = np.asarray(stored, np.int16)
    return np.where(stored % 2 == 0, stored // 2, -(stored + 1) // 2).astype(np.float64)


def _strips(method: MethodMaps, steps: int, optimize: bool) -> dict[str, Any]:
    urls: list[str | None] = []
    scales: list[list[float] | None] = []
    for i, per_image in enumerate(method.maps):  # (K, h, w)
        if method.held is not None and not method.held[i]:
            urls.append(None)
            scales.append(None)
            continue
        stored, scale = quantise(per_image, True, steps)
        levels = stored.astype(np.int16) - SIGNED_OFFSET
        strip = zigzag(levels.reshape(-1, levels.shape[-1]))
        urls.append(data_url(png_bytes(strip, optimize)))
        scales.append(scale)
    return {"encoding": "zigzag", "steps": steps, "scales": scales, "strips": urls}


def payload(
    data: ExplorerData,
    view: ViewOptions,
    cmaps: Sequence[str],
    steps: int = DEFAULT_STEPS,
    per_page: int = 48,
    start: dict[str, Any] | None = None,
    optimize: bool = True,
) -> dict[str, Any]:
    """The plain object the browser view takes (see ``explorer.js``).

    Args:
        data: What to show.
        view: The initial display.
        cmaps: Colour maps offered (each costs 1 KB of table).
        steps: Quantisation steps per sign (:func:`quantise`).
        per_page: Thumbnails per page.
        start: The initial selection, ``{"image", "classIndex", "method"}`` (the first
            image, its top class and the first method when omitted).
        optimize: Search for the smallest PNGs (a page written once); ``False`` encodes fast
            (a widget's output, made while its cell runs).

    Returns:
        A JSON-serialisable dict.
    """
    meta = view_meta(
        names=data.names,
        labels=None if data.labels is None else data.labels.tolist(),
        class_names=data.class_names,
        activation=data.activation,
        methods=[method.name for method in data.methods],
        top_k=int(data.indices.shape[1]),
        view=view,
        masks=data.masks is not None,
        per_page=per_page,
        cmaps=cmaps,
        metrics=data.scores is not None,
        sanity=data.sanity is not None,
    )
    if start is not None:
        meta["start"] = start
    thumbs = [thumbnail_png(image) for image in data.images]
    return {
        "meta": meta,
        "predictions": {
            "top": data.indices.tolist(),
            "probabilities": [[round(float(p), 5) for p in row] for row in data.probabilities],
        },
        "images": [data_url(png_bytes(image, optimize)) for image in data.images],
        "thumbs": None
        if all(thumb is None for thumb in thumbs)
        else [None if thumb is None else data_url(thumb) for thumb in thumbs],
        "masks": None
        if data.masks is None
        else [data_url(mask_png(mask, optimize)) for mask in data.masks],
        "maps": {method.name: _strips(method, steps, optimize) for method in data.methods},
        "scores": None if data.scores is None else packed_scores(data.scores, data.sanity),
    }


__all__ = [
    "DEFAULT_STEPS",
    "SIGNED_OFFSET",
    "data_url",
    "dequantise",
    "mask_png",
    "payload",
    "png_bytes",
    "quantise",
    "shown_maps",
    "signed_bytes",
    "thumbnail_png",
    "unzigzag",
    "zigzag",
]
