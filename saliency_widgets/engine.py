"""The explanation engine: batching, compilation, jit policy, distribution and postprocessing.

:func:`explain` runs any method ``method(model, inputs, indices, **params) -> (logits, maps)``
over inputs of any size. Around the method it

- validates inputs and indices, with errors that name the argument;
- takes a model's several inputs as the model does (a dict by name or a list), explains one of
  them (``explained_input=``) and feeds the others unchanged, batched with the images;
- explains pre-activation logits of softmax/sigmoid heads (see :mod:`saliency_widgets.inspection`);
- pads the last batch (and the last chunk of classes) so the compiled function never retraces;
- compiles one ``tf.function`` per (model, method, options), with XLA when it pays (see
  :func:`auto_jit`), and reuses it across calls;
- runs under the model's ``tf.distribute`` strategy, splitting each batch across replicas;
- applies the postprocessing filter and the resize inside the compiled function;
- shows a progress bar when there are several batches.
"""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, cast

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from saliency_widgets import _inputs
from saliency_widgets._checks import positive_int
from saliency_widgets._compile import Filter, Method, compiled_step, distributed
from saliency_widgets._model_shape import explained_position, model_inputs, model_shape
from saliency_widgets.inspection import FixedInputs, explained_model
from saliency_widgets.methods import parameters, spec_of
from saliency_widgets.targets import as_indices

JACOBIAN_BUDGET_BYTES = 256 * 2**20
"""Upper bound on the per-call ``(B, K, H, W, C)`` gradient tensor; classes are chunked to fit."""
MAX_CLASSES_PER_CALL = 16
"""Classes explained by one compiled call; more are processed in chunks (one forward each)."""


def auto_jit() -> bool:
    """The default jit policy: XLA on GPUs and TPUs, plain ``tf.function`` on CPUs.

    Measured on the 2-core CPU machine this project is developed on, XLA made gradients of
    MobileNetV2 19× slower and ResNet50V2 about even; on accelerators XLA fuses the backward pass
    and pays (``benchmarks/`` has the scripts that decide this on both kinds of hardware).

    Returns:
        Whether :func:`explain` compiles with ``jit_compile=True`` when it is left to decide.
    """
    kinds = {device.device_type for device in tf.config.list_logical_devices()}
    return bool(kinds & {"GPU", "TPU"})


