"""What an explorer shows: images, their top-K classes and every method's maps of them.

Computed once, through the engine path the widget uses: one forward pass for the top-K classes,
then per method the maps of every image's top-K classes in one batched
:func:`saliency_widgets.explain` call: the method's *signed* map
(:func:`~saliency_widgets.methods.signs.signed_call`), from which the browser shows ``|m|``,
``max(m, 0)`` or ``max(-m, 0)``, so one map per (image, class, method) serves all three sign
modes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets import display
from saliency_widgets.explorer._figures import Cards, Checks, check_methods, score_methods


@dataclass(frozen=True)
class MethodMaps:
    """One method's maps of every image's top-K classes.

    Attributes:
        name: Registry name (:data:`saliency_widgets.methods.METHODS`).
        label: Human-readable label.
        maps: ``(N, K, h, w)`` float32 signed maps.
        held: Which images have their maps (``None``: all); the others show as not computed
            (a live widget's state, saved before every map was computed).
    """

    name: str
    label: str
    maps: np.ndarray
    held: np.ndarray | None = None


@dataclass(frozen=True)
class ExplorerData:
    """Everything an explorer fragment holds, as numbers (encoding is :mod:`._encode`'s job).

    Attributes:
        images: ``(H, W, 3)`` uint8 RGB per image, as displayed.
        names: A short name per image.
        labels: The true class of each image, or ``None``.
        class_names: Names by class index.
        indices: ``(N, K)`` top-K classes of each image, best first.
        probabilities: ``(N, K)`` their probabilities (scores when the model has no
            softmax/sigmoid head).
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.
        methods: The maps of each method.
        masks: A boolean ``(H, W)`` mask of each image's object (its outline is drawn), or
            ``None``.
        scores: The trust panel's figures of every map, by method (``scores[m][i][k]``), or
            ``None``.
        sanity: The sanity check of every map, by method, or ``None``.
    """

    images: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    labels: np.ndarray | None
    class_names: tuple[str, ...]
    indices: np.ndarray
    probabilities: np.ndarray
    activation: str
    methods: tuple[MethodMaps, ...]
    masks: tuple[np.ndarray, ...] | None = None
    scores: Cards | None = None
    sanity: Checks | None = None


DEFAULT_METHODS = ("gradients", "smoothgrad", "integrated_gradients", "gradcam")
"""Methods of an explorer when none are named: a gradient, its denoised and path-integrated
variants, and a class activation map."""


def parse_methods(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Method names from ``"a, b, c"`` (or a sequence), checked against the registry.

    Args:
        text: Comma-separated names, a sequence of names, or ``None`` for
            :data:`DEFAULT_METHODS`.

    Returns:
        The names, in the order given, without repeats.

    Raises:
        ValueError: For an empty list or an unknown name (naming it and the known ones).
    """
    from saliency_widgets.methods import METHODS

    if text is None:
        return DEFAULT_METHODS
    parts = text.split(",") if isinstance(text, str) else list(text)
    names = tuple(dict.fromkeys(str(part).strip() for part in parts if str(part).strip()))
    if not names:
        raise ValueError("methods: expected one or more method names, e.g. gradients,gradcam")
    for name in names:
        if name not in METHODS:
            raise ValueError(f"methods: unknown method {name!r}; known: {', '.join(METHODS)}")
    return names


def _method_maps(
    model: Any,
    x: Any,
    indices: np.ndarray,
    name: str,
    batch_size: int,
    verbose: bool | str,
    params: Mapping[str, Any],
) -> MethodMaps:
    from saliency_widgets import engine
    from saliency_widgets.methods import get_method
    from saliency_widgets.methods.signs import signed_call

    spec = get_method(name)
    accepted = {parameter.name for parameter in spec.parameters}
    extra = {key: value for key, value in params.items() if key in accepted}
    call = signed_call(name)
    _, maps = engine.explain(
        call.function,
        model,
        x,
        indices.astype(np.int32),
        batch_size=batch_size,
        postprocessing=None,
        verbose=verbose,
        **{**call.params, **extra},
    )
    maps = np.moveaxis(np.asarray(maps, dtype=np.float32), -1, 1)  # (N, K, h, w)
    return MethodMaps(name, spec.label or name, maps)


def checked_masks(masks: object, images: Sequence[np.ndarray]) -> tuple[np.ndarray, ...] | None:
    """Masks as one boolean ``(H, W)`` array per image, the image's size (``None`` stays).

    Raises:
        ValueError: For a count or a size that does not match the images.
    """
    if masks is None:
        return None
    found = [np.asarray(mask) for mask in masks]  # type: ignore[attr-defined]
    if len(found) != len(images):
        raise ValueError(f"masks: {len(found)} masks for {len(images)} images")
    checked = []
    for i, (mask, image) in enumerate(zip(found, images, strict=True)):
        mask = mask[..., 0] if mask.ndim == 3 and mask.shape[-1] == 1 else mask
        if mask.shape != image.shape[:2]:
            raise ValueError(
                f"masks[{i}] has shape {mask.shape}; expected the image's {image.shape[:2]}"
            )
        checked.append(mask.astype(bool))
    return tuple(checked)


def explain_top_k(
    model: Any,
    images: Sequence[np.ndarray] | np.ndarray,
    x: np.ndarray | Mapping[str, Any],
    *,
    methods: Sequence[str] = DEFAULT_METHODS,
    top_k: int = 5,
    class_names: Sequence[str] | None = None,
    labels: Sequence[int] | np.ndarray | None = None,
    names: Sequence[str] | None = None,
    masks: Sequence[np.ndarray] | np.ndarray | None = None,
    params: Mapping[str, Any] | None = None,
    batch_size: int = 32,
    verbose: bool | str = False,
    progress: Callable[[str], None] | None = None,
    metrics: bool | None = None,
    sanity: bool = False,
) -> ExplorerData:
    """Explains every image's top-K classes with each method: the data of an explorer.

    Args:
        model: The Keras classifier (never modified).
        images: The images as displayed (uint8 or float, any of
            :func:`saliency_widgets.display.to_display_image`'s formats).
        x: ``(N, H, W, C)`` model inputs of the same images; for a model with several
            inputs, a dict of them by input name (the others held fixed, one row per image).
        methods: Registry names of the methods.
        top_k: Classes per image.
        class_names: Names by class index (``"class i"`` when omitted).
        labels: The true class of each image, or ``None``.
        names: A name per image (``"image i"`` when omitted).
        masks: A boolean ``(H, W)`` object mask per image (outlined in the views), or ``None``.
        params: Method parameters (``layer=…``, ``samples=…``), each given to the methods that
            accept it, over the registry's defaults.
        batch_size: Images per engine call.
        verbose: The engine's progress bar.
        progress: Called with each method's name before its maps are computed (and with
            ``"metrics"`` and ``"sanity"`` before those).
        metrics: Score every map for the trust panel (``None``: when the model has one input;
            the figures of a model with several inputs are not computed yet)
            (:func:`~saliency_widgets.explorer._figures.score_methods`: deletion and insertion
            against a random order, Gini, localisation when ``masks`` are given, completeness).
        sanity: Run :func:`saliency_widgets.metrics.sanity_check` on every map (one more run
            of each method on a partly re-initialised copy of the model).

    Returns:
        The :class:`ExplorerData`.

    Raises:
        ValueError: For a bad ``top_k``, an unknown method, or names/labels that do not fit.
    """
    from saliency_widgets.predict import predict

    methods = parse_methods(list(methods))
    if isinstance(x, Mapping) and (metrics or sanity):
        raise ValueError(
            "metrics/sanity: the trust figures of a model with several inputs are not computed "
            "yet; pass metrics=False and sanity=False"
        )
    if not isinstance(x, Mapping):
        x = np.asarray(x, dtype=np.float32)
    rows = len(next(iter(x.values()))) if isinstance(x, Mapping) and x else len(x)
    pictures = tuple(display.to_rgb(np.asarray(image)) for image in images)
    if len(pictures) != rows or not pictures:
        raise ValueError(f"{len(pictures)} images but {rows} model inputs")
    shown_masks = checked_masks(masks, pictures)  # before any model call
    prediction = predict(model, x, batch_size=batch_size, name="the images")
    units = prediction.logits.shape[1]
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= units:
        raise ValueError(f"top_k must be an int in [1, {units}], got {top_k!r}")
    class_names = tuple(class_names) if class_names is not None else ()
    class_names = class_names or tuple(f"class {i}" for i in range(units))
    if len(class_names) != units:
        raise ValueError(f"{len(class_names)} class names for a model with {units} outputs")
    indices = prediction.top_k(top_k)
    chosen = np.take_along_axis(prediction.probabilities, indices, axis=1)
    found = []
    for name in methods:
        if progress is not None:
            progress(name)
        found.append(_method_maps(model, x, indices, name, batch_size, verbose, params or {}))
    scores = checks = None
    if not isinstance(x, Mapping) and (metrics or metrics is None):
        if progress is not None:
            progress("metrics")
        scores = score_methods(model, x, found, indices, shown_masks, batch_size)
    if not isinstance(x, Mapping) and sanity:
        if progress is not None:
            progress("sanity")
        checks = check_methods(model, x, methods, indices, batch_size)
    return ExplorerData(
        images=pictures,
        names=tuple(names) if names is not None else tuple(f"image {i}" for i in range(rows)),
        labels=None if labels is None else np.asarray(labels, dtype=np.int64),
        class_names=tuple(str(name) for name in class_names),
        indices=np.asarray(indices, dtype=np.int64),
        probabilities=np.asarray(chosen, dtype=np.float64),
        activation=prediction.activation,
        methods=tuple(found),
        masks=shown_masks,
        scores=scores,
        sanity=checks,
    )


__all__ = [
    "DEFAULT_METHODS",
    "ExplorerData",
    "MethodMaps",
    "checked_masks",
    "explain_top_k",
    "parse_methods",
]
