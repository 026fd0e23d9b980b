"""Walking and rebuilding functional/Sequential graphs with the same layers (nothing copied)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras


def model_outputs(model: keras.Model) -> list | None:
    """The symbolic outputs of a functional/sequential model; ``None`` for subclassed models."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    return list(outputs) if outputs else None


def inputs_of(model: keras.Model) -> object:
    """The model's symbolic inputs, unwrapped when single (avoids Keras' structure warning)."""
    inputs = model.inputs
    return inputs[0] if len(inputs) == 1 else inputs


def is_graph_model(layer: keras.Layer) -> bool:
    """Whether ``layer`` is a Sequential or functional model, whose graph can be walked."""
    if isinstance(layer, keras.Sequential):
        return True
    return isinstance(layer, keras.Model) and model_outputs(layer) is not None


def rebuild(graph: keras.Model, inputs: object, call: Callable[..., object]) -> object:
    """Applies ``graph``'s layers to ``inputs`` through ``call(layer, *args, **kwargs)``.

    ``keras.models.clone_model`` with an identity ``clone_function`` walks a functional graph
    without copying a layer, and its public ``call_function`` hook sees every call; a
    ``Sequential`` is a plain chain.
    """
    if isinstance(graph, keras.Sequential):
        for layer in graph.layers:
            inputs = call(layer, inputs)
        return inputs
    expected = graph.input  # clone_model wants exactly this structure ([x], x or a dict)
    if isinstance(expected, dict):  # inputs come in model.inputs order, the dict's flat order
        flat = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        inputs = keras.tree.pack_sequence_as(expected, flat)
    elif isinstance(expected, list) and not isinstance(inputs, list | tuple):
        inputs = [inputs]
    elif not isinstance(expected, list | tuple) and isinstance(inputs, list | tuple):
        (inputs,) = inputs
    clone = keras.models.clone_model(
        graph, input_tensors=inputs, clone_function=lambda layer: layer, call_function=call
    )
    outputs = list(clone.outputs)
    return outputs[0] if len(outputs) == 1 else outputs


def fresh_inputs(like: Any) -> Any:
    """New ``keras.Input`` s with the shapes and dtypes of the symbolic tensors ``like``."""
    if isinstance(like, list | tuple):
        return [fresh_inputs(t) for t in like]
    # The same name: a dict-input model's graph is rebuilt from inputs keyed by these names.
    return keras.Input(batch_shape=tuple(like.shape), dtype=like.dtype, name=like.name)


def check_graph_model(model: keras.Model) -> None:
    """Raises ``ValueError``, saying what to do, unless ``model``'s graph can be walked."""
    if isinstance(model, keras.Sequential):
        if not model.inputs:
            raise ValueError(f"Sequential model {model.name!r} is not built: call it once first")
    elif model_outputs(model) is None:
        raise ValueError(
            f"model {model.name!r} is subclassed: its layers are hidden in Python code, so no "
            "layer's activations can be exposed. Build it as a functional or Sequential model "
            "(the layers can be reused: keras.Model(inputs, layers_applied_to_inputs))"
        )
