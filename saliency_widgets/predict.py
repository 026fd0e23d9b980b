"""The engine's forward pass: every caller's logits and probabilities come from here.

:func:`predict` runs the same model :func:`saliency_widgets.explain` explains (a softmax or
sigmoid head removed, so the scores are logits) over a batch, with the engine's input checks,
and returns the scores together with how they become probabilities. The grid, the widget and
the command line use it instead of calling the model themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from saliency_widgets._checks import positive_int
from saliency_widgets.targets import top_k

ACTIVATIONS = ("softmax", "sigmoid", "none")
"""How scores become probabilities (``"none"``: they are shown as they are)."""


def scores_to_probabilities(logits: np.ndarray, activation: str) -> np.ndarray:
    """Applies the head's activation to logits (numpy, numerically stable).

    Args:
        logits: ``(N, L)``.
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.

    Returns:
        Probabilities (or the logits unchanged for ``"none"``).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if activation == "softmax":
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True))
    if activation == "sigmoid":
        return np.asarray(np.exp(-np.logaddexp(0.0, -logits)))  # no overflow for any logit
    return logits


@dataclass(frozen=True)
class Prediction:
    """Scores of a batch of images.

    Attributes:
        logits: ``(N, L)`` float32 pre-activation scores (the model's outputs when it has no
            softmax/sigmoid head).
        activation: The removed head's activation, ``"none"`` when there was none.
    """

    logits: np.ndarray
    activation: str

    @property
    def probabilities(self) -> np.ndarray:
        """``(N, L)`` probabilities (the logits themselves when ``activation`` is ``"none"``)."""
        return scores_to_probabilities(self.logits, self.activation)

    def top_k(self, k: int = 1) -> np.ndarray:
        """``(N, k)`` indices of each image's ``k`` highest scores, best first."""
        return top_k(self.logits, k)


def predict(
    model: Any,
    x: object,
    *,
    batch_size: int = 32,
    output: int | str | None = None,
    name: str = "x",
    explained_input: str | int | None = None,
) -> Prediction:
    """Scores images with the model the engine explains, batch by batch.

    Args:
        model: The Keras model (never modified).
        x: Preprocessed images ``(N, H, W, C)`` (numpy, tensor or list of arrays); for a model
            with several inputs, all of them as ``explain`` takes them (a dict by name or a
            list in ``model.inputs`` order).
        batch_size: Images per forward call.
        output: For a multi-output model, the output to score (as in ``explain``).
        name: What to call ``x`` in error messages (e.g. ``"image 3"``).
        explained_input: Which input holds the images (as in ``explain``).

    Returns:
        The :class:`Prediction`.

    Raises:
        TypeError: For a non-Keras model or non-numeric images.
        ValueError: For images the model cannot take, NaN/inf inputs, an empty batch, outputs
            that are not ``(N, L)`` scores, or non-finite scores.
    """
    # TensorFlow is loaded here, on first use: render (and so the Sphinx extension) imports this
    # module for scores_to_probabilities.
    from saliency_widgets import _inputs
    from saliency_widgets._model_shape import explained_position, model_inputs, model_shape
    from saliency_widgets.inspection import FixedInputs, explained_model

    batch_size = positive_int("batch_size", batch_size)
    target = explained_model(model, output=output)
    target.sync()
    declared = model_inputs(target.model)
    position = explained_position(declared, explained_input)
    split = _inputs.split_inputs(x, declared, position, name=name)
    array = _inputs.as_array(split.images, name=name)
    if array.ndim >= 1 and len(array) == 0:
        raise ValueError(f"{name} is empty: expected at least one image")
    _inputs.InputSpec(*model_shape(target.model, position).image()).check(array.shape, name=name)
    array = _inputs.as_float_batch(array, name=name)

    def forward(rows: slice) -> np.ndarray:
        scorer = target.model
        if split.others:
            scorer = FixedInputs(target.model, position, [o[rows] for o in split.others])
        return np.asarray(scorer(array[rows], training=False), np.float32)

    scores = np.concatenate(
        [forward(slice(i, i + batch_size)) for i in range(0, len(array), batch_size)]
    )
    if scores.ndim != 2:
        raise ValueError(f"the model's output has shape {scores.shape}; expected (N, L) scores")
    if not np.isfinite(scores).all():
        raise ValueError(f"the model's outputs for {name} are not finite (NaN or inf)")
    return Prediction(scores, target.removed_activation or "none")


def probability_titles(
    logits: np.ndarray, classes: np.ndarray, class_names: Sequence[str] | None, activation: str
) -> list[str]:
    """Titles like ``"star 97.3%"`` from logits, for the explained class of each image.

    Args:
        logits: ``(N, L)`` explained outputs.
        classes: ``(N,)`` explained class per image.
        class_names: Names by index (indices are shown when ``None``).
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``: how logits become probabilities.

    Returns:
        One title per image.
    """
    probabilities = scores_to_probabilities(logits, activation)
    titles = []
    for row, c in zip(probabilities, classes, strict=True):
        name = class_names[c] if class_names is not None else f"class {c}"
        titles.append(f"{name} {100 * row[c]:.1f}%" if activation != "none" else name)
    return titles


__all__ = ["ACTIVATIONS", "Prediction", "predict", "probability_titles", "scores_to_probabilities"]
