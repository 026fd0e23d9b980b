"""Path methods beyond the straight line: Guided Integrated Gradients and Blur IG.

Both integrate the gradient of the class score along a path that ends at the input, so their
attributions sum to the score's change along the path (completeness), as Integrated Gradients'
do; they differ in the path, and follow the definitions of PAIR ``saliency`` (``saliency.core``)
step for step, batched over images and classes and traced in TensorFlow:

- **Guided IG** (Kapishnikov et al. 2021) walks from the baseline to the input by moving, at each
  of ``steps`` steps, the features with the smallest gradient magnitude first (a ``fraction`` of
  them per inner iteration) until the path's L1 distance to the input has shrunk by ``1/steps``
  of the total, never straying more than ``max_dist`` (in ``α``) from the straight line. Each
  (image, class) pair has its own path. The bookkeeping of the path is float64, as PAIR's numpy
  is, so the choice of features matches its one; the gradient is float32.
- **Blur IG** (Xu et al. 2020) walks from a Gaussian blur of ``max_sigma`` pixels back to the
  image: ``−Σᵢ (σᵢ₊₁ − σᵢ) · ∂x/∂σ(σᵢ) · ∇S(blur(x, σᵢ))`` with ``∂x/∂σ`` a finite difference of
  ``grad_step``. The blur is scipy's ``gaussian_filter`` (``mode="constant"``, truncated at 4σ),
  written as two Toeplitz matrix products so that any σ runs in one traced function.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets.inspection import repeated
from saliency_widgets.inspection import tiled as tiled_rows
from saliency_widgets.methods.gradient import (
    Reduce,
    class_gradients,
    class_indices,
    reduce_channels,
)
from saliency_widgets.methods.integrated import (
    default_step_batch,
    make_baseline,
    sum_over_chunks,
)

CLOSE = 1e-9
"""PAIR's tolerance (relative and absolute) for "the step's L1 target is reached"."""
TRUNCATE = 4.0
"""scipy's ``gaussian_filter`` truncates its kernel at this many sigmas."""


