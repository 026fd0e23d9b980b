"""PNG bytes for the widget's pictures, from :mod:`saliency_widgets.render` (no colour maths here).

Pictures that never change (thumbnails, the images themselves, placeholders) are encoded once;
maps and overlays depend on the display options (colour map, blend, opacity, clip) and are
encoded on demand, with a small memo so that going back to a recent view costs no encoding.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable

import numpy as np

from saliency_widgets import display, render
from saliency_widgets.widget._images import Pictures

PLACEHOLDER_GRAY = 235
"""Grey level of the picture shown while a map is being computed."""


class PictureRenderer:
    """Encodes the pictures of one widget.

    Args:
        pictures: The images as given.
        size: Longer side of the main view's pictures, in pixels.
        thumbnail_size: Longer side of thumbnails.
        memo: How many map/overlay PNGs to remember.
    """

    def __init__(self, pictures: Pictures, size: int, thumbnail_size: int, memo: int = 128) -> None:
        self.pictures = pictures
        self.size = size
        self.thumbnail_size = thumbnail_size
        self._fixed: dict[tuple[str, int, int], bytes] = {}
        self._memo: collections.OrderedDict[tuple, bytes] = collections.OrderedDict()
        self._memo_size = memo
        self._lock = threading.Lock()

    def _once(self, kind: str, image: int, size: int) -> bytes:
        key = (kind, image, size)
        with self._lock:
            found = self._fixed.get(key)
        if found is None:
            original = self.pictures.originals[image]
            if kind == "placeholder":
                found = render.fit_png(
                    np.full(original.shape[:2], PLACEHOLDER_GRAY, np.uint8), size
                )
            else:
                found = render.fit_png(original, size)
            with self._lock:
                self._fixed[key] = found
        return found

    def thumbnail(self, image: int) -> bytes:
        """The thumbnail of ``image``."""
        return self._once("picture", image, self.thumbnail_size)

    def picture(self, image: int, size: int | None = None) -> bytes:
        """``image`` as given, at the view's size (or ``size``)."""
        return self._once("picture", image, size or self.size)

    def placeholder(self, image: int, size: int | None = None) -> bytes:
        """A grey picture of ``image``'s size, shown where a map is not ready."""
        return self._once("placeholder", image, size or self.size)

    def _memoized(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            found = self._memo.get(key)
            if found is not None:
                self._memo.move_to_end(key)
                return found
        found = make()
        with self._lock:
            self._memo[key] = found
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return found

    def saliency(
        self,
        key: tuple,
        saliency: np.ndarray,
        cmap: str,
        clip: float | None = display.DEFAULT_CLIP,
        size: int | None = None,
    ) -> bytes:
        """The colour-mapped map (``key`` identifies it for the memo)."""
        size = size or self.size
        return self._memoized(
            ("map", key, cmap, clip, size),
            lambda: render.fit_png(render.colorize(saliency, cmap, clip), size),
        )

    def overlay(
        self,
        key: tuple,
        image: int,
        saliency: np.ndarray,
        alpha: float,
        cmap: str,
        blend: str = display.DEFAULT_BLEND,
        clip: float | None = display.DEFAULT_CLIP,
        size: int | None = None,
    ) -> bytes:
        """The map shown over ``image`` (``key`` identifies the map for the memo)."""
        size = size or self.size
        original = self.pictures.originals[image]
        return self._memoized(
            ("overlay", key, round(alpha, 4), cmap, blend, clip, size),
            lambda: render.fit_png(
                render.overlay(original, saliency, alpha, cmap, blend=blend, clip=clip), size
            ),
        )

    def colour_bar(self, cmap: str) -> bytes:
        """The colour table as a bar as wide as the main pictures (level 0 on the left)."""
        return self._memoized(("bar", cmap), lambda: render.colour_bar_png(cmap, self.size, 10))


__all__ = ["PLACEHOLDER_GRAY", "PictureRenderer"]
