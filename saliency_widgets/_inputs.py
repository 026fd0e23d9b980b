"""Validation and batching of the images given to :func:`saliency_widgets.explain`.

A model with several inputs takes them as the model does (a dict by input name or a list in
``model.inputs`` order); :func:`split_inputs` separates the explained images from the other
inputs, checked here, which are then batched and padded with the images.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from saliency_widgets._model_shape import ModelInput, model_shape


@dataclass(frozen=True)
class InputSpec:
    """What the model accepts: ``(H, W, C)``, ``None`` where any size goes."""

    height: int | None
    width: int | None
    channels: int | None

    @classmethod
    def of(cls, model: Any) -> InputSpec:
        """The input spec of a Keras model (all ``None`` if it is unknown).

        Raises:
            ValueError: If the model does not take a batch of images (see :class:`ModelShape`).
        """
        return cls(*model_shape(model).image())

    def check(self, shape: tuple[int, ...], name: str = "x") -> None:
        """Raises a ``ValueError`` naming ``name`` if an input of ``shape`` cannot be fed."""
        if len(shape) != 4:
            hint = " (for one image use x[None])" if len(shape) == 3 else ""
            raise ValueError(
                f"{name} must be a batch of images shaped (B, H, W, C), got shape {shape}{hint}"
            )
        expected = (self.height, self.width)
        if any(e is not None and e != s for e, s in zip(expected, shape[1:3], strict=True)):
            raise ValueError(
                f"{name} has images of size {shape[1]}x{shape[2]} but the model expects "
                f"{self.height}x{self.width}; resize them first"
            )
        if self.channels is not None and shape[3] != self.channels:
            hint = {1: " (grayscale?)", 3: " (RGB?)"}.get(shape[3], "")
            raise ValueError(
                f"{name} has {shape[3]} channels{hint} but the model expects {self.channels}"
            )


def as_float_batch(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Casts a numeric batch to float32 and rejects NaN/inf values."""
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.number)):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")
    if np.iscomplexobj(x):  # casting would silently drop the imaginary part
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    finite = np.isfinite(x).reshape(len(x), -1).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"{name} contains NaN or inf values (images {bad[:5].tolist()}"
            f"{'…' if len(bad) > 5 else ''}); saliency of a non-finite input is undefined"
        )
    return x


def as_array(x: object, name: str = "x") -> np.ndarray:
    """Turns numpy arrays, tensors and lists of images into one numpy batch."""
    if isinstance(x, tf.Tensor | tf.Variable):
        return x.numpy()
    if isinstance(x, list | tuple):
        if not x:
            raise ValueError(f"{name} is empty: expected at least one image")
        shapes = {np.shape(item) for item in x}
        if len(shapes) != 1:
            raise ValueError(f"{name}: all images must have the same shape, got {sorted(shapes)}")
        return np.stack([np.asarray(item) for item in x])
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(
        f"{name} must be a numpy array, a tensor, a list of images or a tf.data.Dataset, "
        f"got {type(x).__name__}"
    )


def _dataset_images(element: Any) -> Any:
    """The images of a dataset element: ``x`` or the first item of ``(x, y, ...)``."""
    if isinstance(element, tuple | list):
        return element[0]
    if isinstance(element, dict):
        raise TypeError("dict dataset elements are not supported; map them to images first")
    return element


def dataset_batches(dataset: tf.data.Dataset, batch_size: int) -> Iterator[np.ndarray]:
    """Streams a dataset of images (batched or not) as numpy batches of ``batch_size``.

    Elements may be images or ``(images, labels, ...)`` tuples, whose extra items are ignored
    (as ``Model.predict`` does). The last batch may be smaller.
    """
    spec = _dataset_images(dataset.element_spec)
    if spec.shape.rank == 3:
        dataset = dataset.batch(batch_size)
    buffer: list[np.ndarray] = []
    held = 0
    for element in dataset:
        images = np.asarray(_dataset_images(element))
        buffer.append(images)
        held += len(images)
        while held >= batch_size:
            merged = np.concatenate(buffer)
            yield merged[:batch_size]
            buffer, held = [merged[batch_size:]], len(merged) - batch_size
    if held:
        yield np.concatenate(buffer)


def dataset_length(dataset: tf.data.Dataset) -> int | None:
    """Number of images in a dataset when it is known cheaply, else ``None``."""
    spec = _dataset_images(dataset.element_spec)
    cardinality = int(dataset.cardinality())
    if cardinality < 0:
        return None
    if spec.shape.rank == 3:
        return cardinality
    return None  # batched: the size of the last batch is not known without reading it


