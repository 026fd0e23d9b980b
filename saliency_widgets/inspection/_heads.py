"""Explaining logits, not probabilities: a new model without the output's softmax/sigmoid.

Explaining a softmax (or sigmoid) output saturates gradients: a confident class has a probability
near 1 whose gradient is near 0. The seed library asked users to set
``model.layers[-1].activation = "linear"``; :func:`explained_model` instead builds a new model that
ends at the pre-activation logits and leaves the user's model as it was.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras

from saliency_widgets.inspection._graph import inputs_of, model_outputs

SQUASHING_ACTIVATIONS = ("softmax", "sigmoid")
"""Output activations that :func:`explained_model` removes."""


@dataclass(frozen=True)
class ExplainedModel:
    """A model ready to be explained, and how it was derived from the user's model.

    Attributes:
        model: The model whose outputs are explained (may be the user's model itself).
        removed_activation: ``"softmax"``/``"sigmoid"`` when the output activation was removed,
            else ``None``. Renderers use it to turn logits back into probabilities.
        output: Which output of a multi-output model is explained (index), ``None`` for one.
        sync: Copies the user's current weights into any layer the surgery had to duplicate; the
            engine calls it before each run so the explanation never uses stale weights.
    """

    model: keras.Model
    removed_activation: str | None
    output: int | None
    sync: Callable[[], None]


def _activation_name(layer: keras.Layer) -> str | None:
    """Name of a squashing activation applied by ``layer`` as its last step, else ``None``."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "")
    return name if name in SQUASHING_ACTIVATIONS else None


def _producing_layer(model: keras.Model, tensor: object) -> keras.Layer | None:
    """The layer of ``model`` whose (single) output is ``tensor``."""
    for layer in reversed(model.layers):
        try:
            if layer.output is tensor:
                return layer
        except (AttributeError, ValueError):
            continue
    return None


def _output_index(model: keras.Model, outputs: list, output: int | str | None) -> int | None:
    if len(outputs) == 1:
        if output not in (None, 0, getattr(model, "output_names", [None])[0]):
            raise ValueError(f"output={output!r}: the model has a single output")
        return None
    names = list(getattr(model, "output_names", []) or [])
    if output is None:
        raise ValueError(
            f"model has {len(outputs)} outputs {names}; pass output=<index or name> to say "
            "which one to explain"
        )
    if isinstance(output, str):
        if output not in names:
            raise ValueError(f"output={output!r} is not one of the model's outputs {names}")
        return names.index(output)
    if isinstance(output, bool) or not isinstance(output, int) or not 0 <= output < len(outputs):
        raise ValueError(f"output={output!r}: expected an index in [0, {len(outputs)}) or a name")
    return output


def _without_activation(
    model: keras.Model, tensor: object, layer: keras.Layer
) -> tuple[keras.Model, Callable[[], None]]:
    """A new model from ``model.inputs`` to ``layer``'s pre-activation output."""
    if isinstance(layer, keras.layers.Softmax) or isinstance(layer, keras.layers.Activation):
        return keras.Model(inputs_of(model), layer.input), lambda: None
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_logits"}
    twin = type(layer).from_config(config)
    logits = twin(layer.input)

    def sync() -> None:
        # Variable to variable, on the device: no round trip through numpy (get_weights and
        # set_weights cost 1.5 ms a call, half the engine's fixed overhead on a small model).
        for mine, theirs in zip(twin.weights, layer.weights, strict=True):
            mine.assign(theirs.value)

    sync()
    return keras.Model(inputs_of(model), logits), sync


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def explained_model(
    model: keras.Model, output: int | str | None = None, logits: bool = True
) -> ExplainedModel:
    """Returns the model to differentiate: one output, pre-activation logits when asked.

    The user's model is never modified. When the explained output ends in a softmax or sigmoid
    (as an ``activation=`` of its last layer, or a ``Softmax``/``Activation`` layer) and
    ``logits`` is true, a new model ending at the pre-activation values is built; its last layer
    is a copy of the user's, re-synchronised with the user's weights before every explanation.
    Results are cached per model object.

    Args:
        model: A Keras model.
        output: For a multi-output model, the index or name of the output to explain.
        logits: Explain pre-activation logits instead of squashed probabilities.

    Returns:
        An :class:`ExplainedModel`.

    Raises:
        TypeError: If ``model`` is not a ``keras.Model``.
        ValueError: If ``output`` is missing for a multi-output model, or does not exist.

    Example:
        >>> import keras
        >>> inputs = keras.Input((4,))
        >>> model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
        >>> explained_model(model).removed_activation
        'softmax'
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a keras.Model (functional, Sequential or subclassed), got "
            f"{type(model).__name__}; wrap a plain function in a keras.Model first"
        )
    key = (output, logits)
    per_model = _CACHE.setdefault(model, {})
    if key in per_model:
        return per_model[key]

    outputs = model_outputs(model)
    if outputs is None:  # subclassed or unbuilt: explain it as it is
        if output is not None:
            raise ValueError("output= needs a functional or Sequential model with known outputs")
        return ExplainedModel(model, None, None, lambda: None)
    index = _output_index(model, outputs, output)
    tensor = outputs[index or 0]
    layer = _producing_layer(model, tensor)
    activation = _activation_name(layer) if (layer is not None and logits) else None
    if activation is not None:
        new_model, sync = _without_activation(model, tensor, layer)
        result = ExplainedModel(new_model, activation, index, sync)
    elif index is not None:
        result = ExplainedModel(keras.Model(inputs_of(model), tensor), None, index, lambda: None)
    else:
        # The user's model as it is. Not cached: the entry would keep its own weak key alive.
        return ExplainedModel(model, None, None, lambda: None)
    # Cached so the engine's compiled functions (keyed by this new model) are reused.
    per_model[key] = result
    return result
