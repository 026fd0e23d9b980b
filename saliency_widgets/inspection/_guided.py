"""Guided back-propagation: the same layers, only positive gradients back through ReLUs."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import keras
import tensorflow as tf

from saliency_widgets.inspection._fixed import through_fixed
from saliency_widgets.inspection._graph import (
    check_graph_model,
    fresh_inputs,
    inputs_of,
    is_graph_model,
    rebuild,
)


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
        if is_graph_model(layer):
            if id(layer) not in nested:
                nested[id(layer)] = _guided_rebuild(layer, args[0])
            return nested[id(layer)](*args, **kwargs)
        output = layer(*args, **kwargs)
        return PositiveGradientGate()(output) if _is_relu(layer) else output

    inputs = fresh_inputs(like)
    return keras.Model(inputs, rebuild(graph, inputs, call))


_GUIDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@through_fixed
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
        check_graph_model(model)
        like = inputs_of(model)
        with tf.init_scope():
            _GUIDED[model] = _guided_rebuild(model, like)
    return _GUIDED[model]
