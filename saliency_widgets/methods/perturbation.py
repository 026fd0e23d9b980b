"""Perturbation methods: Occlusion and RISE, the model as a black box.

Both run the model on many perturbed copies of each image and attribute the change of the class
score to the pixels perturbed; no gradient is taken, so any model works, subclassed ones too.
Copies go through the model ``mask_batch`` perturbations at a time for the whole batch
(:mod:`~saliency_widgets.methods.chunks`): memory is that of a forward pass of
``B × mask_batch`` images however many windows or masks there are, and the engine's
``batch_size`` bounds ``B``.

- **Occlusion** (Zeiler & Fergus 2014): a window of ``fill`` slides over the image; a pixel's
  attribution is the mean *drop* of the score over the windows that cover it (positive where
  hiding the pixel lowers the score).
- **RISE** (Petsiuk et al. 2018): random smooth masks keep each cell of a coarse grid with
  probability ``p``; a pixel's attribution is the average score of the masked images weighted
  by how much each mask kept the pixel. The masks are a pure function of ``seed`` and the mask
  number: the same seed gives the same maps whatever the batch, batch size or ``mask_batch``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from saliency_widgets._checks import positive_int
from saliency_widgets.inspection import repeated
from saliency_widgets.methods._random import portable_uniform
from saliency_widgets.methods.chunks import chunk_size, chunked_sum
from saliency_widgets.methods.feature_maps import ScoreActivation, class_scores
from saliency_widgets.methods.gradient import class_indices

Size = int | tuple[int, int] | None
MaskMaker = Callable[[tf.Tensor], tf.Tensor]
"""``f(numbers) -> (n, H, W)`` masks, 1 where the image is kept, 0 where ``fill`` replaces it."""


def _pair(value: Size, default: int, name: str) -> tuple[int, int]:
    if value is None:
        return default, default
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v >= 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or (height, width), got {value!r}")
    return int(pair[0]), int(pair[1])


def masked_scores(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None,
    count: int,
    masks_of: MaskMaker,
    fill: float = 0.0,
    activation: ScoreActivation = None,
    mask_batch: int | None = None,
    removed: bool = False,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Scores of the images under ``count`` masks, summed per pixel, ``mask_batch`` at a time.

    Mask ``M_i`` (1: kept) makes the copy ``x ⊙ M_i + fill · (1 - M_i)`` of every image, whose
    class score ``s_i`` is credited to the pixels the mask kept (``C_i = M_i``) or, with
    ``removed=True``, to those it removed (``C_i = 1 - M_i``).

    Args:
        model: A single-output model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: Units to explain: ``None``, ``(B,)`` or ``(B, K)`` integers.
        count: Number of masks.
        masks_of: Makes masks ``numbers`` (see :data:`MaskMaker`).
        fill: Value of the removed pixels.
        activation: How logits become scores (see
            :func:`~saliency_widgets.methods.feature_maps.class_scores`).
        mask_batch: Masks per model call (``None``: as many as fit the copies' budget).
        removed: Credit the removed pixels instead of the kept ones.

    Returns:
        ``(logits, scores, credited, credit)``: the clean ``(B, L)`` logits and ``(B, K)``
        scores, ``Σ_i s_i C_i`` as ``(B, H, W, K)`` and ``Σ_i C_i`` as ``(1, H, W, 1)``.
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    logits = model(inputs, training=False)
    indices = class_indices(indices, logits)
    scores = tf.gather(class_scores(logits, activation), indices, batch_dims=1)
    k = indices.shape[-1]
    chunk = chunk_size(mask_batch, count, 4 * int(math.prod(inputs.shape[1:])), inputs.shape[0])
    per_copy = repeated(model, chunk)  # other inputs (if any) beside each masked copy

    def contribution(numbers: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
        masks = masks_of(numbers)  # (n, H, W)
        kept = masks[None, :, :, :, None]
        copies = inputs[:, None] * kept + fill * (1.0 - kept)  # (B, n, H, W, C)
        copies = tf.reshape(copies, tf.concat([[-1], tf.shape(inputs)[1:]], 0))
        out = class_scores(per_copy(copies, training=False), activation)
        out = tf.reshape(out, [-1, chunk, tf.shape(out)[-1]])
        chosen = tf.gather(out, indices, axis=2, batch_dims=1)  # (B, n, K)
        chosen.set_shape([None, chunk, k])
        credit = ((1.0 - masks) if removed else masks) * valid[:, None, None]
        credited = tf.einsum("bnk,nhw->bhwk", chosen, credit)
        total = tf.reduce_sum(credit, axis=0)[None, :, :, None] + tf.zeros_like(credited[..., :1])
        return tf.concat([credited, total], axis=-1)

    sums = chunked_sum(count, chunk, contribution)
    return logits, scores, sums[..., :-1], sums[:1, :, :, -1:]


def occlusion(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    window: Size = None,
    stride: Size = None,
    fill: float = 0.0,
    mask_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Occlusion: how much the class score drops when a window of the image is hidden.

    A ``window`` of value ``fill`` slides over the image every ``stride`` pixels (all colour
    channels at once; windows start at 0 and stay inside the image, as in Xplique and Captum).
    Each pixel gets the *mean* score drop ``y(x) - y(x_occluded)`` (logits) of the windows
    that cover it (Captum's convention; Xplique sums them instead, which is the same when
    ``stride`` equals ``window``); pixels no window reaches get 0. Sign convention:
    attribution = score drop, positive where hiding the pixel lowers the score. With a
    one-pixel window and ``fill=0`` on a linear model ``y = Σ w·x + b`` the map is
    ``Σ_c w·x`` per pixel exactly.

    Cost: one forward pass per window placement and image, shared by all K classes.

    Args:
        model: A model mapping ``(B, H, W, C)`` to ``(B, L)`` logits (any kind, subclassed too).
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        window: Window ``(height, width)`` or side (``None``: an eighth of the smaller side).
        stride: Step between placements (``None``: half the window, at least 1).
        fill: Value of the hidden pixels, in the model's input space.
        mask_batch: Placements per model call, for the whole batch (``None``: as many as keep
            the copies under :data:`~saliency_widgets.methods.chunks.COPIES_BUDGET_BYTES`).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` signed maps.

    Raises:
        ValueError: For a window or stride that is not positive, or a window larger than the
            images.

    References:
        Zeiler, M. D., & Fergus, R. (2014). Visualizing and understanding convolutional
        networks. https://arxiv.org/abs/1311.2901
    """
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    height, width = int(inputs.shape[1]), int(inputs.shape[2])
    window_h, window_w = _pair(window, max(1, min(height, width) // 8), "window")
    if window_h > height or window_w > width:
        raise ValueError(
            f"window ({window_h}, {window_w}) is larger than the images ({height}, {width})"
        )
    stride_h, stride_w = _pair(stride, max(1, min(window_h, window_w) // 2), "stride")
    columns = (width - window_w) // stride_w + 1
    count = ((height - window_h) // stride_h + 1) * columns

    def masks_of(numbers: tf.Tensor) -> tf.Tensor:
        top = ((numbers // columns) * stride_h)[:, None, None]
        left = ((numbers % columns) * stride_w)[:, None, None]
        y = tf.range(height)[None, :, None]
        x = tf.range(width)[None, None, :]
        under = (y >= top) & (y < top + window_h) & (x >= left) & (x < left + window_w)
        return 1.0 - tf.cast(under, tf.float32)

    logits, scores, occluded, covers = masked_scores(
        model, inputs, indices, count, masks_of, fill, None, mask_batch, removed=True
    )
    mean_occluded = tf.math.divide_no_nan(occluded, covers)
    drops = scores[:, None, None, :] - mean_occluded
    return logits, tf.where(covers > 0, drops, tf.zeros_like(drops))


def _upsampling(cells: int, factor: int) -> tf.Tensor:
    """The ``(cells·factor, cells)`` matrix of bilinear upsampling by ``factor``.

    Half-pixel centres, edges clamped: ``tf.image.resize``'s. Written out because XLA's CPU
    lowering of ``tf.image.resize`` in TensorFlow 2.21 drops the values at odd factors' sample
    points (a 0 where the eager kernel gives the cell's value).
    """
    source = np.clip((np.arange(cells * factor) + 0.5) / factor - 0.5, 0, cells - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, cells - 1)
    matrix = np.zeros((cells * factor, cells), np.float32)
    rows = np.arange(cells * factor)
    np.add.at(matrix, (rows, low), 1 - (source - low))
    np.add.at(matrix, (rows, high), source - low)
    return tf.constant(matrix)


def rise_masks(
    numbers: tf.Tensor, size: tuple[int, int], cell: int, probability: float, seed: int
) -> tf.Tensor:
    """RISE's masks ``numbers``: smooth random masks, a pure function of ``(seed, number)``.

    As in the paper: a grid of ``(⌈H/cell⌉ + 1) × (⌈W/cell⌉ + 1)`` cells, each kept with
    ``probability``, upsampled bilinearly to ``cell`` pixels per cell and cropped to
    ``size`` at a random offset in ``[0, cell)`` on each axis. The random numbers come from
    :func:`~saliency_widgets.methods.smooth.portable_uniform` (same masks eager, compiled and
    under XLA).

    Args:
        numbers: ``(n,)`` int32 mask numbers.
        size: ``(H, W)``.
        cell: Cell side in pixels.
        probability: Probability that a cell is kept.
        seed: Seed.

    Returns:
        ``(n, H, W)`` float32 masks in ``[0, 1]`` (1: kept).
    """
    height, width = size
    rows, columns = -(-height // cell) + 1, -(-width // cell) + 1
    draws = rows * columns + 2

    def one(number: tf.Tensor) -> tf.Tensor:
        return portable_uniform(draws, seed, number)

    uniform = tf.vectorized_map(one, numbers)  # (n, draws), one stream per mask
    grid = tf.reshape(tf.cast(uniform[:, :-2] < probability, tf.float32), [-1, rows, columns])
    smooth = tf.einsum(  # (n, rows·cell, columns·cell)
        "yr,nrc,xc->nyx", _upsampling(rows, cell), grid, _upsampling(columns, cell)
    )
    shifts = tf.cast(tf.floor(uniform[:, -2:] * cell), tf.int32)  # (n, 2) in [0, cell)
    smooth = tf.gather(smooth, shifts[:, :1] + tf.range(height)[None], axis=1, batch_dims=1)
    return tf.gather(smooth, shifts[:, 1:] + tf.range(width)[None], axis=2, batch_dims=1)


def rise(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None = None,
    samples: int = 2000,
    cell: int | None = None,
    probability: float = 0.5,
    seed: int = 0,
    fill: float = 0.0,
    activation: ScoreActivation = "softmax",
    mask_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """RISE: the class score of randomly masked images, averaged with the masks as weights.

    ``samples`` smooth random masks ``M_i`` (see :func:`rise_masks`) each keep part of the
    image (removed pixels become ``fill``); the map is ``Σ_i s_i M_i / Σ_i M_i``, the class
    score ``s_i`` of each masked image averaged per pixel with the mask's value there as the
    weight. This is Xplique's estimator; the paper divides by ``N·p``, the expectation of
    ``Σ_i M_i``, and the two agree as the masks grow. On a linear model ``y = Σ w·x + b``
    with one-pixel cells it converges to ``(1 - p) Σ_c w·x + p (y - b) + b`` per pixel: the
    pixel's contribution, up to a scale and a constant.

    Cost: one forward pass per mask and image, shared by all K classes; ``mask_batch`` masks
    per model call. The same ``seed`` gives the same masks, and the same maps, whatever the
    batch or ``mask_batch``.

    Args:
        model: A model mapping ``(B, H, W, C)`` to ``(B, L)`` logits (any kind, subclassed too).
        inputs: ``(B, H, W, C)`` float inputs, already preprocessed for the model.
        indices: Units to explain: ``None`` (all ``L``), ``(B,)`` or ``(B, K)`` integers.
        samples: Number of masks (the paper uses 4000 for ImageNet models).
        cell: Side of a grid cell in pixels (``None``: a seventh of the larger side, the
            paper's 7 × 7 grid).
        probability: Probability that a cell is kept.
        seed: Seed of the masks.
        fill: Value of the removed pixels, in the model's input space.
        activation: How logits become scores: ``"softmax"`` (the paper's probabilities),
            ``"sigmoid"``, or ``None`` for the logits as they are.
        mask_batch: Masks per model call, for the whole batch (``None``: the copies' budget).

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` maps.

    Raises:
        ValueError: For ``probability`` outside ``(0, 1]`` or a non-positive ``cell``.

    References:
        Petsiuk, V., Das, A., & Saenko, K. (2018). RISE: Randomized input sampling for
        explanation of black-box models. https://arxiv.org/abs/1806.07421
    """
    if not 0 < probability <= 1:
        raise ValueError(f"probability must be in (0, 1], got {probability!r}")
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    size = (int(inputs.shape[1]), int(inputs.shape[2]))
    cell = cell if cell is not None else max(1, -(-max(size) // 7))
    cell = positive_int("cell", cell)
    return rise_from_masks(
        model,
        inputs,
        indices,
        samples,
        lambda numbers: rise_masks(numbers, size, cell, probability, seed),
        fill,
        activation,
        mask_batch,
    )


def rise_from_masks(
    model: keras.Model,
    inputs: tf.Tensor,
    indices: tf.Tensor | None,
    count: int,
    masks_of: MaskMaker,
    fill: float = 0.0,
    activation: ScoreActivation = "softmax",
    mask_batch: int | None = None,
) -> tuple[tf.Tensor, tf.Tensor]:
    """RISE's estimator ``Σ_i s_i M_i / Σ_i M_i`` over any masks (Xplique's, for a check).

    Args:
        model: A model mapping ``(B, H, W, C)`` to ``(B, L)`` logits.
        inputs: ``(B, H, W, C)`` float inputs.
        indices: Units to explain: ``None``, ``(B,)`` or ``(B, K)`` integers.
        count: Number of masks.
        masks_of: Makes masks ``numbers`` (see :data:`MaskMaker`); for fixed masks ``m``,
            ``lambda numbers: tf.gather(m, numbers)``.
        fill: Value of the removed pixels.
        activation: How logits become scores.
        mask_batch: Masks per model call.

    Returns:
        ``(logits, maps)``: ``(B, L)`` outputs and ``(B, H, W, K)`` maps.
    """
    logits, _, credited, credit = masked_scores(
        model, inputs, indices, count, masks_of, fill, activation, mask_batch
    )
    return logits, tf.math.divide_no_nan(credited, credit)


__all__ = ["masked_scores", "occlusion", "rise", "rise_from_masks", "rise_masks"]
