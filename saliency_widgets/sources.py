"""From what a user names to what every face needs: the model, its inputs, names and labels.

A grid, an explorer, the Sphinx directives and the command line all start from the same
sources: a model (a Keras model, a ``.keras``/``.h5`` file or a ``module:callable`` reference),
images (arrays, files, folders, glob patterns or a reference), a preprocessing function (or a
reference to one) and class names. :func:`load_sources` is the one path from those to arrays:
it loads what is named (:mod:`saliency_widgets._named_inputs`), fits the images to the model's
input (:mod:`saliency_widgets._image_files`, sizes read by
:func:`saliency_widgets._model_shape.model_shape`), preprocesses them once and checks what
belongs together, so that every error names the input at fault.

Example:
    >>> from saliency_widgets import zoo
    >>> sources = load_sources(
    ...     "saliency_widgets.zoo:load_shapes_model",
    ...     "saliency_widgets.zoo:load_samples(4)",
    ...     preprocess=zoo.preprocess,
    ...     class_names="saliency_widgets.zoo:class_names",
    ... )
    >>> sources.inputs.shape, sources.labels.tolist(), sources.class_names[:2]
    ((4, 64, 64, 3), [0, 1, 2, 3], ('circle', 'square'))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_widgets._held_inputs import HeldInputs, ModelInputs, held_inputs
from saliency_widgets._image_files import ImageSet, fit_images
from saliency_widgets._messages import InputError, describe
from saliency_widgets._model_shape import model_shape
from saliency_widgets._named_inputs import (
    MODELS,
    ModelCache,
    function,
    load_class_names,
    load_images,
)


@dataclass(frozen=True)
class Sources:
    """Everything a face needs to explain and show a set of images.

    Attributes:
        model: The Keras model (never modified).
        images: ``(N, H, W, C)`` images as shown, at the model's input size: ``uint8`` for files
            and ``uint8`` arrays, the caller's values otherwise.
        inputs: ``(N, H, W, C)`` float32 model inputs: ``preprocess(images)``, or ``images``
            when there is no preprocessing.
        names: A short name per image (file stem, or ``"#i"``).
        class_names: Names by class index (empty when none were given).
        labels: The true class of each image, or ``None``.
        masks: ``(N, H, W)`` object masks, or ``None``.
        held: A model's inputs other than the images (one row per image), or ``None``.
    """

    model: Any
    images: np.ndarray
    inputs: np.ndarray
    names: tuple[str, ...]
    class_names: tuple[str, ...] = ()
    labels: np.ndarray | None = None
    masks: np.ndarray | None = None
    held: HeldInputs | None = None

    def __len__(self) -> int:
        return len(self.images)

    def model_x(self, rows: slice | Sequence[int] | np.ndarray = slice(None)) -> Any:
        """What :func:`saliency_widgets.explain` takes for the images ``rows``.

        Args:
            rows: Which images (a slice or indices; all by default).

        Returns:
            ``inputs[rows]``, or for a model with several inputs a dict by input name with the
            other inputs' same rows beside them.
        """
        picked = rows if isinstance(rows, slice) else np.asarray(rows, dtype=np.intp)
        if self.held is None:
            return self.inputs[picked]
        return self.held.feed(self.inputs[picked], rows)


def checked_class_names(names: Sequence[str], units: int | None) -> tuple[str, ...]:
    """Class names as strings, checked against the model's number of outputs when known.

    Args:
        names: Names by class index (empty: none given, always fine).
        units: The model's outputs per image, or ``None`` when not known yet.

    Returns:
        The names.

    Raises:
        InputError: If there are names but not ``units`` of them.
    """
    if names and units is not None and len(names) != units:
        raise InputError(f"class-names: {len(names)} names for a model with {units} outputs")
    return tuple(str(name) for name in names)


def _per_image(value: object, count: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    array = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    if array.ndim == 0 or len(array) != count:
        raise InputError(f"{name}: expected one per image ({count}), got shape {array.shape}")
    return array


def load_sources(
    model: Any,
    images: object,
    *,
    preprocess: Callable[[np.ndarray], Any] | str | None = None,
    class_names: str | Sequence[str] | None = None,
    labels: Sequence[int] | np.ndarray | None = None,
    masks: np.ndarray | None = None,
    base: Path | None = None,
    models: ModelCache = MODELS,
    model_inputs: ModelInputs = None,
) -> Sources:
    """Loads, fits and preprocesses: the one path from named or given inputs to arrays.

    Args:
        model: A Keras model, or a ``.keras``/``.h5`` file or ``module:callable`` reference
            (loaded through ``models``, once per process).
        images: Anything :func:`saliency_widgets._named_inputs.load_images` takes: arrays,
            files, folders, glob patterns, a reference, or an object with ``images`` (and
            ``labels``/``masks``, which are kept unless given here).
        preprocess: ``f(images) -> model inputs`` on the fitted ``(N, H, W, C)`` batch, or a
            reference to it (``"mypkg:preprocess(mode='torch')"``); ``None``: the images are
            the inputs.
        class_names: A sequence, a reference, a ``.json``/``.txt`` file or a comma list.
        labels: The true class of each image.
        masks: ``(N, H, W)`` object masks.
        base: Folder that relative paths are resolved against.
        models: The model cache used for a model given by name.
        model_inputs: For a model with several inputs, the ones other than the images: a dict
            of arrays by input name (one row per image, or one row for all), a function
            ``images -> dict`` (called with the fitted images, as shown), or a
            ``module:callable`` reference (see :mod:`saliency_widgets._held_inputs`).

    Returns:
        The :class:`Sources`.

    Raises:
        InputError: For any input that cannot be loaded or does not fit the others, naming
            it, or a preprocessing function that fails.
    """
    names = load_class_names(class_names, base)
    transform = function(preprocess) if isinstance(preprocess, str) else preprocess
    found: ImageSet = load_images(images, base)
    loaded = models.get(model, base) if isinstance(model, str | Path) else model
    shape = model_shape(loaded)
    try:
        units = shape.units()
    except ValueError:  # a multi-output model: the engine names the problem when it matters
        units = None
    batch = fit_images(found, shape.size, shape.channels)
    try:
        x = transform(batch) if transform is not None else batch
        inputs = np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float32)
    except Exception as error:
        problem = describe(error, limit=300)
        raise InputError(f"preprocess failed on the images: {problem}") from error
    return Sources(
        model=loaded,
        images=batch,
        inputs=inputs,
        names=found.names,
        class_names=checked_class_names(names, units),
        labels=_per_image(found.labels if labels is None else labels, len(batch), "labels"),
        masks=_per_image(found.masks if masks is None else masks, len(batch), "masks"),
        held=held_inputs(loaded, model_inputs, batch),
    )


__all__ = ["Sources", "checked_class_names", "load_sources"]
