"""The worker thread's work: the start-up forward pass, then the map jobs the state plans.

Results go into the :class:`~saliency_widgets.widget._state.WidgetState`; the widget is told
through callbacks (:class:`Reports`) so that it can send them to the browser. Nothing here
touches a trait or a comm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from saliency_widgets.widget import _compute
from saliency_widgets.widget._images import Pictures
from saliency_widgets.widget._state import MapJob, WidgetState


@dataclass(frozen=True)
class Reports:
    """Where the worker's results go (each called on the worker thread).

    Attributes:
        progress: The number of images the start-up pass has predicted so far.
        predicted: The start-up pass is done (scores are in the state).
        started: A map job begins.
        computed: A job's maps are in the cache.
        failed: A job failed (its message is in the state).
    """

    progress: Callable[[int], None]
    predicted: Callable[[], None]
    started: Callable[[MapJob], None]
    computed: Callable[[MapJob, np.ndarray], None]
    failed: Callable[[MapJob], None]


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
    ) -> None:
        self.model = model
        self.predictor = predictor
        self.pictures = pictures
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.state = state
        self.reports = reports
        self.inputs: list[np.ndarray | None] = [None] * len(pictures)
        """The model input of each image (``None`` until predicted, or where it failed)."""
        self._startup_pending = True

    def plan(self) -> Callable[[], None] | None:
        """The next thing to run: the start-up pass once, then the state's next job."""
        if self._startup_pending:
            self._startup_pending = False
            return self.startup
        job = self.state.next_job()
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


__all__ = ["MapJobs", "Reports"]
