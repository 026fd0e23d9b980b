"""Exposing a spatial layer's activations next to the outputs, nested models included."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TypeAlias

import keras
import tensorflow as tf

from saliency_widgets.inspection._calls import (
    LayerCall,
    default_layers,
    fold_of,
    is_cam_layer,
    layer_calls,
    named_layer,
    reaches_outputs,
)
from saliency_widgets.inspection._fixed import through_fixed
from saliency_widgets.inspection._graph import fresh_inputs, inputs_of, model_outputs, rebuild
from saliency_widgets.inspection._tokens import FoldTokens, TokenGrid, TokenLayer, UnfoldTokens

LayerChoice: TypeAlias = "str | keras.Layer | TokenLayer | None"
"""What ``layer=`` may be: found (``None``), a name or path, a layer, or a :class:`TokenLayer`."""


@dataclass(frozen=True)
class SpatialModel:
    """A model exposing a spatial activation next to the explained outputs.

    Attributes:
        model: A new model ``inputs -> (activations, outputs)``: the ``(B, h, w, c)`` output of
            the chosen layer and the ``(B, L)`` outputs of the model it was built from. It reuses
            that model's layers (same weights, nothing copied); each nested model on the way to
            the layer is replaced by a new model that also returns the activation, so the
            activation is connected to the outer inputs. For a token layer the activation is
            the patch tokens folded into their grid (class / register tokens left out), and the
            model reads the tokens back from that grid, so gradients with respect to it are
            the gradients with respect to the patch tokens.
        layer: The chosen layer.
        path: Where the layer is: its name, prefixed by the names of the nested models that hold
            it (``"resnet50v2/post_relu"``).
        tokens: How a token layer's output was folded, ``None`` for a 4-D layer.
    """

    model: keras.Model
    layer: keras.Layer
    path: str
    tokens: TokenGrid | None = None


def _exposing_model(
    graph: keras.Model,
    like: object,
    chain: tuple,
    target: keras.Layer,
    tokens: TokenGrid | None = None,
) -> keras.Model:
    """A new model ``inputs -> [target's activation, graph's outputs]``, same layers.

    ``chain`` lists the nested models between ``graph`` and ``target``: the first is replaced in
    ``graph`` by its own exposing model (built recursively), called with the same arguments
    (``training=False`` included), and the activation is taken from its first output. With
    ``tokens``, the activation is the folded grid, and the layers after ``target`` read the
    tokens unfolded from it (the same values, now downstream of the grid).
    """
    captured: list = []
    child = chain[0] if chain else None
    exposing: list[keras.Model] = []

    def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
        if child is not None and layer is child:
            if not exposing:  # a nested model called several times is exposed once
                exposing.append(_exposing_model(child, args[0], chain[1:], target, tokens))
            activation, output = exposing[0](*args, **kwargs)
            captured.append(activation)
            return output
        output = layer(*args, **kwargs)
        if layer is target:  # a shared layer: its last call wins
            if tokens is None:
                captured.append(output)
                return output
            prefix, grid = FoldTokens(tokens)(output)
            captured.append(grid)
            return UnfoldTokens()([prefix, grid])
        return output

    inputs = fresh_inputs(like)
    outputs = rebuild(graph, inputs, call)
    return keras.Model(inputs, [captured[-1], outputs])


_SPATIAL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def spatial_layers(model: keras.Model) -> list[str]:
    """Paths of the CAM layers, in call order, nested ones included.

    A CAM layer has a 4-D ``(B, h, w, c)`` output, or a token output ``(B, p + h·w, d)`` whose
    grid is found without help (see :class:`TokenLayer`).

    Args:
        model: A functional or Sequential model (e.g. the ``model`` of :func:`explained_model`).

    Returns:
        Layer paths accepted by :func:`spatial_model`, e.g. ``["conv1", …, "last_conv"]`` or
        ``[…, "resnet50v2/post_relu"]`` for a backbone nested in a Sequential.

    Raises:
        ValueError: For a subclassed or unbuilt model.
    """
    calls = layer_calls(model)
    return list(dict.fromkeys(c.path for c in calls if is_cam_layer(calls, c, None)))


def _cache_key(layer: LayerChoice) -> object:
    if isinstance(layer, TokenLayer):
        return ("tokens", _cache_key(layer.layer), layer.grid, layer.prefix_tokens)
    return layer if isinstance(layer, str | None) else id(layer)


def _exposed(
    model: keras.Model, calls: list[LayerCall], layer: LayerChoice
) -> tuple[LayerCall, TokenGrid | None, keras.Model]:
    """The chosen layer call, how its tokens fold (``None`` for 4-D) and its exposing model.

    By default, a token layer whose patch tokens no longer reach the outputs is passed over:
    when the head reads the class token, the patch tokens after the last attention are read by
    nothing (their gradient is zero and every gradient CAM would be blank), so the default is
    the last token layer before that, the input of the last block's attention, the layer
    pytorch-grad-cam advises for a ViT (``blocks[-1].norm1``).
    """
    spec = layer if isinstance(layer, TokenLayer) else None
    name = spec.layer if spec is not None else layer
    like = inputs_of(model)
    if name is not None:
        chosen = named_layer(calls, name, spec)
        tokens = fold_of(calls, chosen, spec)
        with tf.init_scope():
            return chosen, tokens, _exposing_model(model, like, chosen.chain, chosen.layer, tokens)
    candidates = default_layers(calls, spec)
    for chosen in reversed(candidates):
        tokens = fold_of(calls, chosen, spec)
        with tf.init_scope():
            two = _exposing_model(model, like, chosen.chain, chosen.layer, tokens)
        if tokens is None or reaches_outputs(two, like):
            return chosen, tokens, two
    chosen = candidates[-1]  # nothing reaches the outputs: the last, as for a CNN
    tokens = fold_of(calls, chosen, spec)
    with tf.init_scope():
        return chosen, tokens, _exposing_model(model, like, chosen.chain, chosen.layer, tokens)


@through_fixed
def spatial_model(model: keras.Model, layer: LayerChoice = None) -> SpatialModel:
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

    A token layer (``(B, p + h·w, d)``, a vision transformer's block) is a CAM layer too: its
    ``p`` leading class / register tokens are left out and the patch tokens folded into their
    ``(h, w)`` grid, found as :class:`TokenLayer` says or given by one. Chosen by default, it is
    the last token layer whose patch tokens still reach the outputs: when the head reads the
    class token, nothing reads the patch tokens after the last attention (every gradient CAM
    would be blank there), so the default is the input of the last block's attention.

    Args:
        model: A functional or Sequential model with one output.
        layer: ``None`` for the last layer with a 4-D or token output (the last activation
            before global pooling or flatten, with more than one position when there is one;
            in a vision transformer the last token layer whose patch tokens reach the
            outputs); a layer name, a
            path ``"backbone/layer"`` for a nested layer (a bare name is searched in nested
            models too), a layer object, or a :class:`TokenLayer` giving a token layer's grid.

    Returns:
        A :class:`SpatialModel`.

    Raises:
        ValueError: For a subclassed or multi-output model, or a layer that is missing,
            ambiguous, neither 4-D nor tokens, or tokens whose grid is not found or does not
            add up (the message names the layer, the token count and what to pass).

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
    key = _cache_key(layer)
    per_model = _SPATIAL.setdefault(model, {})
    if key in per_model:
        return per_model[key]
    outputs = model_outputs(model)
    if outputs is not None and len(outputs) != 1:
        raise ValueError(
            f"model has {len(outputs)} outputs; pass the model of "
            "explained_model(model, output=…), which has one"
        )
    chosen, tokens, two = _exposed(model, layer_calls(model), layer)
    result = SpatialModel(two, chosen.layer, chosen.path, tokens)
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
            A token layer's head takes the folded grid and always the inputs as well: the class
            / register tokens, which are not in the grid, are recomputed from the inputs and put
            back in front of the replaced patch tokens.
        takes_inputs: Whether ``model`` needs the inputs as well (the second form).
        layer: The layer whose activations are replaced.
        path: Its path, as in :class:`SpatialModel`.
    """

    model: keras.Model
    takes_inputs: bool
    layer: keras.Layer
    path: str


