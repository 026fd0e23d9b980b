"""What a model takes and gives, read from its declared shapes: the one reader of them.

The engine checks inputs against it, the faces fit images to it and count classes with it. It
reads ``model.inputs[0].shape`` and ``model.outputs[0].shape`` and nothing else, so it needs no
TensorFlow import of its own; a subclassed model that was never called has neither (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class ModelShape:
    """A model's declared input and output shapes, batch axis included.

    Attributes:
        input: The first input's shape, e.g. ``(None, 64, 64, 3)``; ``None`` when unknown.
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


def _declared(model: Any, attribute: str) -> Shape | None:
    try:  # an unbuilt subclassed model raises on the attribute itself
        shape = getattr(model, attribute)[0].shape
        return tuple(None if d is None else int(d) for d in shape)
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None


def model_shape(model: Any) -> ModelShape:
    """The declared shapes of a Keras model (``None`` where it has none yet).

    Args:
        model: Any object; a Keras model's ``inputs``/``outputs`` are read.

    Returns:
        The :class:`ModelShape`.

    Example:
        >>> from saliency_widgets import zoo
        >>> shape = model_shape(zoo.load_shapes_model())
        >>> shape.image(), shape.units()
        ((64, 64, 3), 8)
    """
    return ModelShape(_declared(model, "inputs"), _declared(model, "outputs"))


__all__ = ["ModelShape", "model_shape"]
