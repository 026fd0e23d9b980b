"""Plain-Python checks of arguments, shared by every room, raised before anything is traced."""

from __future__ import annotations

import numbers

import numpy as np


def positive_int(name: str, value: object) -> int:
    """``value`` as an ``int`` if it is an integer of at least 1 (``batch_size``, ``top_k``, …).

    Args:
        name: The argument's name, for the message.
        value: What the caller passed.

    Returns:
        ``int(value)``.

    Raises:
        TypeError: For a non-integer (a ``bool``, a float such as ``2.0``, a string), naming
            ``name``.
        ValueError: For an integer below 1, naming ``name``.

    Example:
        >>> positive_int("batch_size", np.int64(8))
        8
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


__all__ = ["positive_int"]