def _per_class(tensor: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """``(B, ...)`` → ``(B·K, ...)``, each row repeated for its K classes."""
    return tf.repeat(tensor, k, axis=0)


def _quantile_lower(values: tf.Tensor, fraction: float) -> tf.Tensor:
    """Per row of ``(N, P)``, numpy's ``quantile(values, fraction, method="lower")``."""
    size = values.shape[-1]
    position = int(np.floor(fraction * (size - 1)))
    return tf.sort(values, axis=-1)[:, position]


def _guided_step(
    x: tf.Tensor,
    attr: tf.Tensor,
    grad: tf.Tensor,
    bounds: tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor],
    target: tf.Tensor,
    fraction: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of Guided IG: moves ``(N, P)`` points until their L1 gap reaches ``target``."""
    x_in, x_base, x_min, x_max = bounds
    delta = x_in - x_base
    nonzero = tf.not_equal(delta, 0)
    lo = tf.where(nonzero, (x_min - x_base) / tf.where(nonzero, delta, 1), 0)
    infinity = tf.constant(np.inf, grad.dtype)

    def body(
        x: tf.Tensor, attr: tf.Tensor, active: tf.Tensor, count: tf.Tensor
    ) -> tuple[tf.Tensor, ...]:
        start = x
        alpha = tf.where(nonzero, (x - x_base) / tf.where(nonzero, delta, 1), np.inf)
        x = tf.where(alpha < lo, x_min, x)  # features left behind jump to the lower bound
        gap = tf.reduce_sum(tf.abs(x - x_in), axis=1)
        tolerance = tf.maximum(CLOSE * tf.maximum(tf.abs(gap), tf.abs(target)), CLOSE)
        reached = tf.abs(gap - target) <= tolerance
        guided = tf.where(tf.equal(x, x_max), infinity, grad)
        magnitude = tf.abs(guided)
        threshold = _quantile_lower(magnitude, fraction)[:, None]
        selected = (magnitude <= threshold) & tf.not_equal(guided, infinity)
        room = tf.reduce_sum(tf.abs(x - x_max) * tf.cast(selected, x.dtype), axis=1)
        gamma = tf.where(room > 0, (gap - target) / tf.where(room > 0, room, 1), np.inf)
        partial = x + (x_max - x) * gamma[:, None]
        moved = tf.where(selected, tf.where(gamma[:, None] > 1, x_max, partial), x)
        x = tf.where(reached[:, None], x, moved)
        x = tf.where(active[:, None], x, start)
        attr = attr + (x - start) * grad
        active = active & ~reached & (gamma > 1)
        return x, attr, active, count + 1

    active = tf.ones(tf.shape(x)[:1], tf.bool)
    # The inner loop of PAIR, for all rows at once: rows that are done keep their point.
    x, attr, _, _ = tf.while_loop(
        lambda x, attr, active, count: tf.reduce_any(active) & (count < 100_000),
        body,
        (x, attr, active, tf.constant(0)),
        parallel_iterations=1,
    )
    return x, attr


def guided_integrated_gradients(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    steps: int = 200,
    fraction: float = 0.25,
    max_dist: float = 0.02,
    baseline: str | np.ndarray | tf.Tensor = "zeros",
    reduce: Reduce = "sum",
    blur_sigma: float | None = None,
    seed: int = 0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Guided Integrated Gradients: IG along a path that moves the least important features first.

    Straight-line IG crosses regions where the gradient is large but unrelated to the input
    (noise in the maps); Guided IG adapts the path to the model, moving at each step the
    features whose gradient is smallest, so that attributions gather on the features that
    matter. With ``max_dist=0`` it is IG on the straight line (left Riemann sum).

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers; each
            (image, unit) pair walks its own path.
        steps: Steps of the path (PAIR's ``x_steps``); one gradient of every path per step.
        fraction: Share of the features moved per inner iteration, those with the smallest
            gradient magnitude (PAIR's default 0.25).
        max_dist: How far, in ``α`` of the straight line, a feature may run ahead of it:
            ``0`` is straight-line IG, ``1`` unbounded (PAIR's default 0.02).
        baseline: ``"zeros"``, ``"blurred"``, ``"uniform"`` or an array (see
            :func:`~saliency_widgets.methods.integrated.make_baseline`).
        reduce: Channel reduction; the default signed ``"sum"`` keeps completeness.
        blur_sigma: Blur of the ``"blurred"`` baseline, in pixels.
        seed: Seed of the ``"uniform"`` baseline.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs and ``(B, H, W, K)`` maps
        (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    Example:
        >>> import saliency_widgets as sw
        >>> model = sw.zoo.load_shapes_model()
        >>> samples = sw.zoo.load_samples(2)
        >>> logits, maps = sw.guided_integrated_gradients(
        ...     model, sw.zoo.preprocess(samples.images), samples.labels, steps=16)
        >>> maps.shape
        (2, 64, 64, 1)

    References:
        Kapishnikov, A., Venugopalan, S., Avci, B., Wedin, B., Terry, M., & Bolukbasi, T.
        (2021). Guided Integrated Gradients: An adaptive path method for removing noise.
        https://arxiv.org/abs/2106.09788
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits = model(inputs, training=False)
    indices = class_indices(indices, logits)
    batch, k = tf.shape(indices)[0], tf.shape(indices)[1]
    shape = tf.shape(inputs)
    reference = make_baseline(inputs, baseline, blur_sigma, seed)
    x_in = tf.reshape(tf.cast(_per_class(inputs, k), tf.float64), [batch * k, -1])
    x_base = tf.reshape(tf.cast(_per_class(reference, k), tf.float64), [batch * k, -1])
    units = tf.reshape(indices, [-1, 1])
    total = tf.reduce_sum(tf.abs(x_in - x_base), axis=1)
    per_class = repeated(model, k)  # other inputs (if any) beside each image's K paths

    def gradient(x: tf.Tensor) -> tf.Tensor:
        points = tf.reshape(tf.cast(x, tf.float32), tf.concat([[-1], shape[1:]], 0))
        _, grads = class_gradients(per_class, points, units)  # (N, 1, H, W, C)
        return tf.cast(tf.reshape(grads, tf.shape(x)), tf.float64)

    def body(step: tf.Tensor, x: tf.Tensor, attr: tf.Tensor) -> tuple[tf.Tensor, ...]:
        grad = gradient(x)
        alpha = tf.cast(step + 1, tf.float64) / steps
        alpha_min = tf.maximum(alpha - max_dist, 0.0)
        alpha_max = tf.minimum(alpha + max_dist, 1.0)
        x_min = x_base + (x_in - x_base) * alpha_min
        x_max = x_base + (x_in - x_base) * alpha_max
        target = total * (1.0 - alpha)
        x, attr = _guided_step(x, attr, grad, (x_in, x_base, x_min, x_max), target, fraction)
        return step + 1, x, attr

    _, _, attr = tf.while_loop(
        lambda step, *_: step < steps,
        body,
        (tf.constant(0), x_base, tf.zeros_like(x_base)),
        parallel_iterations=1,
    )
    attr = tf.reshape(tf.cast(attr, tf.float32), tf.concat([[batch, k], shape[1:]], 0))
    return logits, reduce_channels(attr, reduce)


def blur_matrices(sigmas: tf.Tensor, size: int, largest: float) -> tf.Tensor:
    """``(S, size, size)`` matrices that blur one image axis as scipy's ``gaussian_filter`` does.

    Row ``i`` holds the kernel centred on ``i`` (``mode="constant"``: taps outside the image see
    zeros), normalised over the whole kernel truncated at ``4σ`` (``int(4σ + 0.5)`` taps each
    side), even where the image cuts it off. ``σ = 0`` (and any ``σ`` under 1/8 pixel, whose
    kernel has one tap) is the identity.

    Args:
        sigmas: ``(S,)`` blur widths in pixels.
        size: Length of the axis.
        largest: An upper bound of ``sigmas`` (sizes the normalising sum).

    Returns:
        float64 matrices; ``M @ column`` blurs a column.
    """
    sigmas = tf.cast(sigmas, tf.float64)[:, None]
    radius = tf.floor(TRUNCATE * sigmas + 0.5)  # (S, 1)
    reach = int(TRUNCATE * largest + 0.5) + 1
    taps = tf.range(-reach, reach + 1, dtype=tf.float64)[None]  # (1, T)
    safe = tf.maximum(sigmas, 1e-12)
    weights = tf.where(tf.abs(taps) <= radius, tf.exp(-0.5 * tf.square(taps / safe)), 0.0)
    norm = tf.reduce_sum(weights, axis=1)[:, None, None]  # (S, 1, 1)
    positions = np.arange(size, dtype=np.float64)
    offsets = tf.constant(positions[:, None] - positions[None, :])[None]  # (1, size, size)
    window = tf.abs(offsets) <= radius[..., None]
    values = tf.exp(-0.5 * tf.square(offsets / safe[..., None]))
    return tf.where(window, values, 0.0) / norm


def gaussian_blur_axes(images: tf.Tensor, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """Blurs ``(B, H, W, C)`` images by ``S`` pairs of axis matrices: ``(S, B, H, W, C)``.

    In the matrices' precision (float64 from :func:`blur_matrices`): Blur IG takes a finite
    difference of two blurs ``grad_step`` apart, which float32 would round away.
    """
    images = tf.cast(images, rows.dtype)
    blurred = tf.einsum("sij,bjwc->sbiwc", rows, images)
    return tf.einsum("skl,sbilc->sbikc", cols, blurred)


def blur_integrated_gradients(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    steps: int = 100,
    max_sigma: float = 50.0,
    grad_step: float = 0.01,
    sqrt: bool = False,
    reduce: Reduce = "sum",
    step_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Blur IG: gradients integrated along a path from a blurred copy of the image to the image.

    Blurring removes information without inventing any (a baseline that is not "missing
    information" for the model is IG's weak point): the attributions sum to
    ``S(x) − S(blur(x, max_sigma))``, as ``steps`` grows.

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        steps: Points on the path (left Riemann sum over ``σ``; PAIR's default 100).
        max_sigma: The blur the path starts from, in pixels (PAIR's default 50).
        grad_step: Step of the finite difference ``∂ blur / ∂σ`` (PAIR's default 0.01).
        sqrt: Space the blurs as ``σᵢ = √(i · max_sigma / steps)`` (so the path ends at
            ``√max_sigma``), as PAIR's ``sqrt=True``; default linear.
        reduce: Channel reduction; the default signed ``"sum"`` keeps completeness.
        step_batch: Path points evaluated per model call (each on the whole batch); ``None``:
            1 on CPUs, 8 on GPUs/TPUs.

    Returns:
        ``(logits, maps)``: the ``(B, L)`` outputs and ``(B, H, W, K)`` maps
        (``(B, H, W, C, K)`` when ``reduce`` is ``None``).

    References:
        Xu, S., Venugopalan, S., & Sundararajan, M. (2020). Attribution in scale and space.
        https://arxiv.org/abs/2004.03383
    """
    step_batch = min(default_step_batch() if step_batch is None else step_batch, steps)
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits = model(inputs, training=False)
    indices = class_indices(indices, logits)
    height, width = int(inputs.shape[1]), int(inputs.shape[2])

    levels = np.arange(steps + 1, dtype=np.float64) * max_sigma / steps
    sigmas = np.sqrt(levels) if sqrt else levels
    chunks = -(-steps // step_batch)
    padded = chunks * step_batch
    # Padding points (to fill the last chunk) get a zero step, so they add nothing.
    widths = np.zeros(padded)
    widths[:steps] = np.diff(sigmas)
    starts = np.zeros(padded)
    starts[:steps] = sigmas[:-1]
    largest = float(sigmas[-1]) + grad_step
    starts = tf.constant(starts.reshape(chunks, step_batch))
    widths = tf.constant(widths.reshape(chunks, step_batch).astype(np.float32))
    batch = tf.shape(inputs)[0]
    tiled = tf.tile(indices, [step_batch, 1])
    along = tiled_rows(model, step_batch)  # other inputs (if any) beside each point

    def path_gradients(chunk: tf.Tensor) -> tf.Tensor:
        sigma = tf.gather(starts, chunk)  # (s,)
        both = tf.concat([sigma, sigma + grad_step], 0)
        blurred = gaussian_blur_axes(
            inputs, blur_matrices(both, height, largest), blur_matrices(both, width, largest)
        )  # (2s, B, H, W, C)
        points, shifted = blurred[:step_batch], blurred[step_batch:]
        derivative = tf.cast((shifted - points) / grad_step, tf.float32)  # ∂x/∂σ
        flat = tf.reshape(tf.cast(points, tf.float32), tf.concat([[-1], tf.shape(inputs)[1:]], 0))
        _, grads = class_gradients(along, flat, tiled)  # (s·B, K, H, W, C)
        grads = tf.reshape(grads, tf.concat([[step_batch, batch], tf.shape(grads)[1:]], 0))
        step = derivative * tf.gather(widths, chunk)[:, None, None, None, None]
        return tf.reduce_sum(grads * step[:, :, None], axis=0)  # (B, K, H, W, C)

    return logits, reduce_channels(-sum_over_chunks(chunks, path_gradients), reduce)


__all__ = [
    "blur_integrated_gradients",
    "blur_matrices",
    "gaussian_blur_axes",
    "guided_integrated_gradients",
]
