"""Model surgery for explanation, done by building new models and never mutating the user's.

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
import tensorflow as tf

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


def _model_outputs(model: keras.Model) -> list | None:
    """The symbolic outputs of a functional/sequential model; ``None`` for subclassed models."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    return list(outputs) if outputs else None


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


def _inputs_of(model: keras.Model) -> object:
    """The model's symbolic inputs, unwrapped when single (avoids Keras' structure warning)."""
    inputs = model.inputs
    return inputs[0] if len(inputs) == 1 else inputs


def _without_activation(
    model: keras.Model, tensor: object, layer: keras.Layer
) -> tuple[keras.Model, Callable[[], None]]:
    """A new model from ``model.inputs`` to ``layer``'s pre-activation output."""
    if isinstance(layer, keras.layers.Softmax) or isinstance(layer, keras.layers.Activation):
        return keras.Model(_inputs_of(model), layer.input), lambda: None
    config = {**layer.get_config(), "activation": "linear", "name": f"{layer.name}_logits"}
    twin = type(layer).from_config(config)
    logits = twin(layer.input)

    def sync() -> None:
        twin.set_weights(layer.get_weights())

    sync()
    return keras.Model(_inputs_of(model), logits), sync


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

    outputs = _model_outputs(model)
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
        result = ExplainedModel(keras.Model(_inputs_of(model), tensor), None, index, lambda: None)
    else:
        # The user's model as it is. Not cached: the entry would keep its own weak key alive.
        return ExplainedModel(model, None, None, lambda: None)
    # Cached so the engine's compiled functions (keyed by this new model) are reused.
    per_model[key] = result
    return result


__all__ = ["SQUASHING_ACTIVATIONS", "ExplainedModel", "explained_model"]


# --- Spatial layers, including layers inside nested models -------------------------------------


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


def _is_graph_model(layer: keras.Layer) -> bool:
    """Whether ``layer`` is a Sequential or functional model, whose graph can be walked."""
    if isinstance(layer, keras.Sequential):
        return True
    return isinstance(layer, keras.Model) and _model_outputs(layer) is not None


def _rebuild(graph: keras.Model, inputs: object, call: Callable[..., object]) -> object:
    """Applies ``graph``'s layers to ``inputs`` through ``call(layer, *args, **kwargs)``.

    ``keras.models.clone_model`` with an identity ``clone_function`` walks a functional graph
    without copying a layer, and its public ``call_function`` hook sees every call; a
    ``Sequential`` is a plain chain.
    """
    if isinstance(graph, keras.Sequential):
        for layer in graph.layers:
            inputs = call(layer, inputs)
        return inputs
    expected = graph.input  # clone_model wants exactly this structure ([x] or x)
    if isinstance(expected, list) and not isinstance(inputs, list | tuple):
        inputs = [inputs]
    elif not isinstance(expected, list | tuple) and isinstance(inputs, list | tuple):
        (inputs,) = inputs
    clone = keras.models.clone_model(
        graph, input_tensors=inputs, clone_function=lambda layer: layer, call_function=call
    )
    outputs = list(clone.outputs)
    return outputs[0] if len(outputs) == 1 else outputs


def _fresh_inputs(like: object) -> object:
    """New ``keras.Input`` s with the shapes and dtypes of the symbolic tensors ``like``."""
    if isinstance(like, list | tuple):
        return [_fresh_inputs(t) for t in like]
    return keras.Input(batch_shape=tuple(like.shape), dtype=like.dtype)


def _output_shape(output: object) -> tuple | None:
    shape = getattr(output, "shape", None)
    return tuple(shape) if shape is not None else None


def _check_graph_model(model: keras.Model) -> None:
    if isinstance(model, keras.Sequential):
        if not model.inputs:
            raise ValueError(f"Sequential model {model.name!r} is not built: call it once first")
    elif _model_outputs(model) is None:
        raise ValueError(
            f"model {model.name!r} is subclassed: its layers are hidden in Python code, so no "
            "layer's activations can be exposed. Build it as a functional or Sequential model "
            "(the layers can be reused: keras.Model(inputs, layers_applied_to_inputs))"
        )