@dataclass(frozen=True)
class SplitInputs:
    """The explained images and the model's other inputs, as given.

    Attributes:
        images: The explained input as given (array, tensor, list of images or dataset).
        others: The other inputs in ``model.inputs`` order (the explained one left out), as
            numpy arrays of the declared dtypes; empty for a one-input model.
        names: Their input names, for error messages.
        position: The explained input's index in ``model.inputs``.
    """

    images: object
    others: tuple[np.ndarray, ...] = ()
    names: tuple[str, ...] = ()
    position: int = 0


def _listing(inputs: tuple[ModelInput, ...]) -> str:
    names = [i.name for i in inputs]
    first = inputs[0].name if inputs else "image"
    return (
        f"the model takes {len(inputs)} inputs {names}: pass {{{first!r}: images, …}} by name, "
        "or a list in that order"
    )


def _other_input(value: object, spec: ModelInput, label: str) -> np.ndarray:
    """One other input as a numpy array of its declared dtype, its rank and sizes checked."""
    if isinstance(value, tf.Tensor | tf.Variable):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{label} is not a rectangular array: {error}") from None
    if len(array.shape) != len(spec.shape) or any(
        e is not None and e != s for e, s in zip(spec.shape[1:], array.shape[1:], strict=False)
    ):
        raise ValueError(
            f"{label} has shape {array.shape} but input {spec.name!r} of the model takes "
            f"{spec.shape} (batch axis first)"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{label} must hold numbers, got dtype {array.dtype}")
    try:
        dtype = np.dtype(spec.dtype)
    except TypeError:
        dtype = np.dtype(np.float32)
    array = array.astype(dtype, copy=False)
    if np.issubdtype(dtype, np.floating) and not np.isfinite(array).all():
        raise ValueError(f"{label} contains NaN or inf values")
    return array


def split_inputs(
    x: object, inputs: tuple[ModelInput, ...], position: int, name: str = "x"
) -> SplitInputs:
    """Separates the explained images from the model's other inputs, checking both.

    Args:
        x: For a model with one input, the images. For several, a dict by input name, or a
            list/tuple in ``model.inputs`` order.
        inputs: The model's inputs (:func:`saliency_widgets._model_shape.model_inputs`).
        position: The explained input's index.
        name: What to call ``x`` in error messages.

    Returns:
        The :class:`SplitInputs`.

    Raises:
        ValueError: For a missing or unknown input name, a list of the wrong length, images
            alone for a model with several inputs, or another input of the wrong shape or with
            a number of rows unlike the images'.
        TypeError: For another input that does not hold numbers.
    """
    names = [i.name for i in inputs]
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        unknown = [k for k in x if k not in names]
        if missing or unknown:
            what = f"has no input {missing[0]!r}" if missing else f"names {unknown[0]!r}"
            raise ValueError(f"{name} {what}; {_listing(inputs)}")
        values = [x[n] for n in names]
        labels = [f"{name}[{n!r}]" for n in names]
    elif len(inputs) <= 1:
        return SplitInputs(x)
    elif isinstance(x, tf.data.Dataset):
        raise ValueError(
            f"{name} is a tf.data.Dataset, but the model takes {len(inputs)} inputs {names}; "
            "pass arrays instead: a dict {name: array, …} or a list in that order"
        )
    elif isinstance(x, list | tuple) and len(x) == len(inputs):
        values = list(x)
        labels = [f"{name}[{i}] ({n!r})" for i, n in enumerate(names)]
    else:
        given = f"a list of {len(x)}" if isinstance(x, list | tuple) else type(x).__name__
        raise ValueError(f"{name} is {given}, but {_listing(inputs)}")
    if len(inputs) <= 1:
        return SplitInputs(values[0])
    images = values[position]
    rows = len(images) if hasattr(images, "__len__") else None
    others = []
    for k, (value, spec, label) in enumerate(zip(values, inputs, labels, strict=True)):
        if k == position:
            continue
        array = _other_input(value, spec, label)
        if rows is not None and len(array) != rows:
            raise ValueError(
                f"{label} has {len(array)} rows but the explained input {names[position]!r} has "
                f"{rows} images; give one row per image"
            )
        others.append(array)
    return SplitInputs(
        images, tuple(others), tuple(n for k, n in enumerate(names) if k != position), position
    )


def pad_batch(x: np.ndarray, size: int) -> np.ndarray:
    """Pads a batch with zero images up to ``size`` so compiled functions never retrace."""
    if len(x) == size:
        return x
    padding = np.zeros((size - len(x), *x.shape[1:]), dtype=x.dtype)
    return np.concatenate([x, padding])


__all__ = [
    "InputSpec",
    "SplitInputs",
    "as_array",
    "as_float_batch",
    "dataset_batches",
    "dataset_length",
    "pad_batch",
    "split_inputs",
]
