"""Plain-Python checks of what a user passes to the widget, raised before anything runs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def checked_labels(labels: object, count: int, units: int | None) -> np.ndarray | None:
    """``labels`` as an int array of ``count`` class indices (``None`` stays ``None``).

    Raises:
        ValueError: For a wrong length, non-integers or indices out of ``[0, units)``.
    """
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.shape != (count,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be {count} class indices, got shape {array.shape}")
    if array.size and (array.min() < 0 or (units is not None and array.max() >= units)):
        raise ValueError(f"labels must be class indices in [0, {units}), got {array.tolist()}")
    return array


def checked_names(names: Sequence[str] | None, units: int | None) -> list[str] | None:
    """Class names as strings, ``"class i"`` when omitted (``None`` while ``units`` is unknown).

    Raises:
        TypeError: If ``names`` is not a sequence (a function passed uncalled is named).
        ValueError: If there are not ``units`` names.
    """
    if names is None:
        return None if units is None else [f"class {i}" for i in range(units)]
    if isinstance(names, str | bytes) or not isinstance(names, Sequence | np.ndarray):
        hint = " (call it: class_names=f())" if callable(names) else ""
        raise TypeError(
            f"class_names must be a sequence of names, got {type(names).__name__}{hint}"
        )
    checked = [str(name) for name in names]
    if units is not None and len(checked) != units:
        raise ValueError(f"class_names has {len(checked)} names but the model has {units} classes")
    return checked


def checked_index(name: str, value: object, limit: int | None) -> int | None:
    """``value`` as an int in ``[0, limit)`` (``None`` stays ``None``; no limit if ``None``).

    Raises:
        ValueError: For a non-integer or an index out of range, naming ``name``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < 0 or (limit is not None and value >= limit):
        raise ValueError(f"{name}={value} is out of range [0, {limit})")
    return int(value)


__all__ = ["checked_index", "checked_labels", "checked_names"]
