"""What a model takes and gives, read from its declared shapes: the one reader of them.

The engine checks inputs against it, the faces fit images to it and count classes with it. It
reads ``model.inputs`` (names, shapes, dtypes) and ``model.outputs[0].shape`` and nothing else, so
it needs no TensorFlow import of its own; a subclassed model that was never called has neither
(``None``). A model with several inputs explains one of them (:func:`explained_position`): the
only image-shaped one unless ``explained_input=`` names another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class ModelShape:
    """A model's declared input and output shapes, batch axis included.

    Attributes:
        input: The explained input's shape, e.g. ``(None, 64, 64, 3)``; ``None`` when unknown.
        output: The first output's shape, e.g. ``(None, 6)``; ``None`` when unknown.
    """

    input: Shape | None = None
    output: Shape | None = None

    def image(self) -> tuple[int | None, int | None, int | None]:
        """``(H, W, C)`` the model takes, ``None`` where any size goes (all when unknown).

        Raises:
            ValueError: If the model's input is not a batch of images ``(B, H, W, C)``.
        """
        if self.input is None:
            return None, None, None
        if len(self.input) != 4:
            raise ValueError(
                f"model takes inputs of shape {self.input}; saliency maps need image inputs "
                "shaped (B, H, W, C)"
            )
        height, width, channels = self.input[1:]
        return height, width, channels

    def units(self) -> int | None:
        """How many scores the model gives per image (``None`` when unknown).

        Raises:
            ValueError: If the output is not ``(B, L)`` class scores.
        """
        if self.output is None:
            return None
        if len(self.output) != 2:
            raise ValueError(
                f"the explained output has shape {self.output}; expected (B, L) class scores "
                "(pass output=… for a multi-output model)"
            )
        return self.output[1]

    @property
    def size(self) -> tuple[int, int] | None:
        """``(H, W)`` of image inputs when the model fixes it, else ``None`` (never raises)."""
        if self.input is None or len(self.input) != 4 or None in self.input[1:3]:
            return None
        return int(self.input[1]), int(self.input[2])  # type: ignore[arg-type]

    @property
    def channels(self) -> int | None:
        """Channels of image inputs when the model fixes them, else ``None`` (never raises)."""
        if self.input is None or len(self.input) != 4:
            return None
        return self.input[3]


@dataclass(frozen=True)
class ModelInput:
    """One declared input of a model.

    Attributes:
        name: The input's name (``keras.Input(name=…)``), the key of a dict of inputs.
        shape: Its shape, batch axis included.
        dtype: Its dtype name, e.g. ``"float32"`` or ``"int32"``.
    """

    name: str
    shape: Shape
    dtype: str

    @property
    def floating(self) -> bool:
        """Whether the input takes real numbers (gradients and perturbations need them)."""
        return "float" in self.dtype

    @property
    def image_shaped(self) -> bool:
        """Whether the input is a batch of float images ``(B, H, W, C)``."""
        return len(self.shape) == 4 and self.floating


def _dimension(d: object) -> int | None:
    return None if d is None else int(d)  # type: ignore[call-overload]


def model_inputs(model: Any) -> tuple[ModelInput, ...]:
    """The declared inputs of a Keras model, in the order of ``model.inputs`` (empty if unknown).

    Args:
        model: Any object; a Keras model's ``inputs`` are read.

    Returns:
        One :class:`ModelInput` per input.
    """
    try:  # an unbuilt subclassed model raises on the attribute itself
        tensors = list(model.inputs or ())
        return tuple(
            ModelInput(
                str(getattr(t, "name", None) or f"input_{i}"),
                tuple(_dimension(d) for d in t.shape),
                str(getattr(t.dtype, "name", t.dtype)),
            )
            for i, t in enumerate(tensors)
        )
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return ()


def _listed(inputs: tuple[ModelInput, ...]) -> str:
    return ", ".join(f"{i.name!r} {i.shape} {i.dtype}" for i in inputs)


def explained_position(
    inputs: tuple[ModelInput, ...], explained_input: str | int | None = None
) -> int:
    """Which of the model's inputs the maps are about, checked before anything is traced.

    Args:
        inputs: The model's inputs (:func:`model_inputs`); empty when unknown.
        explained_input: ``None`` for the only image-shaped input (or the only input), an
            input's name, or its index in ``model.inputs``.

    Returns:
        The explained input's index in ``inputs`` (``0`` when the inputs are unknown).

    Raises:
        ValueError: For an unknown name or index, several image-shaped inputs and no
            ``explained_input``, or an explained input that does not take real numbers (token
            ids fed to an ``Embedding`` layer have no gradient).
        TypeError: For an ``explained_input`` that is neither a name nor an index.
    """
    names = [i.name for i in inputs]
    if explained_input is None and len(inputs) <= 1:
        position = 0
    elif explained_input is None:
        images = [k for k, i in enumerate(inputs) if i.image_shaped]
        if len(images) != 1:
            kind = "several of them are" if images else "none of them is"
            raise ValueError(
                f"the model takes {len(inputs)} inputs ({_listed(inputs)}) and {kind} a batch "
                "of float images (B, H, W, C); pass explained_input=<name> to say which one "
                f"the maps are about (one of {names})"
            )
        position = images[0]
    elif isinstance(explained_input, str):
        if explained_input not in names:
            raise ValueError(
                f"explained_input={explained_input!r} is not an input of the model; its inputs "
                f"are {names}"
            )
        position = names.index(explained_input)
    elif isinstance(explained_input, int) and not isinstance(explained_input, bool):
        if inputs and not 0 <= explained_input < len(inputs):
            raise ValueError(
                f"explained_input={explained_input}: the model has {len(inputs)} inputs {names}"
            )
        position = explained_input
    else:
        kind = type(explained_input).__name__
        raise TypeError(f"explained_input must be an input's name or index, got {kind}")
    if inputs and not inputs[position].floating:
        chosen = inputs[position]
        others = [i.name for i in inputs if i.floating and i is not chosen]
        hint = f" (explained_input= one of {others})" if others else ""
        raise ValueError(
            f"input {chosen.name!r} of the model takes {chosen.dtype} values (integer ids, e.g. "
            "tokens fed to an Embedding layer): they have no gradient and cannot be perturbed "
            f"smoothly, so no saliency map can be made for it. Explain a float input{hint}, or "
            "build a model that takes the embeddings (float) as its input"
        )
    return position


def _declared(model: Any, attribute: str, index: int = 0) -> Shape | None:
    try:  # an unbuilt subclassed model raises on the attribute itself
        shape = getattr(model, attribute)[index].shape
        return tuple(None if d is None else int(d) for d in shape)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None


def _image_position(model: Any, explained_input: str | int | None) -> int:
    """The explained input's index; the first one when the choice is not (yet) decidable."""
    try:
        return explained_position(model_inputs(model), explained_input)
    except (TypeError, ValueError):  # the engine raises these, naming the argument
        return 0


def model_shape(model: Any, explained_input: str | int | None = None) -> ModelShape:
    """The declared shapes of a Keras model (``None`` where it has none yet).

    Args:
        model: Any object; a Keras model's ``inputs``/``outputs`` are read.
        explained_input: Which input ``input`` describes for a model with several (see
            :func:`explained_position`; the first one when that cannot decide). Never raises.

    Returns:
        The :class:`ModelShape`.

    Example:
        >>> from saliency_widgets import zoo
        >>> shape = model_shape(zoo.load_shapes_model())
        >>> shape.image(), shape.units()
        ((64, 64, 3), 8)
    """
    index = _image_position(model, explained_input)
    return ModelShape(_declared(model, "inputs", index), _declared(model, "outputs"))


__all__ = ["ModelInput", "ModelShape", "explained_position", "model_inputs", "model_shape"]