def _discover(model: keras.Model) -> list[_Found]:
    """Every layer call of ``model``, nested models opened, in execution order.

    The graphs are re-applied to new inputs only to see each call's output shape; nested models
    are walked on the tensors they are called with, then called as a whole, so the walk never
    builds a graph that would hold two layers of the same name.
    """
    found: list[_Found] = []

    def visit(graph: keras.Model, inputs: object, chain: tuple, prefix: str) -> object:
        def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
            if _is_graph_model(layer):
                visit(layer, args[0], (*chain, layer), f"{prefix}{layer.name}/")
                return layer(*args, **kwargs)
            output = layer(*args, **kwargs)
            found.append(_Found(f"{prefix}{layer.name}", layer, _output_shape(output), chain))
            return output

        return _rebuild(graph, inputs, call)

    _check_graph_model(model)
    visit(model, _fresh_inputs(model.inputs[0] if len(model.inputs) == 1 else model.inputs), (), "")
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

    inputs = _fresh_inputs(like)
    outputs = _rebuild(graph, inputs, call)
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
    wide = [c for c in spatial if (c.shape[1] or 2) * (c.shape[2] or 2) > 1]
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
    outputs = _model_outputs(model)
    if outputs is not None and len(outputs) != 1:
        raise ValueError(
            f"model has {len(outputs)} outputs; pass the model of "
            "explained_model(model, output=…), which has one"
        )
    calls = _layer_calls(model)
    chosen = _default_layer(calls) if layer is None else _named_layer(calls, layer)
    like = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    with tf.init_scope():
        two = _exposing_model(model, like, chosen.chain, chosen.layer)
    result = SpatialModel(two, chosen.layer, chosen.path)
    per_model[key] = result
    return result


# --- Guided back-propagation: the same layers, positive gradients only through ReLUs -----------


class PositiveGradientGate(keras.layers.Layer):
    """Identity on the way forward; lets only positive gradients through on the way back.

    Placed after a ReLU (fused ``activation="relu"`` or a ``ReLU``/``Activation`` layer), whose
    own gradient already keeps positions with a positive input, it turns the ReLU's backward pass
    into guided back-propagation's (Springenberg et al. 2015). Built with ``tf.custom_gradient``
    (public TensorFlow API); it has no weights.
    """

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        """Returns ``inputs`` unchanged, with a gradient clipped at zero from below."""

        @tf.custom_gradient
        def gate(x: tf.Tensor) -> tuple[tf.Tensor, Callable]:
            return tf.identity(x), tf.nn.relu

        return gate(inputs)


def _is_relu(layer: keras.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        config = layer.get_config()
        return not config.get("max_value") and not config.get("negative_slope")
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", None) == "relu"


def _guided_rebuild(graph: keras.Model, like: object) -> keras.Model:
    nested: dict[int, keras.Model] = {}

    def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
        if _is_graph_model(layer):
            if id(layer) not in nested:
                nested[id(layer)] = _guided_rebuild(layer, args[0])
            return nested[id(layer)](*args, **kwargs)
        output = layer(*args, **kwargs)
        return PositiveGradientGate()(output) if _is_relu(layer) else output

    inputs = _fresh_inputs(like)
    return keras.Model(inputs, _rebuild(graph, inputs, call))


_GUIDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def guided_model(model: keras.Model) -> keras.Model:
    """A new model computing the same outputs, whose ReLUs back-propagate guided gradients.

    After every ReLU (fused activations and ``ReLU``/``Activation("relu")`` layers, nested
    models included, each rebuilt as a new model around the same layers) a
    :class:`PositiveGradientGate` is inserted, so ``∂/∂x`` of the new model is guided
    back-propagation. Other activations keep their gradients. The user's model and layers are
    not modified and no weight is copied. Cached per model; safe to call while tracing.

    Args:
        model: A functional or Sequential model.

    Returns:
        The guided model.

    Raises:
        ValueError: For a subclassed or unbuilt model.
    """
    if model not in _GUIDED:
        _check_graph_model(model)
        like = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        with tf.init_scope():
            _GUIDED[model] = _guided_rebuild(model, like)
    return _GUIDED[model]


__all__ += [
    "PositiveGradientGate",
    "SpatialModel",
    "guided_model",
    "spatial_layers",
    "spatial_model",
]
