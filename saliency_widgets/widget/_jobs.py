"""The worker thread's work: the start-up forward pass, then the map jobs the state plans.

Results go into the :class:`~saliency_widgets.widget._state.ExplorerState` (and the
:class:`~saliency_widgets.widget._display.Display`'s probabilities and class names); the owner
is told through two callbacks when the view should be drawn again. Nothing here touches a
widget.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np

from saliency_widgets import render
from saliency_widgets.widget import _compute
from saliency_widgets.widget._display import Display
from saliency_widgets.widget._images import Pictures
from saliency_widgets.widget._state import ExplorerState, MapJob


class MapJobs:
    """What the widget's worker thread runs.

    Args:
        model: The Keras model.
        predictor: Its forward pass.
        pictures: The images as given.
        preprocess: Images as given to model inputs (``None``: as they are).
        batch_size: Images per batch of the start-up pass.
        display: Where probabilities and class names are recorded; holds the state.
        progress: Called with the number of images the start-up pass has done.
        redraw: Draws the view again (``True``: the controls too); called with the lock held.
        status: Draws the status line alone; called with the lock held.
    """

    def __init__(
        self,
        model: keras.Model,
        predictor: _compute.Predictor,
        pictures: Pictures,
        preprocess: Callable[[np.ndarray], object] | None,
        batch_size: int,
        display: Display,
        progress: Callable[[int], None],
        redraw: Callable[[bool], None],
        status: Callable[[], None],
    ) -> None:
        self.model = model
        self.predictor = predictor
        self.pictures = pictures
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.display = display
        self.state: ExplorerState = display.state
        self.inputs: list[np.ndarray | None] = [None] * len(pictures)
        """The model input of each image (``None`` until predicted, or where it failed)."""
        self._progress = progress
        self._redraw = redraw
        self._status = status
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
        display = self.display
        classes = display.class_names
        count = len(self.pictures)
        try:
            predictions = _compute.predict_pictures(
                self.predictor,
                self.pictures,
                self.preprocess,
                self.batch_size,
                self._progress,
                classes=len(classes) if classes else None,
            )
        except Exception as error:  # a bug in preprocessing or the model that hits everything
            message = f"The start-up forward pass failed: {_compute.describe(error)}"
            predictions = _compute.Predictions(
                [None] * count,
                np.full((count, len(classes or [None])), np.nan, np.float32),
                dict.fromkeys(range(count), message),
            )
        self.inputs = predictions.inputs
        scores = predictions.scores
        with self.state.lock:
            display.probabilities = render.scores_to_probabilities(scores, display.activation)
            if display.class_names is None:
                display.class_names = [f"class {i}" for i in range(scores.shape[1])]
            self.state.set_scores(scores, predictions.errors)
            self._redraw(True)

    def run(self, job: MapJob) -> None:
        """Computes ``job``'s maps (or records why not); redraws if its image is shown."""
        state = self.state
        with state.lock:
            state.running = job
            self._status()
        try:
            x = self.inputs[job.image]
            if x is None:
                raise RuntimeError(f"image {job.image} has no model input")
            maps = _compute.explain_classes(self.model, x, job.classes, job.method, job.sign)
        except Exception as error:
            state.record_failure(job, f"Could not compute the maps: {_compute.describe(error)}")
        else:
            state.record(job, maps)
        finally:
            with state.lock:
                state.running = None
                if job.image == state.selection.image:
                    self._redraw(False)
                else:
                    self._status()


__all__ = ["MapJobs"]
