"""Layer-wise relevance propagation: the same layers, with LRP rules as their backward passes.

:func:`relevance_model` rebuilds a functional or Sequential model around the user's own layers
(nothing copied, nothing modified) and wraps each layer call so that its forward value is the
layer's own and its backward pass carries *relevance* instead of a gradient
(``tf.custom_gradient``): the gradient of the new model's output with respect to any tensor is
that tensor's relevance. Dense, Conv2D and DepthwiseConv2D get the rule of their kind (a batch
normalisation right after one is folded into its weights, as zennit's canonizer does); average
pooling and ``Add`` split relevance in proportion to their inputs; max pooling, reshaping,
permuting, padding, cropping and concatenation route it with their own gradient; activations
(and batch normalisations not preceded by a linear layer, as zennit does) pass it through.
Any other layer is refused, by name and class, before anything is traced.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

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
from saliency_widgets.inspection._rules import (
    Rule,
    linear_relevance,
    proportional_relevance,
    tie,
)

L = keras.layers
LINEAR = (L.Dense, L.Conv2D, L.DepthwiseConv2D)
ROUTING = (
    L.InputLayer,
    L.Flatten,
    L.Reshape,
    L.Permute,
    L.ZeroPadding2D,
    L.Cropping2D,
    L.Concatenate,
    L.MaxPooling2D,
    L.GlobalMaxPooling2D,
    L.Dropout,
    L.SpatialDropout2D,
    L.GaussianNoise,
    L.GaussianDropout,
    L.Identity,
)
"""Layers whose own gradient moves relevance where it belongs (each output is one input)."""
PROPORTIONAL = (L.Add, L.AveragePooling2D, L.GlobalAveragePooling2D)
PASSING = (L.ReLU, L.LeakyReLU, L.ELU, L.PReLU, L.Softmax, L.Activation, L.BatchNormalization)
"""Layers whose output relevance is passed to their input unchanged."""


@dataclass(frozen=True)
class Rules:
    """Which rule each kind of layer gets.

    Attributes:
        dense: Rule of ``Dense`` layers.
        conv: Rule of ``Conv2D`` and ``DepthwiseConv2D`` layers.
        first: Rule of the first linear layers (those that see the input through routing
            layers only), or ``None`` for their kind's rule.
    """

    dense: Rule
    conv: Rule
    first: Rule | None = None


def _linear_map(layer: keras.Layer) -> Any:
    """``f(x, W, b)`` of a Dense, Conv2D or DepthwiseConv2D layer, as Keras computes it."""
    if isinstance(layer, L.Dense):
        return lambda x, w, b: keras.ops.matmul(x, w) + (0 if b is None else b)
    config = layer.get_config()
    options = {
        "strides": config["strides"],
        "padding": config["padding"],
        "data_format": config["data_format"],
        "dilation_rate": config["dilation_rate"],
    }
    op = keras.ops.depthwise_conv if isinstance(layer, L.DepthwiseConv2D) else keras.ops.conv
    return lambda x, w, b: op(x, w, **options) + (0 if b is None else b)


def _folded(layer: keras.Layer, norm: keras.Layer | None) -> tuple[tf.Tensor, tf.Tensor | None]:
    """The layer's kernel and bias, with a following batch normalisation folded in."""
    kernel = tf.convert_to_tensor(layer.kernel)  # (h, w, C, m) for a depthwise one
    bias = tf.convert_to_tensor(layer.bias) if layer.use_bias else None
    if norm is None:
        return kernel, bias
    scale = tf.math.rsqrt(tf.convert_to_tensor(norm.moving_variance) + norm.epsilon)
    if norm.scale:
        scale = scale * tf.convert_to_tensor(norm.gamma)
    shift = -tf.convert_to_tensor(norm.moving_mean) * scale
    if norm.center:
        shift = shift + tf.convert_to_tensor(norm.beta)
    if isinstance(layer, L.DepthwiseConv2D):  # (h, w, C, m): output channel c·m + j
        kernel = kernel * tf.reshape(scale, [1, 1, kernel.shape[2], kernel.shape[3]])
    else:
        kernel = kernel * scale
    return kernel, shift if bias is None else bias * scale + shift


