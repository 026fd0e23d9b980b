"""The explorer's data as a plain JSON object: PNG data URLs and small numbers.

Maps are stored once per (image, class, method) as 8-bit grayscale: one PNG strip per method and
image holds its K maps stacked top to bottom. A stored byte ``b`` stands for the value
``(b - offset) * scale`` (``offset`` 128 for signed maps, 0 for non-negative ones; ``scale`` per
map, the map's largest magnitude over ``steps``).

``steps`` sets the precision: 127 uses the whole signed byte; the default, 11 (23 levels), is
what keeps 16 images x top-5 x 4 methods at 64 x 64 under 600 KB. Saliency maps are noise-like,
so their PNGs cost about as many bits per pixel as the values have. Measured on the bundled
model (16 images, top-5, the four default methods): the maps take 930 KB at 127 steps, 435 KB
at 15 and 368 KB at 11, for a mean display-level error (against the unquantised map, at the
99th-percentile clip) of 0.9, 6.7 and 8.6 out of 255.

The display step (:mod:`saliency_widgets.display`) divides each map by its own percentile, so
the browser draws from ``b - offset`` alone and the result equals
:func:`saliency_widgets.display.overlay` of the dequantised map exactly.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from saliency_widgets._png import png_bytes
from saliency_widgets.explorer._data import ExplorerData

SIGNED_OFFSET = 128
"""Byte of a signed map's zero: values ``-steps … steps`` are stored as ``128 - steps …``."""
DEFAULT_STEPS = 11
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
    offset = {True: SIGNED_OFFSET, False: 0}
    return {
        method.name: np.stack(
            [
                dequantise(quantise(per_image, method.signed, steps)[0], offset[method.signed])
                for per_image in method.maps
            ]
        )
        for method in data.methods
    }


def _strips(maps: np.ndarray, signed: bool, steps: int) -> dict[str, Any]:
    urls, scales = [], []
    for per_image in maps:  # (K, h, w)
        stored, scale = quantise(per_image, signed, steps)
        urls.append(data_url(png_bytes(stored.reshape(-1, stored.shape[-1]))))
        scales.append(scale)
    return {"offset": SIGNED_OFFSET if signed else 0, "scales": scales, "strips": urls}


def colour_tables(cmaps: Sequence[str]) -> dict[str, str]:
    """Each colour map's 256 RGB entries (:func:`saliency_widgets.display.colour_table`), base64."""
    from saliency_widgets import display

    return {
        name: base64.b64encode(display.colour_table(name).tobytes()).decode("ascii")
        for name in cmaps
    }


def payload(
    data: ExplorerData, view: dict[str, Any], cmaps: Sequence[str], steps: int = DEFAULT_STEPS
) -> dict[str, Any]:
    """The plain object the browser view takes (see ``explorer.js``).

    Args:
        data: What to show.
        view: The initial display: ``sign``, ``cmap``, ``alpha``, ``blend``, ``clip``,
            ``compare``.
        cmaps: Colour maps offered (each costs 1 KB of table).
        steps: Quantisation steps per sign (:func:`quantise`).

    Returns:
        A JSON-serialisable dict.
    """
    first = data.methods[0].maps
    return {
        "version": 1,
        "images": [
            {
                "name": name,
                "src": data_url(png_bytes(image)),
                "label": None if data.labels is None else int(data.labels[i]),
            }
            for i, (name, image) in enumerate(zip(data.names, data.images, strict=True))
        ],
        "classNames": list(data.class_names),
        "top": data.indices.tolist(),
        "probabilities": [[round(float(p), 5) for p in row] for row in data.probabilities],
        "activation": data.activation,
        "mapSize": [int(first.shape[2]), int(first.shape[3])],
        "methods": [
            {
                "name": method.name,
                "label": method.label,
                "signed": method.signed,
                **_strips(method.maps, method.signed, steps),
            }
            for method in data.methods
        ],
        "view": view,
        "cmaps": colour_tables(cmaps),
    }


__all__ = [
    "DEFAULT_STEPS",
    "SIGNED_OFFSET",
    "colour_tables",
    "data_url",
    "dequantise",
    "payload",
    "png_bytes",
    "quantise",
    "shown_maps",
]