def _replacing_model(
    graph: keras.Model,
    like: object,
    chain: tuple,
    target: keras.Layer,
    tokens: TokenGrid | None = None,
) -> tuple[keras.Model, bool]:
    """``graph`` from ``target``'s activations to its outputs (see :class:`HeadModel`).

    The rebuilt graph passes the activation through a new ``Identity`` layer, the cut, and the
    head is the model from the cut's tensor (a Keras 3 model may start at an intermediate
    tensor: only what lies after it runs). A nested model on the way (``chain``) is replaced by
    its exposing model (for the activation, so the cut stays connected to the inputs) followed
    by its own head, built the same way. The images are an input only when the head reads them.
    With ``tokens`` the cut is the folded grid and the prefix tokens come from the inputs.
    """
    cut: list = []
    child = chain[0] if chain else None

    def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
        if child is not None and layer is child:
            exposing = _exposing_model(child, args[0], chain[1:], target, tokens)
            activation, _ = exposing(*args, **kwargs)
            cut.append(keras.layers.Identity()(activation))
            head, takes_inputs = _replacing_model(child, args[0], chain[1:], target, tokens)
            return head([args[0], cut[-1]] if takes_inputs else cut[-1], **kwargs)
        output = layer(*args, **kwargs)
        if layer is target and tokens is None:
            cut.append(keras.layers.Identity()(output))
            return cut[-1]
        if layer is target and tokens is not None:
            prefix, grid = FoldTokens(tokens)(output)
            cut.append(keras.layers.Identity()(grid))
            return UnfoldTokens()([prefix, cut[-1]])
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


def head_model(model: keras.Model, layer: LayerChoice = None) -> HeadModel:
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
    key = _cache_key(layer)
    per_model = _HEADS.setdefault(model, {})
    if key in per_model:
        return per_model[key]
    spatial = spatial_model(model, layer)  # the same checks and the same layer
    calls = layer_calls(model)
    chosen = next(c for c in calls if c.path == spatial.path)
    count = sum(1 for c in calls if c.layer is chosen.layer)
    if count > 1:
        raise ValueError(
            f"layer {chosen.path!r} is called {count} times; its activations can only be "
            "replaced in a layer called once"
        )
    with tf.init_scope():
        head, takes_inputs = _replacing_model(
            model, inputs_of(model), chosen.chain, chosen.layer, spatial.tokens
        )
    result = HeadModel(head, takes_inputs, chosen.layer, chosen.path)
    per_model[key] = result
    return result
