"""What each method accepts: parameter names, defaults and the checks made before tracing.

Every parameter a user passes to a method is checked here, in plain Python, before
``tf.function`` sees it: an unknown name is a ``TypeError`` that names the method and what it
accepts, a bad value a ``ValueError`` that names the parameter. A parameter means the same thing
in every method that takes it (``samples``, ``layer``, ``reduce`` …), so each has one check.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets import _checks
from saliency_widgets.inspection import FIRST_RULES
from saliency_widgets.methods._named import function_of
from saliency_widgets.methods.feature_maps import SCORE_ACTIVATIONS
from saliency_widgets.methods.gradient import REDUCTIONS
from saliency_widgets.methods.integrated import BASELINES

FIXED = 3
"""Positional parameters every method takes first: ``model``, ``inputs``, ``indices``."""


@dataclass(frozen=True)
class Context:
    """What a check may look at besides the value.

    Attributes:
        model: The model being explained (the logits model), or ``None`` when not known yet.
        image_shape: ``(H, W, C)`` of the inputs, or ``None``.
    """

    model: Any = None
    image_shape: tuple[int, ...] | None = None


Check = Callable[[str, Any, Context], Any]
"""``check(name, value, context) -> value`` (possibly normalised); raises on a bad value."""


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool | np.bool_)


def positive_int(name: str, value: Any, context: Context) -> int:
    """An ``int >= 1`` (``samples``, ``steps`` …): the package's one check of it."""
    return _checks.positive_int(name, value)


def integer(name: str, value: Any, context: Context) -> int:
    """Any ``int`` (a seed)."""
    if not _is_int(value):
        raise ValueError(f"{name} must be an int, got {_describe(value)}")
    return int(value)


def fraction(name: str, value: Any, context: Context) -> float:
    """A finite number ``>= 0`` (``noise``)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool | np.bool_)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {_describe(value)}")
    return float(value)


def positive_number(name: str, value: Any, context: Context) -> float:
    """A finite number ``> 0`` (a blur's sigma)."""
    if fraction(name, value, context) <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {_describe(value)}")
    return float(value)


def finite_number(name: str, value: Any, context: Context) -> float:
    """Any finite number (a fill value)."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool | np.bool_)
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name} must be a finite number, got {_describe(value)}")
    return float(value)


def probability(name: str, value: Any, context: Context) -> float:
    """A number in ``(0, 1]`` (RISE's keep probability, Guided IG's ``fraction``)."""
    if fraction(name, value, context) <= 0 or value > 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {_describe(value)}")
    return float(value)


def unit_interval(name: str, value: Any, context: Context) -> float:
    """A number in ``[0, 1]`` (Guided IG's ``max_dist``)."""
    if fraction(name, value, context) > 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {_describe(value)}")
    return float(value)


def window_size(name: str, value: Any, context: Context) -> tuple[int, int]:
    """A side or ``(height, width)`` of positive ints, no larger than the images when known."""
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, tuple | list)
        or len(pair) != 2
        or not all(_is_int(v) and v >= 1 for v in pair)
    ):
        raise ValueError(
            f"{name} must be a positive int or (height, width) of positive ints, "
            f"got {_describe(value)}"
        )
    size = (int(pair[0]), int(pair[1]))
    if context.image_shape is not None and (
        size[0] > context.image_shape[0] or size[1] > context.image_shape[1]
    ):
        raise ValueError(
            f"{name}={size} is larger than the images' (H, W) = {tuple(context.image_shape[:2])}"
        )
    return size


