"""What the widget asks of the engine: predictions for every image, maps for one image.

No TensorFlow maths here: predictions come from :func:`saliency_widgets.predict.predict`, maps
from :func:`saliency_widgets.explain` with a method of the registry, called for its signed map
(:func:`saliency_widgets.methods.signs.signed_call`): the browser draws every sign mode from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from saliency_widgets import engine
from saliency_widgets._held_inputs import HeldInputs
from saliency_widgets._messages import describe
from saliency_widgets.inspection import ExplainedModel, explained_model
from saliency_widgets.methods.signs import signed_call
from saliency_widgets.predict import predict
from saliency_widgets.widget._images import Pictures


def explain_classes(
    model: keras.Model,
    x: np.ndarray,
    classes: tuple[int, ...],
    method: str,
    held: HeldInputs | None = None,
    image: int = 0,
) -> np.ndarray:
    """Signed maps of several classes of one image, from one batched multi-class engine call.

    Args:
        model: The user's model.
        x: One preprocessed image ``(H, W, C)``.
        classes: The classes to explain.
        method: Registry name of the method.
        held: The model's other inputs, for a model with several.
        image: The image's index (its row of ``held``).

    Returns:
        ``(len(classes), H', W')`` float32 signed maps (NaN and infinities as 0).
    """
    call = signed_call(method)
    _, maps = engine.explain(
        call.function,
        model,
        x[None] if held is None else held.feed(x[None], [image]),
        np.asarray([classes], dtype=np.int32),
        batch_size=1,
        postprocessing=None,
        verbose=False,
        **call.params,
    )
    maps = np.moveaxis(np.asarray(maps[0], dtype=np.float32), -1, 0)
    return np.where(np.isfinite(maps), maps, np.float32(0.0))


def score_map(
    model: keras.Model,
    x: np.ndarray,
    saliency: np.ndarray,
    class_index: int,
    method: str,
    mask: np.ndarray | None,
) -> Any:
    """The trust panel's figures of one signed map (:func:`saliency_widgets.metrics.scorecard`).

    The completeness gap is measured on the map itself for the methods whose signed maps are raw
    attributions (:func:`saliency_widgets.explorer.complete`).

    Args:
        model: The user's model.
        x: The preprocessed image ``(H, W, C)``.
        saliency: Its ``(h, w)`` signed map.
        class_index: The class the map explains.
        method: Registry name of the method.
        mask: The image's boolean ``(H, W)`` object mask, or ``None``.

    Returns:
        The :class:`~saliency_widgets.metrics.Scorecard`.
    """
    from saliency_widgets.explorer import complete
    from saliency_widgets.metrics import scorecard

    maps = saliency[None]
    raw = maps if complete(method, maps, x[None]) else None
    return scorecard(
        model,
        x[None],
        maps,
        [class_index],
        masks=None if mask is None else mask[None],
        attributions=raw,
    )[0][0]


def check_map(model: keras.Model, x: np.ndarray, class_index: int, method: str) -> Any:
    """The sanity check of one map: :func:`saliency_widgets.metrics.sanity_check`, as registered.

    The method runs as the registry has it (the maps the check's threshold was measured on) on
    the user's model and on a copy whose top layers are re-initialised (the user's model is
    never touched; the copy is kept for the next check).

    Returns:
        The :class:`~saliency_widgets.metrics.SanityCheck`.
    """
    from saliency_widgets.metrics import sanity_check

    return sanity_check(method, model, x[None], [class_index])[0][0]


class Predictor:
    """The start-up forward pass: pre-activation scores of every image.

    Args:
        model: The user's model (never modified).
        held: Its inputs other than the images, for a model with several.
    """

    def __init__(self, model: keras.Model, held: HeldInputs | None = None) -> None:
        self.model = model
        self.held = held
        self.target: ExplainedModel = explained_model(model)

    @property
    def activation(self) -> str:
        """How scores become probabilities: ``"softmax"``, ``"sigmoid"`` or ``"none"``."""
        return self.target.removed_activation or "none"

    @property
    def units(self) -> int | None:
        """Number of classes, when the model declares it."""
        try:
            return int(self.target.model.outputs[0].shape[-1])
        except (AttributeError, IndexError, TypeError, ValueError):
            return None

    def scores(self, x: np.ndarray, first: int = 0) -> np.ndarray:
        """Scores ``(B, L)`` of a preprocessed batch, with the engine's input checks.

        Args:
            x: ``(B, H, W, C)`` model inputs.
            first: Index of the batch's first image (for error messages).

        Returns:
            ``(B, L)`` float32 scores (logits when a softmax/sigmoid head was removed).

        Raises:
            ValueError: For inputs the model cannot take, or NaN/inf inputs or outputs.
        """
        name = f"image {first}" if len(x) == 1 else f"images {first}–{first + len(x) - 1}"
        fed = x if self.held is None else self.held.feed(x, slice(first, first + len(x)))
        return predict(self.model, fed, batch_size=max(1, len(x)), name=name).logits


@dataclass(frozen=True)
class Predictions:
    """The start-up forward pass over every image.

    Attributes:
        inputs: The model input of each image (``None`` where preprocessing failed).
        scores: ``(N, L)`` scores, NaN rows for the images that failed.
        errors: A readable message per failed image.
    """

    inputs: list[np.ndarray | None]
    scores: np.ndarray
    errors: dict[int, str]


def prepare(batch: np.ndarray, preprocess: Callable[[np.ndarray], object] | None) -> np.ndarray:
    """Model inputs of a batch of images as given (a channel axis is added to 2-D images)."""
    x = preprocess(batch) if preprocess is not None else batch
    x = x.numpy() if hasattr(x, "numpy") else np.asarray(x)
    return x[..., None] if x.ndim == 3 else x


def predict_pictures(
    predictor: Predictor,
    pictures: Pictures,
    preprocess: Callable[[np.ndarray], object] | None,
    batch_size: int,
    progress: Callable[[int], None],
    classes: int | None = None,
) -> Predictions:
    """Preprocesses and predicts every image, in batches; an image that fails fails alone.

    A batch that raises (or mixes image sizes) is retried image by image, so that one bad
    image gets its own message and the others their scores.

    Args:
        predictor: Wraps the model.
        pictures: The images as given.
        preprocess: Images-as-given to model inputs (``None``: as they are).
        batch_size: Images per forward pass.
        progress: Called with the number of images done after each batch.
        classes: Number of classes, for the scores' shape when every image fails.

    Returns:
        The :class:`Predictions`.
    """
    count = len(pictures)
    inputs: list[np.ndarray | None] = [None] * count
    errors: dict[int, str] = {}
    scores: np.ndarray | None = None
    for start in range(0, count, batch_size):
        indices = range(start, min(start + batch_size, count))
        for i, x, row in _predict_batch(predictor, pictures, preprocess, indices, errors):
            if scores is None:
                scores = np.full((count, len(row)), np.nan, np.float32)
            inputs[i], scores[i] = x, row
        progress(indices[-1] + 1)
    if scores is None:
        scores = np.full((count, classes or 1), np.nan, np.float32)
    return Predictions(inputs, scores, errors)


def _predict_batch(
    predictor: Predictor,
    pictures: Pictures,
    preprocess: Callable[[np.ndarray], object] | None,
    indices: range,
    errors: dict[int, str],
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    originals = pictures.originals
    if pictures.same_shape(indices):
        try:
            x = prepare(np.stack([originals[i] for i in indices]), preprocess)
            return list(zip(indices, x, predictor.scores(x, first=indices[0]), strict=True))
        except Exception:  # find out which image fails, one by one
            pass
    rows = []
    for i in indices:
        try:
            x = prepare(originals[i][None], preprocess)
            rows.append((i, x[0], predictor.scores(x, first=i)[0]))
        except Exception as error:
            errors[i] = f"The model could not process image {i}: {describe(error)}"
    return rows


__all__ = [
    "Predictions",
    "Predictor",
    "check_map",
    "describe",
    "explain_classes",
    "predict_pictures",
    "prepare",
    "score_map",
]
