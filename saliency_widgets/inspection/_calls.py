"""Which layer a CAM reads: every layer call of a model, what each returns, and the choice.

A CAM layer has a 4-D ``(B, h, w, c)`` output, or a token output that folds into a grid
(:mod:`~saliency_widgets.inspection._tokens`). The default is the last of them; the
:mod:`~saliency_widgets.inspection._spatial` surgery builds the models that expose it.
"""

from __future__ import annotations

import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import keras
import tensorflow as tf

from saliency_widgets.inspection._graph import (
    check_graph_model,
    fresh_inputs,
    inputs_of,
    is_graph_model,
    rebuild,
)
from saliency_widgets.inspection._tokens import TokenGrid, TokenLayer, token_grid

RECURRENT = (keras.layers.RNN, keras.layers.Bidirectional)
"""Layers whose outputs are time steps: no token layer comes from or after them."""


@dataclass(frozen=True)
class LayerCall:
    """A layer call seen while walking a model: where it is and what it returns."""

    path: str
    layer: keras.Layer
    shape: tuple | None
    chain: tuple[keras.Model, ...]  # the nested models holding the layer, outermost first


def _output_shape(output: object) -> tuple | None:
    shape = getattr(output, "shape", None)
    return tuple(shape) if shape is not None else None


def _discover(model: keras.Model) -> list[LayerCall]:
    """Every layer call of ``model``, nested models opened, in execution order.

    The graphs are re-applied to new inputs only to see each call's output shape; nested models
    are walked on the tensors they are called with, then called as a whole, so the walk never
    builds a graph that would hold two layers of the same name.
    """
    found: list[LayerCall] = []

    def visit(graph: keras.Model, inputs: object, chain: tuple, prefix: str) -> object:
        def call(layer: keras.Layer, *args: object, **kwargs: object) -> object:
            if is_graph_model(layer):
                visit(layer, args[0], (*chain, layer), f"{prefix}{layer.name}/")
                return layer(*args, **kwargs)
            output = layer(*args, **kwargs)
            found.append(LayerCall(f"{prefix}{layer.name}", layer, _output_shape(output), chain))
            return output

        return rebuild(graph, inputs, call)

    check_graph_model(model)
    visit(model, fresh_inputs(inputs_of(model)), (), "")
    return found


_FOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def layer_calls(model: keras.Model) -> list[LayerCall]:
    if model not in _FOUND:
        with tf.init_scope():  # Keras graphs are built eagerly even while a tf.function traces
            _FOUND[model] = _discover(model)
    return _FOUND[model]


def _is_spatial(found: LayerCall) -> bool:
    return found.shape is not None and len(found.shape) == 4


def fold_of(calls: list[LayerCall], found: LayerCall, spec: TokenLayer | None) -> TokenGrid | None:
    """How ``found``'s output folds into a grid: ``None`` for 4-D, raises if it cannot."""
    if _is_spatial(found):
        return None
    before = calls[: calls.index(found)]
    recurrent = [c for c in (*before, found) if isinstance(c.layer, RECURRENT)]
    if recurrent:
        raise ValueError(
            f"layer {found.path!r} has output shape {found.shape}, after the recurrent layer "
            f"{recurrent[0].path!r}: its steps are not a grid of patches; choose a layer before it"
        )
    grids = [c.shape[1:3] for c in before if c.shape is not None and _is_spatial(c)]
    patches = (int(grids[-1][0]), int(grids[-1][1])) if grids and None not in grids[-1] else None
    return token_grid(found.path, found.shape, spec, patches)


def is_cam_layer(calls: list[LayerCall], found: LayerCall, spec: TokenLayer | None) -> bool:
    """Whether ``found`` is a CAM layer: 4-D, or tokens that fold into a grid."""
    try:
        fold_of(calls, found, spec)
    except ValueError:
        return False
    return True


def _positions(calls: list[LayerCall], found: LayerCall, spec: TokenLayer | None) -> int:
    grid = fold_of(calls, found, spec)
    if grid is not None:
        return grid.height * grid.width
    shape = found.shape or (None, 2, 2)
    return (shape[1] or 2) * (shape[2] or 2)


def default_layers(calls: list[LayerCall], spec: TokenLayer | None = None) -> list[LayerCall]:
    """The 4-D or token activations, the default last: those with more than one position if any.

    In a vision transformer the last is the last token layer before the head (the final
    normalisation), not the patch embedding, which is the only 4-D layer.
    """
    spatial = [c for c in calls if is_cam_layer(calls, c, spec)]
    if not spatial:
        tokens = [c for c in calls if c.shape is not None and len(c.shape) == 3]
        if tokens:
            fold_of(calls, tokens[-1], spec)  # raises, naming the last token layer
        raise ValueError("the model has no layer with a 4-D (B, h, w, c) or token output")
    wide = [c for c in spatial if _positions(calls, c, spec) > 1]
    return wide or spatial


def named_layer(
    calls: list[LayerCall], layer: str | keras.Layer, spec: TokenLayer | None = None
) -> LayerCall:
    if isinstance(layer, keras.Layer):
        found = [c for c in calls if c.layer is layer]
        label = layer.name
    else:
        found = [c for c in calls if c.path == layer or c.path.endswith(f"/{layer}")]
        label = layer
    if not found:
        candidates = [c.path for c in calls if is_cam_layer(calls, c, spec)][-8:]
        raise ValueError(
            f"layer {label!r} not found in the model; last spatial layers: {candidates}"
        )
    distinct = {c.path for c in found}
    if len(distinct) > 1:
        raise ValueError(f"layer {label!r} is ambiguous: {sorted(distinct)}; pass the full path")
    chosen = found[-1]
    fold_of(calls, chosen, spec)  # raises, naming the layer and what to pass
    return chosen


@tf.autograph.experimental.do_not_convert
def reaches_outputs(two: keras.Model, like: Any) -> bool:
    """Whether the exposed activation of ``two`` (``inputs -> [activation, outputs]``) matters.

    It does when the gradient of a random weighting of the outputs is not all zero at an input
    drawn at random (``True`` when no input can be drawn: unknown sizes, integer inputs).

    Eager, even while a ``tf.function`` traces: then in a thread of its own, because
    ``tf.init_scope`` (the way out of the trace) also stops every gradient tape of its thread.
    """
    if not tf.executing_eagerly():
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(reaches_outputs, two, like).result()
    tensors = like if isinstance(like, list) else [like]
    shapes = [tuple(t.shape)[1:] for t in tensors]
    if any(None in shape for shape in shapes) or any(
        not str(t.dtype).startswith("float") for t in tensors
    ):
        return True
    sample = [tf.random.stateless_normal((1, *shape), (7, i)) for i, shape in enumerate(shapes)]
    with tf.GradientTape() as tape:
        tape.watch(sample)
        activation, outputs = two(sample if isinstance(like, list) else sample[0], training=False)
        # A random weighting, not the plain sum: a softmax head's outputs sum to 1 whatever the
        # input, so the gradient of their sum is zero everywhere.
        total = tf.add_n(
            [
                tf.reduce_sum(out * tf.random.stateless_normal(tf.shape(out), (11, i)))
                for i, out in enumerate(tf.nest.flatten(outputs))
            ]
        )
    gradient = tape.gradient(total, activation)
    return gradient is not None and bool(tf.reduce_any(gradient != 0))
