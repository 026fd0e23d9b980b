"""Explanation methods and the registry that the widget and the directive read.

Each method is a pure function ``method(model, inputs, indices, **params) -> (logits, maps)``.
:data:`METHODS` maps a user-facing name to a :class:`MethodSpec` that says how
:func:`saliency_widgets.explain` should postprocess its maps by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saliency_widgets import filters
from saliency_widgets.methods import (
    _named,
    cams,
    forward_cams,
    gradient,
    integrated,
    parameters,
    paths,
    perturbation,
    relevance,
    smooth,
    xrai,
)
from saliency_widgets.methods.parameters import (
    Context,
    Parameter,
    accepted,
    check_params,
    parameters_of,
)


@dataclass(frozen=True)
class MethodSpec:
    """How to run one explanation method.

    Attributes:
        name: User-facing name (widget picker, directive ``:method:``).
        function: The pure method ``(model, inputs, indices, **params) -> (logits, maps)``.
        postprocessing: Default filter applied by the top-level shortcut.
        params: Default keyword parameters for ``function``.
        label: Human-readable label.
        xla: Whether the method can be compiled with XLA; ``False`` for methods that call host
            code from the graph (XRAI's segmentation), which the engine then never compiles
            with ``jit_compile=True``.
    """

    name: str
    function: Callable
    postprocessing: Callable | None = filters.absolute_normalize
    params: dict = field(default_factory=dict)
    label: str = ""
    xla: bool = True

    def compiles_with_xla(self, params: Mapping[str, Any]) -> bool:
        """Whether XLA can compile the method with these parameters (a wrapped method counts).

        Args:
            params: The keyword parameters given (``method=`` of a wrapper is looked at).

        Returns:
            ``False`` when the method, or the method it wraps, runs host code in its graph.
        """
        if not self.xla:
            return False
        own = {p.name: p.default for p in parameters_of(self.function)[0]}
        wrapped = params.get("method", own.get("method"))
        if isinstance(wrapped, str):
            return get_method(wrapped).compiles_with_xla({})
        if callable(wrapped):
            return spec_of(wrapped).compiles_with_xla({})
        return True

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """The keyword parameters the method accepts, with the registered defaults.

        A noise wrapper (SmoothGrad …) lists its own and those of the method it wraps.
        """
        known = accepted(self.function, self.params) or {}
        return tuple(
            Parameter(p.name, self.params.get(p.name, p.default), p.check) for p in known.values()
        )

    def check(self, params: Mapping[str, Any], context: Context | None = None) -> dict[str, Any]:
        """Checks parameters for this method before tracing (see :func:`~.check_params`).

        Args:
            params: The keyword parameters given.
            context: The model and image shape when known (layers and baselines are looked up).

        Returns:
            The parameters, normalised.

        Raises:
            TypeError: For a parameter the method does not accept.
            ValueError: For a bad value, naming the parameter.
        """
        return check_params(self.name, self.function, params, context or Context())


METHODS: dict[str, MethodSpec] = {
    "gradients": MethodSpec(
        "gradients", gradient.gradients, filters.absolute_normalize, label="Vanilla gradient"
    ),
    "smoothgrad": MethodSpec(
        "smoothgrad",
        smooth.smoothgrad,
        filters.absolute_normalize,
        {"samples": 50, "noise": 0.15, "seed": 0},
        "SmoothGrad",
    ),
    "vargrad": MethodSpec(
        "vargrad",
        smooth.vargrad,
        filters.normalize,
        {"samples": 50, "noise": 0.15, "seed": 0},
        "VarGrad",
    ),
    "squaregrad": MethodSpec(
        "squaregrad",
        smooth.squaregrad,
        filters.normalize,
        {"samples": 50, "noise": 0.15, "seed": 0},
        "SquareGrad",
    ),
    "integrated_gradients": MethodSpec(
        "integrated_gradients",
        integrated.integrated_gradients,
        filters.absolute_normalize,
        {"steps": 64, "baseline": "zeros"},
        "Integrated Gradients",
    ),
    "input_x_gradient": MethodSpec(
        "input_x_gradient",
        gradient.input_x_gradient,
        filters.absolute_normalize,
        {},
        "Input × Gradient",
    ),
    "cam": MethodSpec("cam", cams.cam, filters.normalize, {"layer": None}, "CAM"),
    "gradcam": MethodSpec("gradcam", cams.gradcam, filters.normalize, {"layer": None}, "Grad-CAM"),
    "gradcampp": MethodSpec(
        "gradcampp", cams.gradcampp, filters.normalize, {"layer": None}, "Grad-CAM++"
    ),
    "hirescam": MethodSpec(
        "hirescam", cams.hirescam, filters.normalize, {"layer": None}, "HiResCAM"
    ),
    "xgradcam": MethodSpec(
        "xgradcam", cams.xgradcam, filters.normalize, {"layer": None}, "XGrad-CAM"
    ),
    "layercam": MethodSpec(
        "layercam", cams.layercam, filters.normalize, {"layer": None}, "LayerCAM"
    ),
    "scorecam": MethodSpec(
        "scorecam",
        forward_cams.scorecam,
        filters.normalize,
        {"layer": None, "top_channels": None},
        "Score-CAM",
    ),
    "ablationcam": MethodSpec(
        "ablationcam",
        forward_cams.ablationcam,
        filters.normalize,
        {"layer": None, "channel_batch": None},
        "Ablation-CAM",
    ),
    "eigencam": MethodSpec(
        "eigencam",
        forward_cams.eigencam,
        filters.normalize,
        {"layer": None, "center": False},
        "Eigen-CAM",
    ),
    "guided_backprop": MethodSpec(
        "guided_backprop",
        gradient.guided_backprop,
        filters.absolute_normalize,
        {},
        "Guided backprop",
    ),
    "guided_gradcam": MethodSpec(
        "guided_gradcam",
        cams.guided_gradcam,
        filters.absolute_normalize,
        {"layer": None},
        "Guided Grad-CAM",
    ),
    "guided_integrated_gradients": MethodSpec(
        "guided_integrated_gradients",
        paths.guided_integrated_gradients,
        filters.absolute_normalize,
        {"steps": 200, "fraction": 0.25, "max_dist": 0.02},
        "Guided Integrated Gradients",
    ),
    "blur_integrated_gradients": MethodSpec(
        "blur_integrated_gradients",
        paths.blur_integrated_gradients,
        filters.absolute_normalize,
        {"steps": 100, "max_sigma": 50.0},
        "Blur IG",
    ),
    "xrai": MethodSpec("xrai", xrai.xrai, filters.normalize, {"steps": 100}, "XRAI", xla=False),
    "lrp": MethodSpec(
        "lrp",
        relevance.lrp,
        filters.absolute_normalize,
        {"rule": "composite"},
        "LRP (composite)",
    ),
    "occlusion": MethodSpec(
        "occlusion",
        perturbation.occlusion,
        filters.normalize,
        {"window": None, "stride": None, "fill": 0.0},
        "Occlusion",
    ),
    "rise": MethodSpec(
        "rise",
        perturbation.rise,
        filters.normalize,
        {"samples": 2000, "cell": None, "probability": 0.5, "seed": 0},
        "RISE",
    ),
}
"""Registered methods by name. New method families add themselves here."""
_named.FUNCTIONS.update({name: spec.function for name, spec in METHODS.items()})


def get_method(name: str) -> MethodSpec:
    """Looks a method up by name.

    Args:
        name: A key of :data:`METHODS`.

    Returns:
        The method's :class:`MethodSpec`.

    Raises:
        ValueError: If no method has that name (the message lists the known ones).
    """
    try:
        return METHODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"method={name!r}: expected one of {sorted(METHODS)}") from None


def spec_of(function: Callable) -> MethodSpec:
    """The registered spec of a method function, or an ad-hoc one for any other function.

    Args:
        function: A method ``(model, inputs, indices, **params) -> (logits, maps)``.

    Returns:
        Its :class:`MethodSpec` (name, parameters); unregistered functions get their own name
        and no postprocessing.
    """
    for spec in METHODS.values():
        if spec.function is function:
            return spec
    name = getattr(function, "__name__", type(function).__name__)
    return MethodSpec(name, function, None)


__all__ = [
    "METHODS",
    "MethodSpec",
    "cams",
    "forward_cams",
    "get_method",
    "gradient",
    "integrated",
    "parameters",
    "paths",
    "perturbation",
    "relevance",
    "smooth",
    "spec_of",
    "xrai",
]
