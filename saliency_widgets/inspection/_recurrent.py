"""Recurrent image models: where a layer's activations stop being a map of the image.

A recurrent layer (an LSTM over image rows, a ConvLSTM over strips or frames) folds part of the
image into time steps: its output, and every activation after it, is laid out by step, not by
pixel. Gradient and perturbation methods see the whole model and work; a CAM of such a layer
(or of one after it) would be drawn over the image as if it were spatial, and LRP has no rule
for a recurrent cell. These methods refuse the model, naming the recurrent layer, before
anything is traced.
"""

from __future__ import annotations

from collections.abc import Iterator

import keras

from saliency_widgets.inspection._graph import is_graph_model, model_outputs

MODEL_AGNOSTIC = "gradients, integrated_gradients, smoothgrad, occlusion or rise"
"""Methods that explain any differentiable (or any) model, recurrent ones included."""


def _is_recurrent(layer: keras.Layer) -> bool:
    return isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional)


def _layers(model: keras.Model, prefix: str = "") -> Iterator[tuple[str, keras.Layer]]:
    """Every layer of ``model`` with its path, nested models opened."""
    for layer in getattr(model, "layers", ()):
        if is_graph_model(layer):
            yield from _layers(layer, f"{prefix}{layer.name}/")
        else:
            yield f"{prefix}{layer.name}", layer


def recurrent_layers(model: keras.Model) -> list[str]:
    """Paths and kinds of ``model``'s recurrent layers, e.g. ``["rows_lstm (LSTM)"]``.

    Args:
        model: A Keras model (a subclassed one hides its layers: none are found).

    Returns:
        One ``"path (Class)"`` per recurrent layer, nested models included.
    """
    return [
        f"{path!r} ({type(layer).__name__})"
        for path, layer in _layers(model)
        if _is_recurrent(layer)
    ]


def _upstream(model: keras.Model, activation: object) -> keras.Model | None:
    """The part of ``model`` that computes ``activation`` (Keras keeps only the layers used)."""
    try:
        return keras.Model(model.inputs, activation)
    except ValueError:
        return None


def check_cam_layer(model: keras.Model, spatial: keras.Model | None, parameter: str) -> None:
    """Refuses a CAM layer that is recurrent or comes after a recurrent layer.

    Args:
        model: The explained model.
        spatial: Its exposing model ``inputs -> [activation, outputs]`` for the chosen layer, or
            ``None`` when no spatial layer was found.
        parameter: The parameter's name, for the message (``"layer"``).

    Raises:
        ValueError: Naming the recurrent layer and what to use instead.
    """
    found = recurrent_layers(model)
    if not found:
        return
    outputs = model_outputs(spatial) if spatial is not None else None
    if spatial is not None and outputs:
        upstream = _upstream(spatial, outputs[0])
        if upstream is not None:
            found = recurrent_layers(upstream)
            if not found:
                return  # the layer is before any recurrence: a map of the image
    raise ValueError(
        f"the model is recurrent over the image (layer {found[0]}): from that layer on, "
        "activations are laid out by time step, not by pixel, so no CAM of them is a map of "
        f"the image. Pass {parameter}= a spatial layer before it, or use a method that "
        f"explains any model ({MODEL_AGNOSTIC})"
    )


def check_relevance_layers(model: keras.Model) -> None:
    """Refuses LRP for a recurrent model, naming the layer and what to use instead.

    Raises:
        ValueError: If ``model`` has a recurrent layer.
    """
    found = recurrent_layers(model)
    if found:
        raise ValueError(
            f"LRP has no rule for the recurrent layer {found[0]}: a recurrent cell's gates "
            f"multiply activations, which LRP's rules do not cover; use {MODEL_AGNOSTIC}"
        )


__all__ = ["MODEL_AGNOSTIC", "check_cam_layer", "check_relevance_layers", "recurrent_layers"]