def boolean(name: str, value: Any, context: Context) -> bool:
    """``True`` or ``False``."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def one_of(*choices: object) -> Check:
    """A check that accepts exactly ``choices``."""

    def check(name: str, value: Any, context: Context) -> Any:
        if not isinstance(value, str | type(None)) or value not in choices:
            raise ValueError(f"{name}={_describe(value)}: expected one of {list(choices)}")
        return value

    return check


def optional(check: Check) -> Check:
    """``None`` or what ``check`` accepts."""

    def check_optional(name: str, value: Any, context: Context) -> Any:
        return None if value is None else check(name, value, context)

    return check_optional


def baseline(name: str, value: Any, context: Context) -> Any:
    """A baseline name, or a finite array broadcastable to the images (kept as float32)."""
    if isinstance(value, str):
        if value not in BASELINES:
            raise ValueError(f"{name}={value!r}: expected one of {list(BASELINES)} or an array")
        return value
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be one of {list(BASELINES)} or a numeric array, got {_describe(value)}"
        ) from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has NaN or infinite values")
    if context.image_shape is not None:
        try:
            np.broadcast_shapes(array.shape, (1, *context.image_shape))
        except ValueError:
            raise ValueError(
                f"{name} has shape {array.shape}, which does not broadcast to the images' "
                f"(H, W, C) = {context.image_shape}"
            ) from None
    return array


def method_reference(name: str, value: Any, context: Context) -> Any:
    """A registered method name or a method function (what a noise wrapper smooths)."""
    if isinstance(value, str):
        function_of(value)  # raises, listing the names
        return value
    if not callable(value):
        raise ValueError(f"{name} must be a method function or a registered name, got {value!r}")
    return value


def spatial_layer(name: str, value: Any, context: Context) -> Any:
    """``None`` (found automatically), a layer name or path, a layer, or a ``TokenLayer``."""
    import keras

    from saliency_widgets.inspection import TokenLayer, check_cam_layer, spatial_model

    if value is not None and not isinstance(value, str | keras.Layer | TokenLayer):
        raise ValueError(
            f"{name} must be None, a layer name, a keras layer or a TokenLayer, got {value!r}"
        )
    if context.model is None:
        return value

    try:
        try:
            spatial = spatial_model(context.model, value).model
        except ValueError:
            check_cam_layer(context.model, None, name)  # "no spatial layer": say why if recurrent
            raise
        check_cam_layer(context.model, spatial, name)
    except ValueError as error:
        message = str(error).rstrip(".")
        if "subclassed" in message:
            message += "; or use a gradient method ('gradients', 'smoothgrad' …): any model works"
        raise ValueError(f"{name}={value!r}: {message}") from None
    return value


def relevance_rule(name: str, value: Any, context: Context) -> Any:
    """An LRP rule name; with the model known, every layer must have a rule (named if not)."""
    from saliency_widgets.methods.relevance import RULES

    one_of(*RULES)(name, value, context)
    if context.model is not None:
        from saliency_widgets.inspection import check_layers, check_relevance_layers

        check_relevance_layers(context.model)
        check_layers(context.model)
    return value


CHECKS: dict[str, Check] = {
    "samples": positive_int,
    "noise": fraction,
    "seed": integer,
    "reduce": one_of(*REDUCTIONS),
    "steps": positive_int,
    "step_batch": optional(positive_int),
    "baseline": baseline,
    "blur_sigma": optional(positive_number),
    "fraction": probability,
    "max_dist": unit_interval,
    "max_sigma": positive_number,
    "grad_step": positive_number,
    "sqrt": boolean,
    "min_pixel_diff": positive_int,
    "area_threshold": unit_interval,
    "rule": relevance_rule,
    "epsilon": positive_number,
    "beta": fraction,
    "first_rule": optional(one_of(*FIRST_RULES)),
    "layer": spatial_layer,
    "relu": boolean,
    "top_channels": optional(positive_int),
    "channel_batch": optional(positive_int),
    "center": boolean,
    "window": optional(window_size),
    "stride": optional(window_size),
    "fill": finite_number,
    "cell": optional(positive_int),
    "probability": probability,
    "mask_batch": optional(positive_int),
    "activation": one_of(*SCORE_ACTIVATIONS),
    "method": method_reference,
}
"""The one check of each parameter name, shared by every method that takes it."""
MODEL_CHECKED = ("layer", "rule")
"""Parameters checked against the model even when left at their default (the default layer
must exist; every layer must have an LRP rule)."""


@dataclass(frozen=True)
class Parameter:
    """One keyword parameter of a method.

    Attributes:
        name: Its name.
        default: Its default (``inspect.Parameter.empty`` when it has none).
        check: The check applied before tracing (``None``: passed as it is).
    """

    name: str
    default: Any
    check: Check | None


def parameters_of(function: Callable[..., Any]) -> tuple[tuple[Parameter, ...], bool]:
    """A method's keyword parameters, and whether it forwards others (``**params``).

    Args:
        function: A method ``(model, inputs, indices, **params) -> (logits, maps)``.

    Returns:
        The parameters after the three fixed ones, and whether it takes ``**kwargs``.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return (), True
    found, forwards = [], False
    for position, parameter in enumerate(signature.parameters.values()):
        if parameter.kind is parameter.VAR_KEYWORD:
            forwards = True
        elif position >= FIXED and parameter.kind is not parameter.VAR_POSITIONAL:
            found.append(Parameter(parameter.name, parameter.default, CHECKS.get(parameter.name)))
    return tuple(found), forwards


def accepted(
    function: Callable[..., Any], params: Mapping[str, Any]
) -> dict[str, Parameter] | None:
    """Every parameter ``function`` accepts with ``params`` (``None``: it takes anything).

    A wrapper such as SmoothGrad forwards what it does not take to the method it wraps
    (``params["method"]``, or its default), so that method's parameters are accepted too.
    """
    own, forwards = parameters_of(function)
    names = {parameter.name: parameter for parameter in own}
    if not forwards:
        return names
    if "method" not in names:
        return None
    wrapped = params.get("method", names["method"].default)
    if isinstance(wrapped, str):
        wrapped = function_of(wrapped)
    inner = accepted(wrapped, {}) if callable(wrapped) else None
    if inner is None:
        return None
    return {**{k: v for k, v in inner.items() if k not in names}, **names}


def check_params(
    method: str, function: Callable[..., Any], params: Mapping[str, Any], context: Context
) -> dict[str, Any]:
    """Checks a method's parameters before anything is traced.

    Args:
        method: The method's name, for messages.
        function: The method.
        params: The keyword parameters given.
        context: The model and image shape, when known (layer and baseline checks use them).

    Returns:
        The parameters, normalised (numbers as Python numbers, arrays as float32 numpy).

    Raises:
        TypeError: For a parameter ``method`` does not accept (the message lists those it does).
        ValueError: For a bad value (the message names the parameter).
    """
    if "method" in params:  # the wrapped method decides what else is accepted: check it first
        method_reference("method", params["method"], context)
    known = accepted(function, params)
    if known is not None:
        unknown = sorted(set(params) - set(known))
        if unknown:
            listed = ", ".join(sorted(known)) or "no parameters"
            raise TypeError(
                f"{method}() got unexpected parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}; it accepts {listed}"
            )
    checked = {}
    for name, value in params.items():
        check = CHECKS.get(name)
        checked[name] = check(name, value, context) if check is not None else value
    if context.model is not None:  # defaults that depend on the model must hold too
        for name in MODEL_CHECKED:
            parameter = (known or {}).get(name)
            if parameter is not None and name not in params:
                CHECKS[name](name, parameter.default, context)
    return checked


__all__ = [
    "CHECKS",
    "Context",
    "Parameter",
    "accepted",
    "check_params",
    "parameters_of",
]
