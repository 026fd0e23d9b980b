"""Which units (classes) to explain: validation of ``indices`` and top-K selection."""

from __future__ import annotations

import numpy as np


def top_k(logits: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of the ``k`` highest-scoring units per row, best first.

    Args:
        logits: ``(B, L)`` scores (logits or probabilities: the order is the same).
        k: How many units per image, ``1 <= k <= L``.

    Returns:
        ``(B, k)`` int64 indices, the highest score in column 0.

    Raises:
        ValueError: If ``logits`` is not 2-D or ``k`` is out of range.

    Example:
        >>> top_k(np.array([[0.1, 3.0, 2.0]]), k=2).tolist()
        [[1, 2]]
    """
    logits = np.asarray(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be 2-D (B, L), got shape {logits.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= logits.shape[1]:
        raise ValueError(f"k must be an integer in [1, {logits.shape[1]}], got {k!r}")
    # A stable sort of the negated scores keeps ties in index order.
    return np.argsort(-logits, axis=1, kind="stable")[:, :k].astype(np.int64)


def as_indices(indices: object, batch: int | None, units: int | None) -> np.ndarray | None:
    """Validates ``indices`` and returns them as a ``(B, K)`` int32 array.

    Args:
        indices: ``None`` (every unit), an int (the same unit for every image), or integers
            shaped ``(B,)`` or ``(B, K)``.
        batch: Number of images ``B``, or ``None`` when unknown (streamed input).
        units: Number of output units ``L``, or ``None`` when unknown.

    Returns:
        ``None`` for every unit, else a ``(B, K)`` int32 array (``(1, K)`` broadcastable when an
        int was given and ``batch`` is unknown).

    Raises:
        TypeError: If the indices are not integers.
        ValueError: If their shape does not match the batch or a value is out of range.
    """
    if indices is None:
        return None
    if hasattr(indices, "numpy"):
        indices = indices.numpy()
    array = np.asarray(indices)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"indices must be integers (class indices), got dtype {array.dtype}; "
            "use saliency_widgets.top_k(logits, k) to pick the top classes"
        )
    if array.ndim == 0:
        array = np.full((batch or 1, 1), int(array))
    elif array.ndim == 1:
        array = array[:, None]
    elif array.ndim != 2:
        raise ValueError(f"indices must be shaped (B,) or (B, K), got shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError("indices must name at least one unit per image, got K=0")
    if batch is not None and array.shape[0] != batch:
        raise ValueError(
            f"indices has {array.shape[0]} rows but x has {batch} images; expected shape "
            f"({batch},) or ({batch}, K)"
        )
    if array.size and array.min() < 0:
        raise ValueError(f"indices must be non-negative, got {array.min()}")
    if units is not None and array.size and array.max() >= units:
        raise ValueError(
            f"indices out of range: {array.max()} >= {units} (the model has {units} output units)"
        )
    return array.astype(np.int32)


__all__ = ["as_indices", "top_k"]
