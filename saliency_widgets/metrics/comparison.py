"""Methods compared on the same images: each method's mean figures, ranked by one of them.

:func:`compare_methods` runs every named method of the registry on the same images and classes,
scores each map with :func:`~saliency_widgets.metrics.scorecard` (and, on demand,
:func:`~saliency_widgets.metrics.sanity_check`), and returns one
:class:`~saliency_widgets.ranking.MethodScores` per method: the means over its maps.
:func:`~saliency_widgets.ranking.rank_methods` orders them by one of
:data:`~saliency_widgets.ranking.CRITERIA`. A method that fails (a model
it cannot explain) gets a row that says why instead of figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from saliency_widgets import _inputs
from saliency_widgets._messages import describe
from saliency_widgets.inspection import explained_model
from saliency_widgets.metrics._arrays import image_masks
from saliency_widgets.metrics.sanity import sanity_check
from saliency_widgets.metrics.scorecard import STEPS, scorecard
from saliency_widgets.ranking import MethodScores
from saliency_widgets.targets import as_indices

COMPLETE_METHODS = ("integrated_gradients", "input_x_gradient")
"""Methods whose signed, channel-summed maps add up to the class score's change from a baseline
(zeros for Input × Gradient): their completeness gap is measured."""


def raw_attributions(
    method: str,
    model: keras.Model,
    x: np.ndarray,
    indices: object,
    params: Mapping[str, Any],
    *,
    batch_size: int = 32,
) -> np.ndarray | None:
    """The raw maps whose completeness gap is measured, or ``None`` for a method without one.

    Only :data:`COMPLETE_METHODS` with the signed ``reduce="sum"`` (their default) have one, and
    only their raw maps (no postprocessing, no resizing) add up: they cost a second run.

    Args:
        method: A registered method's name.
        model: The Keras model.
        x: ``(N, H, W, C)`` preprocessed images.
        indices: The explained classes.
        params: The method's parameters (its registered ones and any given).
        batch_size: Images per compiled engine call.

    Returns:
        ``(N, H, W, K)`` attributions, or ``None``.
    """
    from saliency_widgets.engine import explain
    from saliency_widgets.methods import get_method

    baseline = params.get("baseline")
    # The scorecard rebuilds the baseline with its own seed and blur (the blur is also its
    # insertion canvas's): for another seed or blur the gap would be measured from elsewhere.
    elsewhere = (baseline == "uniform" and params.get("seed", 0) != 0) or (
        baseline == "blurred" and params.get("blur_sigma") is not None
    )
    if method not in COMPLETE_METHODS or params.get("reduce", "sum") != "sum" or elsewhere:
        return None
    _, raw = explain(
        get_method(method).function,
        model,
        x,
        indices,
        batch_size=batch_size,
        postprocessing=None,
        resizing=False,
        verbose=False,
        **params,
    )
    return np.asarray(raw)


def _checked_images(model: keras.Model, x: object) -> np.ndarray:
    """``x`` as float32 images the model takes: every method's input, checked once up front."""
    array = _inputs.as_array(x)
    if array.ndim >= 1 and len(array) == 0:
        raise ValueError("x is empty: expected at least one image")
    _inputs.InputSpec.of(explained_model(model).model).check(array.shape)
    return _inputs.as_float_batch(array)


def _method_names(methods: Sequence[str] | None) -> tuple[str, ...]:
    from saliency_widgets.methods import METHODS

    if methods is None:
        return tuple(METHODS)
    if isinstance(methods, str):
        raise ValueError(f"methods: expected a list of method names, got the string {methods!r}")
    names = tuple(dict.fromkeys(methods))
    if not names:
        raise ValueError("methods: expected at least one method name")
    unknown = [name for name in names if name not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown}; expected names among {', '.join(METHODS)}")
    return names


def compare_methods(
    model: keras.Model,
    x: object,
    indices: object,
    methods: Sequence[str] | None = None,
    *,
    masks: object = None,
    sanity: bool = False,
    steps: int = STEPS,
    batch_size: int = 32,
    seed: int = 0,
    verbose: bool = False,
) -> list[MethodScores]:
    """Every named method on the same images: the means of its figures, one record per method.

    Each method runs with its registered parameters and postprocessing (as the grids and the
    widget show it), and its maps are scored by :func:`~saliency_widgets.metrics.scorecard` on
    the same images, classes, random pixel order and masks as every other method's, so that the
    records compare. With ``sanity``, each map is also checked by
    :func:`~saliency_widgets.metrics.sanity_check` (one more run of the method on a copy of the
    model whose top half of weighted layers is re-initialised).

    A method that fails on this model (e.g. LRP on a layer it has no rule for) does not stop the
    others: its record has ``error`` set and no figures.

    Args:
        model: The Keras classifier (never modified).
        x: ``(N, H, W, C)`` preprocessed images.
        indices: The explained class of each image: an int, ``(N,)`` or ``(N, K)`` integers.
        methods: Registered method names, in the order to report them; default every method
            of :data:`saliency_widgets.methods.METHODS`.
        masks: ``(N, H, W)`` object masks, for pointing and energy, or ``None``.
        sanity: Whether to run the sanity check.
        steps: Deletion and insertion steps.
        batch_size: Images per model call.
        seed: Seed of the random pixel order, the tie-breaking and the re-initialised weights.
        verbose: Whether to show a progress bar over the methods.

    Returns:
        One :class:`~saliency_widgets.ranking.MethodScores` per method, in the order of
        ``methods``.

    Raises:
        ValueError: For an unknown method, or images, indices, masks or options the scorecard
            refuses (they are every method's, so they stop the comparison).

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> x = sw.zoo.preprocess(samples.images)
        >>> rows = sw.metrics.compare_methods(
        ...     model, x, samples.labels, ["gradients", "gradcam"], masks=samples.masks
        ... )
        >>> [row.maps for row in rows], rows[0].pointing is not None
        ([2, 2], True)
    """
    from tqdm.auto import tqdm

    from saliency_widgets.engine import explain
    from saliency_widgets.methods import get_method

    names = _method_names(methods)
    array = _checked_images(model, x)
    n, height, width = array.shape[:3]
    if indices is None or as_indices(indices, n, None) is None:
        raise ValueError("indices: expected the class each image's maps explain, got None")
    if masks is not None:
        image_masks(masks, n, (height, width))
    records: list[MethodScores] = []
    for name in tqdm(names, desc="methods", disable=not verbose):
        spec = get_method(name)
        label = spec.label or name
        params = dict(spec.params)
        try:
            _, maps = explain(
                spec.function,
                model,
                array,
                indices,
                batch_size=batch_size,
                postprocessing=spec.postprocessing,
                verbose=False,
                **params,
            )
            raw = raw_attributions(name, model, array, indices, params, batch_size=batch_size)
            checks = None
            if sanity:
                checked = sanity_check(
                    name,
                    model,
                    array,
                    indices,
                    maps=maps,
                    seed=seed,
                    batch_size=batch_size,
                    verbose=False,
                )
                checks = [check for row in checked for check in row]
        except Exception as error:  # the method's own failure: reported in its row
            records.append(MethodScores(name, label, error=describe(error, limit=300)))
            continue
        cards = scorecard(
            model,
            array,
            maps,
            indices,
            masks=masks,
            attributions=raw,
            attribution_baseline=params.get("baseline", "zeros"),
            steps=steps,
            batch_size=batch_size,
            seed=seed,
        )
        records.append(MethodScores.of(name, label, [c for row in cards for c in row], checks))
    return records


__all__ = [
    "COMPLETE_METHODS",
    "compare_methods",
    "raw_attributions",
]
