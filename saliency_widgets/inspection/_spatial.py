"""Exposing a spatial layer's activations next to the outputs, nested models included."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import keras
import tensorflow as tf

from saliency_widgets.inspection._fixed import through_fixed
from saliency_widgets.inspection._graph import (
    check_graph_model,
    fresh_inputs,
    inputs_of,
    is_graph_model,
    model_outputs,
    rebuild,
)


@dataclass(frozen=True)
class SpatialModel:
    """A model exposing a spatial activation next to the explained outputs.

    Attributes:
        model: A new model ``inputs -> (activations, outputs)``: the ``(B, h, w, c)`` output of
            the chosen layer and the ``(B, L)`` outputs of the model it was built from. It reuses
            that model's layers (same weights, nothing copied); each nested model on the way to
            the layer is replaced by a new model that also returns the activation, so the
            activation is connected to the outer inputs.
        layer: The chosen layer.
        path: Where the layer is: its name, prefixed by the names of the nested models that hold
            it (``"resnet50v2/post_relu"``).
    """

    model: keras.Model
    layer: keras.Layer
    path: str


@dataclass(frozen=True)
class _Found:
    """A layer call seen while walking a model: where it is and what it returns."""

    path: str
    layer: keras.Layer
    shape: tuple | None
    chain: tuple[keras.Model, ...]  # the nested models holding the layer, outermost first


def _output_shape(output: object) -> tuple | None:
    shape = getattr(output, "shape", None)
    return tuple(shape) if shape is not None else None


def _discover(model: keras.Model) -> list[_Found]:
    """Every layer call of ``model``, nested models opened, in execution order.

    The graphs are re-applied to new inputs only to see each call's output shape; nested models
    are walked on the tensors they are called with, then called as a whole, so the walk never
    builds a graph that would hold two layers of the same name.
    """
    found: list[_Found] = []

    def visit(graph: keras.Model, inputs: object, chain: tuple, prefix: str) -> object:
        def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
            if is_graph_model(layer):
                visit(layer, args[0], (*chain, layer), f"{prefix}{layer.name}/")
                return layer(*args, **kwargs)
            output = layer(*args, **kwargs)
            found.append(_Found(f"{prefix}{layer.name}", layer, _output_shape(output), chain))
            return output

        return rebuild(graph, inputs, call)

    check_graph_model(model)
    visit(model, fresh_inputs(inputs_of(model)), (), "")
    return found


def _exposing_model(
    graph: keras.Model, like: object, chain: tuple, target: keras.Layer
) -> keras.Model:
    """A new model ``inputs -> [target's activation, graph's outputs]``, same layers.

    ``chain`` lists the nested models between ``graph`` and ``target``: the first is replaced in
    ``graph`` by its own exposing model (built recursively), called with the same arguments
    (``training=False`` included), and the activation is taken from its first output.
    """
    captured: list = []
    child = chain[0] if chain else None
    exposing: list[keras.Model] = []

    def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
        if child is not None and layer is child:
            if not exposing:  # a nested model called several times is exposed once
                exposing.append(_exposing_model(child, args[0], chain[1:], target))
            activation, output = exposing[0](*args, **kwargs)
            captured.append(activation)
            return output
        output = layer(*args, **kwargs)
        if layer is target:
            captured.append(output)  # a shared layer: its last call wins
        return output

    inputs = fresh_inputs(like)
    outputs = rebuild(graph, inputs, call)
    return keras.Model(inputs, [captured[-1], outputs])


_FOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SPATIAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _layer_calls(model: keras.Model) -> list[_Found]:
    if model not in _FOUND:
        with tf.init_scope():  # Keras graphs are built eagerly even while a tf.function traces
            _FOUND[model] = _discover(model)
    return _FOUND[model]


def _is_spatial(found: _Found) -> bool:
    return found.shape is not None and len(found.shape) == 4


def _default_layer(calls: list[_Found]) -> _Found:
    """The last 4-D activation, preferring one that still has more than one position."""
    spatial = [c for c in calls if _is_spatial(c)]
    if not spatial:
        raise ValueError("the model has no layer with a 4-D (B, h, w, c) output")
    wide = [c for c in spatial if c.shape and (c.shape[1] or 2) * (c.shape[2] or 2) > 1]
    return (wide or spatial)[-1]


def _named_layer(calls: list[_Found], layer: str | keras.Layer) -> _Found:
    if isinstance(layer, keras.Layer):
        found = [c for c in calls if c.layer is layer]
        label = layer.name
    else:
        found = [c for c in calls if c.path == layer or c.path.endswith(f"/{layer}")]
        label = layer
    if not found:
        candidates = [c.path for c in calls if _is_spatial(c)][-8:]
        raise ValueError(
            f"layer {label!r} not found in the model; last spatial layers: {candidates}"
        )
    distinct = {c.path for c in found}
    if len(distinct) > 1:
        raise ValueError(f"layer {label!r} is ambiguous: {sorted(distinct)}; pass the full path")
    chosen = found[-1]
    if not _is_spatial(chosen):
        raise ValueError(
            f"layer {chosen.path!r} has output shape {chosen.shape}; expected (B, h, w, c)"
        )
    return chosen


def spatial_layers(model: keras.Model) -> list[str]:
    """Paths of the layers with 4-D ``(B, h, w, c)`` outputs, in call order, nested ones included.

    Args:
        model: A functional or Sequential model (e.g. the ``model`` of :func:`explained_model`).

    Returns:
        Layer paths accepted by :func:`spatial_model`, e.g. ``["conv1", …, "last_conv"]`` or
        ``[…, "resnet50v2/post_relu"]`` for a backbone nested in a Sequential.

    Raises:
        ValueError: For a subclassed or unbuilt model.
    """
    return list(dict.fromkeys(c.path for c in _layer_calls(model) if _is_spatial(c)))


@through_fixed
def spatial_model(model: keras.Model, layer: str | keras.Layer | None = None) -> SpatialModel:
    """A new two-output model ``inputs -> (activations of a spatial layer, outputs)``.

    What CAM methods need. The layer may sit inside nested models (a backbone inside a
    ``Sequential``, a functional model inside a functional model, at any depth): each nested
    model on the way is replaced, in a rebuilt copy of its parent's graph, by a new model that
    also returns the activation, so the activation is connected to the outer inputs and "Graph
    disconnected" cannot happen. Layers are reused, never copied or modified, and the rebuilt
    graphs hold the same layers as the originals, so layer names never clash. Results are cached
    per model, and building is lifted out of any ``tf.function`` being traced, so methods can
    call this freely.

    The outputs are ``model``'s as they are: pass the ``model`` of :func:`explained_model` (as
    :func:`saliency_widgets.explain` does) to get pre-softmax logits.

    Args:
        model: A functional or Sequential model with one output.
        layer: ``None`` for the last layer with a 4-D output (the last activation before global
            pooling or flatten, with more than one position when there is one); a layer name,
            a path ``"backbone/layer"`` for a nested layer (a bare name is searched in nested
            models too), or a layer object.

    Returns:
        A :class:`SpatialModel`.

    Raises:
        ValueError: For a subclassed or multi-output model, or a layer that is missing,
            ambiguous or not 4-D.

    Example:
        >>> import keras
        >>> backbone = keras.Sequential(
        ...     [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, name="features")],
        ...     name="backbone")
        >>> model = keras.Sequential(
        ...     [backbone, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
        >>> spatial = spatial_model(model)
        >>> spatial.path, [tuple(o.shape) for o in spatial.model.outputs]
        ('backbone/features', [(None, 6, 6, 4), (None, 2)])
    """
    key = layer if isinstance(layer, str | None) else id(layer)
    per_model = _SPATIAL.setdefault(model, {})
    if key in per_model:
        return per_model[key]
    outputs = model_outputs(model)
    if outputs is not None and len(outputs) != 1:
        raise ValueError(
            f"model has {len(outputs)} outputs; pass the model of "
            "explained_model(model, output=…), which has one"
        )
    calls = _layer_calls(model)
    chosen = _default_layer(calls) if layer is None else _named_layer(calls, layer)
    like = inputs_of(model)
    with tf.init_scope():
        two = _exposing_model(model, like, chosen.chain, chosen.layer)
    result = SpatialModel(two, chosen.layer, chosen.path)
    per_model[key] = result
    return result


@dataclass(frozen=True)
class HeadModel:
    """The part of a model after a spatial layer, fed a replacement for the layer's activations.

    Attributes:
        model: A new model ``activations -> outputs`` computing the outputs from given
            ``(B, h, w, c)`` activations of the layer instead of its own; when a layer after
            the cut also reads a tensor computed before it (a skip connection around the
            layer), ``[inputs, activations] -> outputs``, recomputing that part from the inputs.
        takes_inputs: Whether ``model`` needs the inputs as well (the second form).
        layer: The layer whose activations are replaced.
        path: Its path, as in :class:`SpatialModel`.
    """

    model: keras.Model
    takes_inputs: bool
    layer: keras.Layer
    path: str


def _replacing_model(
    graph: keras.Model, like: object, chain: tuple, target: keras.Layer
) -> tuple[keras.Model, bool]:
    """``graph`` from ``target``'s activations to its outputs (see :class:`HeadModel`).

    The rebuilt graph passes the activation through a new ``Identity`` layer, the cut, and the
    head is the model from the cut's tensor (a Keras 3 model may start at an intermediate
    tensor: only what lies after it runs). A nested model on the way (``chain``) is replaced by
    its exposing model (for the activation, so the cut stays connected to the inputs) followed
    by its own head, built the same way. The images are an input only when the head reads them.
    """
    cut: list = []
    child = chain[0] if chain else None

    def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
        if child is not None and layer is child:
            activation, _ = _exposing_model(child, args[0], chain[1:], target)(*args, **kwargs)
            cut.append(keras.layers.Identity()(activation))
            head, takes_inputs = _replacing_model(child, args[0], chain[1:], target)
            return head([args[0], cut[-1]] if takes_inputs else cut[-1], **kwargs)
        output = layer(*args, **kwargs)
        if layer is target:
            cut.append(keras.layers.Identity()(output))
            return cut[-1]
        return output

    inputs = fresh_inputs(like)
    outputs = rebuild(graph, inputs, call)
    # A model cannot output its own input tensor: the layer's activation itself as an output
    # (a backbone ending at the layer) goes through one more identity.
    if isinstance(outputs, list):
        outputs = [keras.layers.Identity()(o) if o is cut[-1] else o for o in outputs]
    elif outputs is cut[-1]:
        outputs = keras.layers.Identity()(outputs)
    try:
        return keras.Model(cut[-1], outputs), False
    except ValueError:  # "not connected": the head also reads tensors from before the cut
        return keras.Model([inputs, cut[-1]], outputs), True


_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def head_model(model: keras.Model, layer: str | keras.Layer | None = None) -> HeadModel:
    """A new model computing the outputs from replaced activations of a spatial layer.

    What perturbation CAMs need (Ablation-CAM zeroes one channel of the activations at a time
    and asks what the outputs become): only the layers after the cut run, so all the ablations
    of a batch cost forward passes of the head, not of the whole model. The layer is chosen as
    by :func:`spatial_model` (nested backbones included); layers are reused, never copied or
    modified. Cached per model, and built outside any ``tf.function`` being traced.

    Args:
        model: A functional or Sequential model with one output.
        layer: As for :func:`spatial_model`.

    Returns:
        A :class:`HeadModel`.

    Raises:
        ValueError: As :func:`spatial_model` does, and for a layer called more than once (a
            shared layer has no single activation to replace).

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
        ...                           keras.layers.GlobalAveragePooling2D(),
        ...                           keras.layers.Dense(2)])
        >>> head = head_model(model)
        >>> head.takes_inputs, tuple(head.model.inputs[0].shape)
        (False, (None, 6, 6, 4))
    """
    key = layer if isinstance(layer, str | None) else id(layer)
    per_model = _HEADS.setdefault(model, {})
    if key in per_model:
        return per_model[key]
    chosen_path = spatial_model(model, layer).path  # the same checks and the same layer
    calls = _layer_calls(model)
    chosen = next(c for c in calls if c.path == chosen_path)
    count = sum(1 for c in calls if c.layer is chosen.layer)
    if count > 1:
        raise ValueError(
            f"layer {chosen.path!r} is called {count} times; its activations can only be "
            "replaced in a layer called once"
        )
    with tf.init_scope():
        head, takes_inputs = _replacing_model(model, inputs_of(model), chosen.chain, chosen.layer)
    result = HeadModel(head, takes_inputs, chosen.layer, chosen.path)
    per_model[key] = result
    return result