def _class_chunk(batch: int, shape: tuple, units: int) -> int:
    """How many classes one compiled call explains (bounded by memory and graph size)."""
    per_class = batch * math.prod(shape[1:]) * 4
    return max(1, min(units, MAX_CLASSES_PER_CALL, JACOBIAN_BUDGET_BYTES // max(per_class, 1)))


def _strategy_of(model: keras.Model) -> tf.distribute.Strategy | None:
    strategy = getattr(model, "distribute_strategy", None)
    if strategy is None or strategy.num_replicas_in_sync <= 1:
        return None
    return strategy


def _image_shape(spec: _inputs.InputSpec, x: object) -> tuple[int, ...] | None:
    """``(H, W, C)`` of the inputs, from the model or the array (``None`` if unknown yet)."""
    if None not in (spec.height, spec.width, spec.channels):
        return (int(spec.height), int(spec.width), int(spec.channels))  # type: ignore[arg-type]
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) == 4 and None not in tuple(shape)[1:]:
        return tuple(int(d) for d in tuple(shape)[1:])
    return None


def _resize_target(resizing: bool | tuple[int, int], shape: tuple) -> tuple[int, int] | None:
    if resizing is True:
        return (int(shape[1]), int(shape[2]))
    if resizing is False or resizing is None:
        return None
    if (
        isinstance(resizing, tuple | list)
        and len(resizing) == 2
        and all(isinstance(s, int) and s > 0 for s in resizing)
    ):
        return (int(resizing[0]), int(resizing[1]))
    raise ValueError(f"resizing must be True, False or (height, width), got {resizing!r}")


def explain(
    method: Method,
    model: keras.Model,
    x: object,
    /,
    indices: object = None,
    *,
    batch_size: int = 32,
    postprocessing: Filter | None = None,
    resizing: bool | tuple[int, int] = True,
    verbose: bool | str = "auto",
    jit_compile: bool | None = None,
    output: int | str | None = None,
    logits: bool = True,
    explained_input: str | int | None = None,
    **params: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Explains a model's decisions on a batch of images with any method.

    ``method``, ``model`` and ``x`` are positional, so that ``method=`` can reach a wrapper such
    as :func:`~saliency_widgets.methods.smooth.smoothgrad` through ``**params``.

    Args:
        method: A pure method ``(model, inputs, indices, **params) -> (logits, maps)``, e.g.
            :func:`saliency_widgets.methods.gradient.gradients`.
        model: The Keras model. Its weights and layers are never modified.
        x: Preprocessed images ``(N, H, W, C)``: numpy array (any numeric dtype, cast to
            float32), tensor, list of arrays, or a ``tf.data.Dataset`` of images or
            ``(images, labels)`` (batched or not; labels are ignored). For a model with several
            inputs, all of them as the model takes them: a dict by input name or a list in
            ``model.inputs`` order (arrays with one row per image); the inputs other than the
            explained one are fed unchanged (held fixed), batched and padded with the images.
        indices: Classes to explain: ``None`` for every output unit (chunked so 1,000 classes fit
            in memory), an int for the same class everywhere, ``(N,)`` or ``(N, K)`` integers;
            see :func:`saliency_widgets.top_k`.
        batch_size: Images per compiled call; the last batch is padded to this size.
        postprocessing: A filter ``f(maps, axis) -> maps`` (see :mod:`saliency_widgets.filters`),
            applied per batch inside the compiled function.
        resizing: ``True`` resizes maps to the input's spatial size (bilinear), ``False`` keeps
            the method's resolution, ``(h, w)`` resizes to that size.
        verbose: Progress bar: ``True``, ``False`` or ``"auto"`` (shown for several batches).
        jit_compile: ``None`` decides by device (:func:`auto_jit`); ``True``/``False`` force XLA.
        output: For a multi-output model, the index or name of the output to explain.
        logits: Explain the pre-activation logits of a softmax/sigmoid head (recommended:
            probabilities saturate). ``False`` explains the model's outputs as they are.
        explained_input: For a model with several inputs, the name (or index) of the input the
            maps are about; ``None`` takes the only image-shaped (rank-4 float) input.
        **params: Passed to ``method`` (e.g. ``reduce="mean"``).

    Returns:
        ``(logits, maps)`` as numpy float32: the ``(N, L)`` explained outputs (pre-activation when
        a head was removed) and ``(N, H', W', K)`` maps, ``maps[i, ..., k]`` explaining unit
        ``indices[i, k]`` (unit ``k`` when ``indices`` is ``None``).

    Raises:
        TypeError: For a non-Keras model, non-numeric images or non-integer indices.
        ValueError: For inputs of the wrong rank, size or channels, NaN/inf inputs, an empty
            batch, out-of-range or mis-shaped indices, ``batch_size <= 0``, an ambiguous
            multi-output model, a missing or mis-sized input of a model with several, an
            explained input of integer ids, or a recurrent model for a method that rebuilds it.

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> x = sw.zoo.preprocess(sw.zoo.load_samples(4).images)
        >>> logits, maps = sw.explain(
        ...     sw.methods.gradient.gradients, model, x, [0, 1, 2, 3],
        ...     postprocessing=sw.filters.absolute_normalize)
        >>> logits.shape, maps.shape
        ((4, 8), (4, 64, 64, 1))
    """
    batch_size = positive_int("batch_size", batch_size)
    strategy = _strategy_of(model) if isinstance(model, keras.Model) else None
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        target = explained_model(model, output=output, logits=logits)
        target.sync()
        declared = model_inputs(target.model)
        position = explained_position(declared, explained_input)
        split = _inputs.split_inputs(x, declared, position)
        x = split.images
        shape = model_shape(target.model, position)
        spec = _inputs.InputSpec(*shape.image())
        units = shape.units()
        image_shape = _image_shape(spec, x)
        method_spec = spec_of(method)
        params = method_spec.check(params, parameters.Context(target.model, image_shape))
        xla = method_spec.compiles_with_xla(params)
        if jit_compile and not xla:
            raise ValueError(
                f"jit_compile=True: {method_spec.name} calls host code from its graph (e.g. XRAI's "
                "scikit-image segmentation), which XLA cannot compile; pass jit_compile=None"
            )
        if strategy is not None:
            replicas = strategy.num_replicas_in_sync
            batch_size = -(-batch_size // replicas) * replicas

        if isinstance(x, tf.data.Dataset):
            total = _inputs.dataset_length(x)
            batches: Iterator[tuple[np.ndarray, tuple]] = (
                (b, ()) for b in _inputs.dataset_batches(x, batch_size)
            )
            selected = as_indices(indices, None, units)
        else:
            array = _inputs.as_array(x)
            if array.ndim >= 1 and len(array) == 0:
                raise ValueError("x is empty: expected at least one image")
            spec.check(array.shape)
            array = _inputs.as_float_batch(array)
            total = len(array)
            batches = (
                (array[i : i + batch_size], tuple(o[i : i + batch_size] for o in split.others))
                for i in range(0, total, batch_size)
            )
            selected = as_indices(indices, total, units)

        run = functools.partial(
            _run_batches,
            method=method,
            target_model=target.model,
            spec=spec,
            units=units,
            selected=selected,
            batch_size=batch_size,
            postprocessing=postprocessing,
            resizing=resizing,
            jit=xla and (auto_jit() if jit_compile is None else bool(jit_compile)),
            strategy=strategy,
            params=params,
            broadcast=indices is not None and np.ndim(cast(Any, indices)) == 0,
            position=position if split.others else None,
        )
        show = verbose is True or (verbose == "auto" and (total is None or total > batch_size))
        with tqdm(total=total, disable=not show, unit="img", desc="explaining") as bar:
            return run(batches=batches, progress=bar.update)


def _class_chunks(
    selected: np.ndarray | None, start: int, count: int, units: int, chunk: int, broadcast: bool
) -> Iterator[tuple[np.ndarray, int]]:
    """Yields ``(B, chunk)`` index blocks (last one padded) and how many columns are real."""
    if selected is None:
        columns = np.arange(units, dtype=np.int32)[None].repeat(count, axis=0)
    elif broadcast:
        columns = selected[:1].repeat(count, axis=0)
    else:
        columns = selected[start : start + count]
    k = columns.shape[1]
    for c in range(0, k, chunk):
        block = columns[:, c : c + chunk]
        real = block.shape[1]
        if real < chunk and k > chunk:
            block = np.concatenate([block, block[:, -1:].repeat(chunk - real, axis=1)], axis=1)
        yield block, real


def _run_batches(
    *,
    batches: Iterator[tuple[np.ndarray, tuple]],
    progress: Callable[[int], object],
    method: Method,
    target_model: keras.Model,
    spec: _inputs.InputSpec,
    units: int | None,
    selected: np.ndarray | None,
    batch_size: int,
    postprocessing: Filter | None,
    resizing: bool | tuple[int, int],
    jit: bool,
    strategy: tf.distribute.Strategy | None,
    params: dict[str, Any],
    broadcast: bool,
    position: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    all_logits: list[np.ndarray] = []
    all_maps: list[np.ndarray] = []
    steps: dict[tuple[int, int] | None, Callable] = {}
    start = 0
    for raw, extra in batches:
        spec.check(raw.shape)
        x = _inputs.as_float_batch(raw)
        count = len(x)
        if selected is not None and not broadcast and start + count > len(selected):
            raise ValueError(f"indices has {len(selected)} rows but the dataset yields more images")
        padded = _inputs.pad_batch(x, batch_size)
        # The other inputs are padded with the images, so row i stays image i's.
        others = tuple(_inputs.pad_batch(o, batch_size) for o in extra)
        size = _resize_target(resizing, x.shape)
        if size not in steps:  # built once per call and image size, never per batch
            step = compiled_step(target_model, method, params, postprocessing, size, jit, position)
            steps[size] = step if strategy is None else distributed(step, strategy)
        step = steps[size]
        if units is None:  # subclassed model: one forward pass tells the number of units
            forward = (
                target_model if position is None else FixedInputs(target_model, position, others)
            )
            units = int(forward(padded).shape[-1])
            selected = as_indices(selected, None, units)
        chunk = _class_chunk(batch_size, x.shape, units)
        pieces = []
        logits = None
        for block, real in _class_chunks(selected, start, count, units, chunk, broadcast):
            block = _inputs.pad_batch(block, batch_size)
            logits, maps = step(padded, block, *others)
            pieces.append(np.asarray(maps)[:count, ..., :real])
        all_logits.append(np.asarray(logits)[:count])
        all_maps.append(np.concatenate(pieces, axis=-1))
        start += count
        progress(count)
    if not all_maps:
        raise ValueError("x is empty: expected at least one image")
    if selected is not None and not broadcast and start != len(selected):
        raise ValueError(f"indices has {len(selected)} rows but x has {start} images")
    logits = np.concatenate(all_logits)
    _warn_non_finite(logits)
    return logits, np.concatenate(all_maps)


def partial_explain(
    method: Method, *, name: str | None = None, **defaults: Any
) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """Binds a method (and default options) to :func:`explain`.

    Args:
        method: The pure method.
        name: Name of the returned function (defaults to the method's).
        **defaults: Default keyword arguments of :func:`explain`, overridable per call.

    Returns:
        ``f(model, x, indices=None, **kwargs) -> (logits, maps)``.
    """

    # Positional-only model and x: ``method=``, a parameter of the noise wrappers, goes through.
    def explain_with(
        model: keras.Model, x: object, /, indices: object = None, **kwargs: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        return explain(method, model, x, indices, **{**defaults, **kwargs})

    explain_with.__name__ = explain_with.__qualname__ = name or method.__name__
    defaults_text = ", ".join(f"{k}={getattr(v, '__name__', v)!s}" for k, v in defaults.items())
    explain_with.__doc__ = (
        f"Runs :func:`{method.__module__}.{method.__name__}` through "
        f":func:`saliency_widgets.explain` ({defaults_text or 'no defaults'}).\n\n"
        "Args:\n"
        "    model: The Keras model.\n"
        "    x: Preprocessed images ``(N, H, W, C)`` or a ``tf.data.Dataset``; for a model\n"
        "        with several inputs, all of them (a dict by name or a list in model order).\n"
        "    indices: Classes to explain (``None``, int, ``(N,)`` or ``(N, K)``).\n"
        "    **kwargs: Options of :func:`saliency_widgets.explain` (``explained_input=``\n"
        "        for a model with several inputs …) and of the method.\n\n"
        "Returns:\n"
        "    ``(logits, maps)``: ``(N, L)`` and ``(N, H, W, K)`` numpy arrays.\n"
    )
    explain_with.method = method  # type: ignore[attr-defined]
    return explain_with


def _warn_non_finite(logits: np.ndarray) -> None:
    if not np.isfinite(logits).all():
        warnings.warn("the model produced non-finite outputs; their maps are zeros", stacklevel=3)


__all__ = ["auto_jit", "explain", "partial_explain"]
