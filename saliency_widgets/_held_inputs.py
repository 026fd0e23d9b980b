"""A model's other inputs for the faces: fixed values or a function of the images, held fixed.

The grid, the explorer, the widget, the directives and the command line show images; a model
with several inputs also needs its other inputs (metadata, a second view …). They come from
``model_inputs=``: a dict of arrays by input name (one row per image, or one row for all), a
function ``images -> dict`` called once with the images as the face shows them, or a
``module:callable`` reference to either (``:model-inputs:`` in a directive, ``--model-inputs``
on the command line). :func:`held_inputs` checks them against the model, and
:meth:`HeldInputs.feed` gives the engine the inputs of any rows, as ``explain`` takes them.

Example:
    >>> import keras, numpy as np
    >>> image, meta = keras.Input((8, 8, 3), name="img"), keras.Input((2,), name="meta")
    >>> pooled = keras.layers.GlobalAveragePooling2D()(image)
    >>> model = keras.Model([image, meta], keras.layers.Concatenate()([pooled, meta]))
    >>> held = held_inputs(model, {"meta": np.array([1.0, 2.0])}, np.zeros((3, 8, 8, 3)))
    >>> sorted(held.feed(np.zeros((3, 8, 8, 3)), slice(0, 2)))
    ['img', 'meta']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets._messages import InputError, describe
from saliency_widgets._model_shape import explained_position, model_inputs
from saliency_widgets._named_inputs import function, is_reference, resolve_reference

ModelInputs = Mapping[str, Any] | Callable[[np.ndarray], Mapping[str, Any]] | str | None
"""What ``model_inputs=`` takes (see the module's docstring)."""

OPTION_HINT = (
    "model_inputs= (a dict of arrays by input name, or a function images -> dict) in Python, "
    ":model-inputs: module:callable in a directive, --model-inputs module:callable on the "
    "command line"
)
"""Where a face's user gives a model's other inputs, for the messages that ask for them."""


@dataclass(frozen=True)
class HeldInputs:
    """The inputs other than the images, one row per image, by input name.

    Attributes:
        explained: The name of the input that takes the images.
        values: The other inputs by name, each with one row per image.
    """

    explained: str
    values: Mapping[str, np.ndarray]

    def feed(self, images: Any, rows: slice | Sequence[int] | np.ndarray) -> dict[str, Any]:
        """The model's inputs for ``images``, which are the face's images ``rows``.

        Args:
            images: The (preprocessed) images of those rows.
            rows: Which of the face's images they are (a slice or indices).

        Returns:
            A dict by input name, as :func:`saliency_widgets.explain` takes it.
        """
        picked = rows if isinstance(rows, slice) else np.asarray(rows, dtype=np.intp)
        return {self.explained: images, **{k: v[picked] for k, v in self.values.items()}}


def _given(given: ModelInputs, images: np.ndarray | Sequence[np.ndarray]) -> Any:
    if isinstance(given, str):
        if not is_reference(given):
            raise InputError(f"model-inputs: {given!r} is not a module:callable reference")
        target, _, _ = resolve_reference(given)
        given = function(given) if callable(target) else target
    if callable(given):  # images as shown: an array, or a list when their sizes differ
        try:
            return given(images)  # type: ignore[arg-type]
        except Exception as error:
            problem = describe(error, limit=300)
            raise InputError(
                f"model-inputs: the function failed on the images: {problem}"
            ) from error
    return given


def held_inputs(
    model: Any, given: ModelInputs, images: np.ndarray | Sequence[np.ndarray]
) -> HeldInputs | None:
    """Checks a face's ``model_inputs`` against the model.

    Args:
        model: The Keras model.
        given: ``model_inputs=`` as the user gave it (see :data:`ModelInputs`).
        images: The face's images as shown (``(N, H, W, C)``, or a list when their sizes
            differ): what a function is called with.

    Returns:
        The :class:`HeldInputs`, or ``None`` for a model with one input and nothing given.

    Raises:
        InputError: For a model with several inputs and nothing given (naming the options), a
            value given for a one-input model, a missing or unknown input name, or a value
            whose rows or shape do not fit.
    """
    declared = model_inputs(model)
    if len(declared) <= 1:
        if given is not None:
            raise InputError("model-inputs: the model takes one input (the images); remove it")
        return None
    names = [d.name for d in declared]
    if given is None:
        raise InputError(
            f"the model takes {len(declared)} inputs {names}; give the ones other than the "
            f"images with {OPTION_HINT}"
        )
    try:
        explained = declared[explained_position(declared)]
    except ValueError as error:
        raise InputError(f"model-inputs: {error}") from None
    values = _given(given, images)
    if not isinstance(values, Mapping):
        raise InputError(
            f"model-inputs: expected a dict by input name, got {type(values).__name__}"
        )
    count = len(images)
    held: dict[str, np.ndarray] = {}
    for spec in declared:
        if spec is explained:
            continue
        if spec.name not in values:
            raise InputError(
                f"model-inputs: no value for input {spec.name!r}; the model takes {names} and "
                f"the images go to {explained.name!r}"
            )
        array = np.asarray(values[spec.name])
        if array.ndim == len(spec.shape) - 1:  # one row for every image
            array = np.repeat(array[None], count, axis=0)
        if array.ndim != len(spec.shape) or len(array) != count:
            raise InputError(
                f"model-inputs: {spec.name!r} has shape {array.shape}; expected {count} rows "
                f"(one per image) of input shape {spec.shape[1:]}, or one row for all"
            )
        held[spec.name] = array
    unknown = sorted(set(values) - set(held))
    if unknown:
        raise InputError(f"model-inputs: {unknown[0]!r} is not one of the model's other inputs")
    return HeldInputs(explained.name, held)


__all__ = ["OPTION_HINT", "HeldInputs", "ModelInputs", "held_inputs"]
