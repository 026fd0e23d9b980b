"""A model with several inputs seen as a model of one: the other inputs held at given values.

Every method takes ``model(images) -> logits``. For a model with several inputs the engine wraps
it in :class:`FixedInputs`, which feeds the images as the explained input and the batch's other
inputs unchanged. Methods that run the model on more rows than images (noisy copies, path
points, masked copies) say how their rows are laid out, with :func:`repeated` (``K`` rows per
image, consecutive) or :func:`tiled` (the batch ``K`` times), and the other inputs follow the
same layout; on a one-input model both return the model as it is. The inspection builders
(:func:`~saliency_widgets.inspection.spatial_model` and the others) build their new models from
the wrapped model and hold the same inputs fixed in them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import keras
import tensorflow as tf


class FixedInputs:
    """``model`` called with ``x`` as input ``position`` and ``others`` as the rest.

    Attributes:
        model: The Keras model with several inputs (never modified).
        position: The explained input's index in ``model.inputs``.
        others: The other inputs' values for the batch, in ``model.inputs`` order (the explained
            one left out), each with the batch's rows.
    """

    def __init__(self, model: keras.Model, position: int, others: Sequence[tf.Tensor]) -> None:
        self.model = model
        self.position = position
        self.others = tuple(others)

    def feed(self, x: tf.Tensor) -> list[tf.Tensor]:
        """The model's inputs, as a list in ``model.inputs`` order, with ``x`` explained."""
        fed = list(self.others)
        fed.insert(self.position, x)
        return fed

    def __call__(self, x: tf.Tensor, training: bool = False) -> Any:
        """The model's outputs for images ``x`` (as many rows as the other inputs)."""
        structure = self.model.input  # a dict-input model takes a dict: same flat order
        fed = self.feed(x)
        if isinstance(structure, dict):
            return self.model(keras.tree.pack_sequence_as(structure, fed), training=training)
        return self.model(fed, training=training)

    def rebind(self, model: keras.Model) -> FixedInputs:
        """The same other inputs, fed to a model built from the same inputs."""
        return FixedInputs(model, self.position, self.others)

    def with_rows(self, layout: Callable[[tf.Tensor], tf.Tensor]) -> FixedInputs:
        """The same model, its other inputs laid out as the images are."""
        return FixedInputs(self.model, self.position, [layout(o) for o in self.others])

    @property
    def name(self) -> str:
        """The wrapped model's name (error messages read it)."""
        return str(self.model.name)


M = TypeVar("M")


def repeated(model: M, k: int | tf.Tensor) -> M:
    """``model`` for rows laid out ``(B, K)``: each image's ``K`` rows consecutive.

    Args:
        model: A model, or :class:`FixedInputs`.
        k: Rows per image.

    Returns:
        The model as it is, or its other inputs each repeated ``k`` times row by row.
    """
    if isinstance(model, FixedInputs):
        return model.with_rows(lambda o: tf.repeat(o, k, axis=0))  # type: ignore[return-value]
    return model


def tiled(model: M, k: int | tf.Tensor) -> M:
    """``model`` for rows laid out ``(K, B)``: the whole batch ``K`` times.

    Args:
        model: A model, or :class:`FixedInputs`.
        k: Copies of the batch.

    Returns:
        The model as it is, or its other inputs each tiled ``k`` times.
    """
    if isinstance(model, FixedInputs):
        return model.with_rows(  # type: ignore[return-value]
            lambda o: tf.tile(o, tf.concat([[k], tf.ones([o.shape.rank - 1], tf.int32)], 0))
        )
    return model


def fed(model: Any, x: tf.Tensor) -> Any:
    """What ``model.inputs`` receives for images ``x``: ``x`` itself, or the list of inputs."""
    return model.feed(x) if isinstance(model, FixedInputs) else x


def unwrapped(model: Any) -> Any:
    """The Keras model itself (a :class:`FixedInputs`' wrapped model)."""
    return model.model if isinstance(model, FixedInputs) else model


R = TypeVar("R")


def through_fixed(build: Callable[..., R]) -> Callable[..., R]:
    """Lets an inspection builder take :class:`FixedInputs`: it builds from the wrapped model.

    A result with a ``model`` attribute (a dataclass such as ``SpatialModel``) gets that model
    rebound to the same other inputs; a Keras model result is rebound itself.
    """

    @functools.wraps(build)
    def wrapper(model: object, *args: Any, **kwargs: Any) -> R:
        if not isinstance(model, FixedInputs):
            return build(model, *args, **kwargs)
        result = build(model.model, *args, **kwargs)
        if isinstance(result, keras.Model):
            return model.rebind(result)  # type: ignore[return-value]
        rebound = model.rebind(result.model)  # type: ignore[attr-defined]
        return dataclasses.replace(result, model=rebound)  # type: ignore[type-var]

    return wrapper


__all__ = ["FixedInputs", "fed", "repeated", "through_fixed", "tiled", "unwrapped"]
