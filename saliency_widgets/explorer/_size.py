"""What an explorer page will weigh, said before its maps are computed, and its progress.

Measured on the bundled model (16 images, top-5, the four default methods, 64 × 64, 11 steps):
1.18 KB a map and 9.6 KB an image (its PNG data URL), 55 KB of code and tables. Noise-like maps
cost about as many bits a pixel as their levels carry, ``log2(2 * steps + 1)``, times 0.38
after PNG compression (base64 included below); images about 2.4 bytes a pixel. A vanilla
gradient of an untrained network at 224² (pure noise, the worst case) costs about twice the
estimate, a Grad-CAM a tenth of it.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

MAP_BITS_FACTOR = 0.38
"""PNG bytes a map pixel, per bit its levels carry (measured, see the module)."""
IMAGE_BYTES_PER_PIXEL = 2.4
"""Base64 PNG bytes an image pixel (measured on the bundled samples)."""
PAGE_OVERHEAD = 55_000
"""The module, its CSS and the colour tables."""
FIGURES_PER_MAP = 90
"""Bytes of a map's trust figures (measured: 28 KB for the default explorer's 320 maps)."""


@dataclass(frozen=True)
class Estimate:
    """What a page will weigh.

    Attributes:
        maps: Bytes of the maps.
        images: Bytes of the images.
        total: Bytes of the page.
    """

    maps: int
    images: int
    total: int

    @property
    def megabytes(self) -> float:
        """The page's size in MB (10⁶ bytes)."""
        return self.total / 1e6


def estimate_page(
    images: int,
    top_k: int,
    methods: int,
    shape: Sequence[int],
    steps: int,
    metrics: bool = False,
) -> Estimate:
    """Estimates a page's weight from its counts and its images' size.

    Args:
        images: Number of images.
        top_k: Classes per image.
        methods: Number of methods.
        shape: An image's ``(H, W, ...)`` shape (maps are assumed the same size).
        steps: Quantisation steps of the maps.
        metrics: Whether the page holds each map's trust figures.

    Returns:
        The :class:`Estimate`.
    """
    pixels = int(shape[0]) * int(shape[1])
    per_map = pixels * math.log2(2 * steps + 1) / 8 * MAP_BITS_FACTOR * 4 / 3  # base64
    maps = int(images * top_k * methods * (per_map + (FIGURES_PER_MAP if metrics else 0)))
    pictures = int(images * pixels * IMAGE_BYTES_PER_PIXEL)
    return Estimate(maps, pictures, maps + pictures + PAGE_OVERHEAD)


class Progress:
    """A progress bar over an explorer's methods (tqdm's, notebook-aware), and a line of text.

    Args:
        methods: The methods, in the order their maps are computed.
        enabled: Show nothing when ``False``.
    """

    def __init__(self, methods: Sequence[str], enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(methods), desc="explorer maps", unit="method")
        self._started = False

    def say(self, text: str) -> None:
        """Prints a line (to stderr, beside the bar)."""
        if self.enabled:
            print(text, file=sys.stderr)

    def step(self, method: str) -> None:
        """Called before each method's maps: the previous one is done."""
        if self.bar is not None:
            if self._started:
                self.bar.update(1)
            self._started = True
            self.bar.set_postfix_str(method)

    def close(self) -> None:
        """Marks the last method done."""
        if self.bar is not None:
            if self._started:
                self.bar.update(1)
            self.bar.close()


__all__ = ["Estimate", "Progress", "estimate_page"]
