"""The package's one PNG writer: lossless bytes of pictures given as arrays.

Figures are written by matplotlib (:func:`saliency_widgets.render.figure_to_png`); every array
that becomes a PNG (the explorer's and the widget's images, thumbnails, masks and map strips)
goes through :func:`png_bytes`.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

FAST_LEVEL = 3
"""zlib level of :func:`png_bytes` without ``optimize``: pictures redrawn on every click."""


def png_bytes(array: np.ndarray, optimize: bool = True) -> bytes:
    """Lossless PNG bytes of a ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8 array.

    No gamma chunk is written, so browsers and canvases show the bytes as they are.

    Args:
        array: The picture (cast to ``uint8``).
        optimize: The smallest file (for pages, written once): Pillow's optimised encoding
            and, for grayscale arrays, each of PNG's five row filters (none, sub, up, average,
            Paeth) on every row, whichever is shortest (noise-like saliency maps often compress best
            unfiltered: about 4% smaller strips). Without it (a live view asking for a picture),
            one pass at zlib level :data:`FAST_LEVEL`.

    Returns:
        The PNG file's bytes.

    Example:
        >>> png_bytes(np.zeros((2, 3), np.uint8))[1:4]
        b'PNG'
    """
    array = np.ascontiguousarray(array, dtype=np.uint8)
    buffer = io.BytesIO()
    if not optimize:
        Image.fromarray(array).save(buffer, format="PNG", compress_level=FAST_LEVEL)
        return buffer.getvalue()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    candidates = [buffer.getvalue()]
    if array.ndim == 2:
        candidates += [_filtered_gray_png(array, kind) for kind in range(5)]
    return min(candidates, key=len)


def _filtered_gray_png(array: np.ndarray, kind: int) -> bytes:
    """An 8-bit grayscale PNG with one row filter on every row.

    Filters: 0 none, 1 sub, 2 up, 3 average, 4 Paeth (PNG's own, on the unsigned bytes).
    """
    rows = array.astype(np.int16)
    left = np.pad(rows, ((0, 0), (1, 0)))[:, :-1]
    up = np.pad(rows, ((1, 0), (0, 0)))[:-1]
    if kind == 1:
        rows = rows - left
    elif kind == 2:
        rows = rows - up
    elif kind == 3:
        rows = rows - (left + up) // 2
    elif kind == 4:
        corner = np.pad(rows, ((1, 0), (1, 0)))[:-1, :-1]
        guess = left + up - corner
        near_left, near_up = np.abs(guess - left), np.abs(guess - up)
        near_corner = np.abs(guess - corner)
        paeth = np.where(
            (near_left <= near_up) & (near_left <= near_corner),
            left,
            np.where(near_up <= near_corner, up, corner),
        )
        rows = rows - paeth
    filtered = np.concatenate(
        [np.full((len(rows), 1), kind, np.uint8), (rows % 256).astype(np.uint8)], axis=1
    )

    def chunk(name: bytes, body: bytes) -> bytes:
        check = zlib.crc32(name + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + name + body + struct.pack(">I", check)

    height, width = array.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(filtered.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


__all__ = ["FAST_LEVEL", "png_bytes"]
