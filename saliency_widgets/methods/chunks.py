"""Perturbed copies in chunks: memory that does not grow with the number of perturbations.

Perturbation methods (Score-CAM and Ablation-CAM over channels, Occlusion over windows, RISE
over masks) run the model on many perturbed copies of each image and add up what each copy
says. :func:`chunked_sum` makes the copies ``chunk`` at a time inside a ``tf.while_loop`` whose
iterations never overlap, so at most ``batch × chunk`` copies exist at once however many
perturbations there are; :func:`chunk_size` picks ``chunk`` from a byte budget when the caller
leaves it to us.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

COPIES_BUDGET_BYTES = 64 * 2**20
"""Bytes of perturbed copies per model call when a method's chunk parameter is ``None``."""
ASSUMED_BATCH = 32
"""Batch size assumed when it is unknown at trace time (the engine's default)."""


def chunk_size(requested: int | None, count: int, copy_bytes: int, batch: int | None) -> int:
    """How many perturbations go through the model per call.

    Args:
        requested: The user's choice (a positive int), or ``None`` for the budget's.
        count: How many perturbations there are per image.
        copy_bytes: Bytes of one perturbed copy of one image.
        batch: Images per call (``None``: unknown, :data:`ASSUMED_BATCH`).

    Returns:
        ``requested`` or the most that keep ``batch × chunk`` copies under
        :data:`COPIES_BUDGET_BYTES`, between 1 and ``count``.
    """
    if requested is not None:
        return max(1, min(int(requested), count))
    per_perturbation = max(1, copy_bytes * (batch or ASSUMED_BATCH))
    return max(1, min(count, COPIES_BUDGET_BYTES // per_perturbation))


def chunked_sum(
    count: int, chunk: int, contribution: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]
) -> tf.Tensor:
    """``Σ`` over ``count`` perturbations of their contributions, ``chunk`` at a time.

    Args:
        count: Number of perturbations (known at trace time).
        chunk: Perturbations per call of ``contribution``.
        contribution: ``f(numbers, valid) -> tensor``: the summed contribution of perturbations
            ``numbers`` (``(chunk,)`` int32). In the last chunk, numbers past ``count`` repeat
            the last one and ``valid`` (``(chunk,)`` float32, 1 or 0) says which are real:
            ``f`` must weigh each perturbation's part by it.

    Returns:
        The sum of every chunk's contribution.
    """
    chunks = -(-count // chunk)

    def piece(number: tf.Tensor) -> tf.Tensor:
        numbers = number * chunk + tf.range(chunk)
        valid = tf.cast(numbers < count, tf.float32)
        return contribution(tf.minimum(numbers, count - 1), valid)

    total = piece(tf.constant(0))
    if chunks == 1:
        return total
    _, total = tf.while_loop(
        lambda number, _: number < chunks,
        lambda number, acc: (number + 1, acc + piece(number)),
        (tf.constant(1), total),
        parallel_iterations=1,
    )
    return total


__all__ = ["ASSUMED_BATCH", "COPIES_BUDGET_BYTES", "chunk_size", "chunked_sum"]
