"""The worker thread's work: the start-up forward pass, then the map jobs the state plans.

Results go into the :class:`~saliency_widgets.widget._state.WidgetState`; the widget is told
through callbacks (:class:`Reports`) so that it can send them to the browser. Nothing here
touches a trait or a comm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from saliency_widgets.widget import _compute
from saliency_widgets.widget._images import Pictures
from saliency_widgets.widget._state import MapJob, ScoreJob, WidgetState


@dataclass(frozen=True)
class Reports:
    """Where the worker's results go (each called on the worker thread).

    Attributes:
        progress: The number of images the start-up pass has predicted so far.
        predicted: The start-up pass is done (scores are in the state).
        started: A map or figure job begins.
        computed: A job's maps are in the cache.
        failed: A job failed (its message is in the state).
        scored: A map's figures are in the state: its scorecard, its sanity check, or the
            message saying why they could not be computed.
    """

    progress: Callable[[int], None]
    predicted: Callable[[], None]
    started: Callable[[MapJob | ScoreJob], None]
    computed: Callable[[MapJob, np.ndarray], None]
    failed: Callable[[MapJob], None]
    scored: Callable[[ScoreJob, Any], None]


class MapJobs:
    """What the widget's worker thread runs.

    Args:
        model: The Keras model.
        predictor: Its forward pass.
        pictures: The images as given.
        preprocess: Images as given to model inputs (``None``: as they are).
        batch_size: Images per batch of the start-up pass.
        state: The widget's state.
        reports: Where results are reported.
        masks: The object mask of each image (localisation figures), or ``None``.
    """

    def __init__(
        self,
        model: keras.Model,
        predictor: _compute.Predictor,
        pictures: Pictures,
        preprocess: Callable[[np.ndarray], object] | None,
        batch_size: int,
        state: WidgetState,
        reports: Reports,
        masks: Sequence[np.ndarray] | None = None,
    ) -> None:
        self.model = model
        self.predictor = predictor
        self.pictures = pictures
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.state = state
        self.reports = reports
        self.masks = masks
        self.inputs: list[np.ndarray | None] = [None] * len(pictures)
        """The model input of each image (``None`` until predicted, or where it failed)."""
        self._startup_pending = True

    def plan(self) -> Callable[[], None] | None:
        """The next thing to run: the start-up pass once, then the state's next job."""
        if self._startup_pending:
            self._startup_pending = False
            return self.startup
        job = self.state.next_job()
        if isinstance(job, ScoreJob):
            return lambda: self.score(job)
        return None if job is None else (lambda: self.run(job))

    def startup(self) -> None:
        """Predicts every image; a failure that hits them all is shown on each."""
        count = len(self.pictures)
        try:
            predictions = _compute.predict_pictures(
                self.predictor,
                self.pictures,
                self.preprocess,
                self.batch_size,
                self.reports.progress,
                classes=self.predictor.units,
            )
        except Exception as error:  # a bug in preprocessing or the model that hits everything
            message = f"The start-up forward pass failed: {_compute.describe(error)}"
            predictions = _compute.Predictions(
                [None] * count,
                np.full((count, self.predictor.units or 1), np.nan, np.float32),
                dict.fromkeys(range(count), message),
            )
        self.inputs = predictions.inputs
        self.state.set_scores(predictions.scores, predictions.errors, self.predictor.activation)
        self.reports.predicted()

    def run(self, job: MapJob) -> None:
        """Computes ``job``'s maps, or records why not."""
        state = self.state
        with state.lock:
            state.running = job
        self.reports.started(job)
        try:
            x = self.inputs[job.image]
            if x is None:
                raise RuntimeError(f"image {job.image} has no model input")
            maps = _compute.explain_classes(
                self.model, x, job.classes, job.method, self.predictor.held, job.image
            )
        except Exception as error:
            state.record_failure(job, f"Could not compute the maps: {_compute.describe(error)}")
            with state.lock:
                state.running = None
            self.reports.failed(job)
        else:
            state.record(job, maps)
            with state.lock:
                state.running = None
            self.reports.computed(job, maps)

    def score(self, job: ScoreJob) -> None:
        """Computes the figures of a held map (scorecard or sanity check), or records why not."""
        state = self.state
        image, class_index, method = job.key
        saliency = state.cache.get(job.key)
        x = self.inputs[image]
        if saliency is None or x is None:
            return  # evicted meanwhile: the planner asks for the map again
        with state.lock:
            state.running = job
        self.reports.started(job)
        result: Any
        try:
            if job.kind == "sanity":
                result = _compute.check_map(self.model, x, class_index, method)
            else:
                mask = None if self.masks is None else self.masks[image]
                result = _compute.score_map(self.model, x, saliency, class_index, method, mask)
        except Exception as error:
            result = f"Could not compute the {job.kind}: {_compute.describe(error)}"
        with state.lock:
            state.running = None
        # Reported (sent, kept for later views) before it is recorded: a display waiting for
        # the recorded figures (WidgetState.shows_selection) then finds them among the
        # messages a new view replays.
        self.reports.scored(job, result)
        with state.lock:
            if job.kind == "sanity":
                state.checks[job.key] = result
            elif isinstance(result, str):
                state.score_failures[job.key] = result
            else:
                state.cards[job.key] = result


__all__ = ["MapJobs", "Reports"]
