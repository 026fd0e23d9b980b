"""The package's one PNG writer: lossless bytes of pictures given as arrays.

Figures are written by matplotlib (:func:`saliency_widgets.render.figure_to_png`); every array
that becomes a PNG (widget pictures and thumbnails, colour bars, the explorer's images and map
strips) goes through :func:`png_bytes`.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from saliency_widgets import display
from saliency_widgets._checks import positive_int
from saliency_widgets.display import to_display_image

FAST_LEVEL = 3
"""zlib level of :func:`png_bytes` without ``optimize``: pictures redrawn on every click."""


def png_bytes(array: np.ndarray, optimize: bool = True) -> bytes:
    """Lossless PNG bytes of a ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` uint8 array.

    No gamma chunk is written, so browsers and canvases show the bytes as they are.

    Args:
        array: The picture (cast to ``uint8``).
        optimize: The smallest file (for pages, written once): Pillow's optimised encoding
            and, for grayscale arrays, each of PNG's "none", "sub" and "up" row filters on
            every row, whichever is shortest (noise-like saliency maps often compress best
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
        candidates += [_filtered_gray_png(array, kind) for kind in (0, 1, 2)]
    return min(candidates, key=len)


def _filtered_gray_png(array: np.ndarray, kind: int) -> bytes:
    """An 8-bit grayscale PNG with one filter type (0 none, 1 sub, 2 up) on every row."""
    rows = array.astype(np.int16)
    if kind == 1:
        rows = np.diff(rows, axis=1, prepend=0)
    elif kind == 2:
        rows = np.diff(rows, axis=0, prepend=0)
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


def array_to_png(array: np.ndarray) -> bytes:
    """Encodes an image array (2-D, RGB or RGBA; uint8 or float) as PNG bytes (for widgets)."""
    return png_bytes(to_display_image(array))


def fit_png(image: object, size: int) -> bytes:
    """PNG bytes of an image scaled so that its longer side is about ``size`` pixels (for widgets).

    Small images are enlarged by an integer factor with nearest-neighbour sampling, so their
    pixels stay crisp instead of being blurred by the browser; large ones are reduced with a
    Lanczos filter (thumbnails). An image between half ``size`` and ``size`` keeps its size.

    Args:
        image: Any image :func:`to_display_image` accepts (uint8, float, 2-D or RGB(A)).
        size: Target length of the longer side, in pixels (``>= 1``).

    Returns:
        The PNG file's bytes.

    Raises:
        TypeError: If ``size`` is not an int.
        ValueError: If ``size`` is below 1.

    Example:
        >>> from PIL import Image
        >>> png = fit_png(np.zeros((16, 8, 3), np.uint8), 64)
        >>> Image.open(io.BytesIO(png)).size
        (32, 64)
    """
    size = positive_int("size", size)
    picture = to_display_image(image)
    longest = max(picture.shape[:2])
    if longest < size:
        factor = size // longest
        picture = np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)
    if longest > size:
        pil = Image.fromarray(picture)
        pil.thumbnail((size, size), Image.Resampling.LANCZOS)
        picture = np.asarray(pil)
    return png_bytes(picture, optimize=False)


def colour_bar_png(cmap: str = display.DEFAULT_CMAP, width: int = 256, height: int = 10) -> bytes:
    """PNG bytes of a horizontal bar of the colour table, level 0 on the left (for widgets).

    Args:
        cmap: Colour map name.
        width: Width in pixels.
        height: Height in pixels.

    Returns:
        The PNG file's bytes.
    """
    columns = (np.arange(width) * 256 // width).astype(np.uint8)
    bar = display.colour(np.repeat(columns[None], height, axis=0), cmap)
    return png_bytes(bar)


__all__ = ["FAST_LEVEL", "array_to_png", "colour_bar_png", "fit_png", "png_bytes"]