class RelevanceLayer(keras.layers.Layer):
    """One of the user's layers, called as it is, whose backward pass is an LRP rule.

    Args:
        layer: The user's layer (used, never modified).
        rule: For Dense/Conv2D/DepthwiseConv2D, their rule; ``None`` for the others.
        norm: A batch normalisation applied right after ``layer`` and folded into its rule.
        epsilon: Stabiliser of the proportional split (``Add``, average pooling): a fixed
            1e-6 as zennit's ``Norm`` rule, not the ε rule's ε (which damps linear layers).
    """

    def __init__(
        self,
        layer: keras.Layer,
        rule: Rule | None = None,
        norm: keras.Layer | None = None,
        epsilon: float = 1e-6,
        **kwargs: Any,
    ) -> None:
        super().__init__(name=f"lrp_{layer.name}" + (f"_{norm.name}" if norm else ""), **kwargs)
        self.inner, self.rule, self.norm, self.epsilon = layer, rule, norm, epsilon

    def call(self, inputs: Any, **kwargs: Any) -> tf.Tensor:
        """The layer's output, with the rule's backward pass."""
        layer = self.inner
        output = layer(inputs, **kwargs)
        tensors = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        if isinstance(layer, LINEAR):
            x = tensors[0]
            pre = self._pre_activation(x)
            if self.norm is not None:
                output = self.norm(output, training=False)
            kernel, bias = _folded(layer, self.norm)
            f, rule, bounds = _linear_map(layer), self.rule, self._bounds(x)
            assert rule is not None
            relevant = tie(
                [x],
                output if pre is None else pre,
                lambda r: [linear_relevance(rule, f, x, kernel, bias, r, bounds)],
            )
            if pre is None:
                return relevant
            return tie([relevant], output, lambda r: [r])  # a fused activation passes it on

        if isinstance(layer, PROPORTIONAL):

            def forward(*xs: tf.Tensor) -> tf.Tensor:
                return layer(list(xs) if len(xs) > 1 else xs[0])

            return tie(
                tensors, output, lambda r: proportional_relevance(tensors, forward, r, self.epsilon)
            )
        return tie(tensors, output, lambda r: [r])  # activations and lone normalisations

    def _pre_activation(self, x: tf.Tensor) -> tf.Tensor | None:
        """The linear output before a fused activation, or ``None`` without one."""
        activation = getattr(self.inner, "activation", None)
        if activation is None or activation is keras.activations.linear:
            return None
        kernel, bias = _folded(self.inner, None)
        return _linear_map(self.inner)(x, kernel, bias)

    def _bounds(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor] | None:
        if self.rule is None or self.rule.name != "zbox":
            return None
        axes = list(range(1, len(x.shape)))
        return tf.reduce_min(x, axes, keepdims=True), tf.reduce_max(x, axes, keepdims=True)


def _refuse(layer: keras.Layer) -> None:
    raise ValueError(
        f"LRP has no rule for layer {layer.name!r} ({type(layer).__name__}); it handles "
        "Dense, Conv2D, DepthwiseConv2D, BatchNormalization, average/max pooling (global too), "
        "Add, Concatenate, Flatten/Reshape/Permute, padding, cropping, dropout and activations"
    )


def _check(layer: keras.Layer) -> None:
    if isinstance(layer, LINEAR + PROPORTIONAL + ROUTING + PASSING):
        if isinstance(layer, L.Conv2D) and (
            layer.get_config().get("groups", 1) != 1 or type(layer) is not L.Conv2D
        ):
            _refuse(layer)  # grouped, separable or transposed convolutions
        return
    _refuse(layer)


def check_layers(model: keras.Model) -> None:
    """Raises ``ValueError`` naming the first layer (nested ones included) LRP cannot handle."""
    check_graph_model(model)
    for layer in model.layers:
        if is_graph_model(layer):
            check_layers(layer)
        else:
            _check(layer)


def _rebuild(graph: keras.Model, like: object, rules: Rules, raw: bool) -> keras.Model:
    made: dict[int, tuple[keras.Layer, object, bool]] = {}
    plain: set[int] = set()  # tensors that are the input seen through routing layers only
    nested: dict[int, keras.Model] = {}

    def call(layer: keras.Layer, *args: Any, **kwargs: Any) -> object:
        first = args[0] if not isinstance(args[0], list | tuple) else args[0][0]
        seen_raw = id(first) in plain
        if is_graph_model(layer):
            if id(layer) not in nested:
                nested[id(layer)] = _rebuild(layer, args[0], rules, seen_raw)
            return nested[id(layer)](*args, **kwargs)
        if isinstance(layer, LINEAR):
            rule = rules.dense if isinstance(layer, L.Dense) else rules.conv
            if seen_raw and rules.first is not None:
                rule = rules.first
            output = RelevanceLayer(layer, rule)(*args, **kwargs)
            made[id(output)] = (layer, args[0], seen_raw)
            return output
        source = made.get(id(first))
        if isinstance(layer, L.BatchNormalization) and source is not None:
            linear, x, was_raw = source
            activation = getattr(linear, "activation", None)
            if activation in (None, keras.activations.linear):
                rule = rules.dense if isinstance(linear, L.Dense) else rules.conv
                if was_raw and rules.first is not None:
                    rule = rules.first
                return RelevanceLayer(linear, rule, norm=layer)(x)
        if isinstance(layer, ROUTING):
            output = layer(*args, **kwargs)
            if seen_raw:
                plain.add(id(output))
            return output
        return RelevanceLayer(layer)(*args, **kwargs)

    inputs = fresh_inputs(like)
    if raw:
        for tensor in inputs if isinstance(inputs, list) else [inputs]:
            plain.add(id(tensor))
    return keras.Model(inputs, rebuild(graph, inputs, call))


_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@through_fixed
def relevance_model(model: keras.Model, rules: Rules) -> keras.Model:
    """A new model computing the same outputs, whose gradient is LRP relevance.

    For a unit ``c``, ``∂ out_c / ∂ x`` of the new model is the relevance of the input when the
    output's relevance is 1 (multiply by ``out_c`` for the classical start ``R = f_c(x)``); the
    gradient with respect to any intermediate tensor is that tensor's relevance. The user's
    model and layers are not modified and no weight is copied (folded weights are computed from
    the layers' variables at each call). Cached per model and rules; safe while tracing.

    Args:
        model: A functional or Sequential model.
        rules: The rule of each kind of layer.

    Returns:
        The relevance model.

    Raises:
        ValueError: For a subclassed or unbuilt model, or a layer LRP has no rule for (named).
    """
    per_model = _MODELS.setdefault(model, {})
    if rules not in per_model:
        check_layers(model)
        like = inputs_of(model)
        with tf.init_scope():
            per_model[rules] = _rebuild(model, like, rules, raw=True)
    return per_model[rules]


__all__ = ["RelevanceLayer", "Rules", "check_layers", "relevance_model"]
