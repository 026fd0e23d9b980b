"""The interface every contender adapter implements.

Adapters take numpy inputs and return numpy maps laid out ``(N, K, H, W)`` or
``(N, K, H, W, C)`` (K explained classes per image; C colour channels when the library leaves
them), which :func:`harness.compare.canonical` reduces and scales the same way for everyone.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np


class Unsupported(Exception):
    """Raised by an adapter for a case its library cannot do (the reason is the message)."""


class Adapter:
    """A contender on the benchmark cases.

    Args:
        model: The softmax-headed Keras model (what users have).
        logits_model: The same weights with a linear head (what libraries ask users to pass).
        mode: Contender-specific option (e.g. the jit setting).
    """

    packages: tuple[str, ...] = ("tensorflow-cpu", "keras", "numpy")
    """Distributions whose versions are reported with the results."""

    def __init__(self, model: Any, logits_model: Any, mode: str) -> None:
        self.model = model
        self.logits_model = logits_model
        self.mode = mode

    def vanilla(self, x: np.ndarray, top1: np.ndarray) -> np.ndarray:
        """Vanilla gradient maps of one class per image.

        Args:
            x: ``(N, H, W, C)`` float32 images.
            top1: ``(N,)`` int class per image.

        Returns:
            ``(N, 1, H, W)`` or ``(N, 1, H, W, C)`` maps.
        """
        raise Unsupported("no vanilla gradient")

    def classes(self, x: np.ndarray, topk: np.ndarray) -> np.ndarray:
        """Maps of K classes per image; by default one :meth:`vanilla` call per class.

        Args:
            x: ``(N, H, W, C)`` images.
            topk: ``(N, K)`` classes.

        Returns:
            ``(N, K, H, W[, C])`` maps.
        """
        return np.concatenate([self.vanilla(x, topk[:, k]) for k in range(topk.shape[1])], axis=1)

    def smoothgrad(
        self, x: np.ndarray, top1: np.ndarray, samples: int, spread: float
    ) -> np.ndarray:
        """SmoothGrad: the mean gradient over noisy copies of each image.

        Args:
            x: ``(N, H, W, C)`` images.
            top1: ``(N,)`` classes.
            samples: Noisy samples per image.
            spread: Noise standard deviation as a fraction of each image's value range.

        Returns:
            ``(N, 1, H, W[, C])`` maps.
        """
        raise Unsupported("no SmoothGrad")

    def method(
        self, name: str, x: np.ndarray, top1: np.ndarray, params: dict[str, Any]
    ) -> np.ndarray:
        """Maps of one of the methods of :data:`harness.config.METHOD_CASES`.

        Args:
            name: The method (our registry's name: ``"layercam"``, ``"rise"`` …).
            x: ``(N, H, W, C)`` images.
            top1: ``(N,)`` classes.
            params: The case's parameters (window, number of masks …), for every contender.

        Returns:
            ``(N, 1, h, w)`` maps.
        """
        raise Unsupported(f"no {name}")

    def stream(self, x: np.ndarray, top1: np.ndarray, batch: int, deadline: float) -> np.ndarray:
        """Maps of a stream of images, a batch at a time, as the library's users would do it.

        Args:
            x: ``(M, H, W, C)`` images.
            top1: ``(M,)`` classes.
            batch: Batch size.
            deadline: ``time.perf_counter()`` value past which no new batch starts.

        Returns:
            ``(M', 1, H, W[, C])`` maps of the first ``M' <= M`` images.
        """
        pieces = []
        for start in range(0, len(x), batch):
            if pieces and time.perf_counter() > deadline:
                break
            pieces.append(self.vanilla(x[start : start + batch], top1[start : start + batch]))
        return np.concatenate(pieces)

    def versions(self) -> dict[str, str]:
        """Versions of :attr:`packages` installed where the adapter runs."""
        found = {}
        for name in self.packages:
            try:
                found[name] = version(name)
            except PackageNotFoundError:
                continue
        return found


def noise_sigma(x: np.ndarray, spread: float) -> np.ndarray:
    """Per-image noise standard deviation ``spread × (max − min)``, shaped ``(N, 1, 1, 1)``.

    Args:
        x: ``(N, H, W, C)`` images.
        spread: Fraction of the value range.

    Returns:
        The standard deviations.
    """
    axes = tuple(range(1, x.ndim))
    return spread * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))
