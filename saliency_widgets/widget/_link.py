"""The kernel side of a widget's browser views: what they ask, what they are sent.

:class:`ViewLink` answers the views' requests (:mod:`._protocol`) from the cache or by planning
work for the worker, sends every map the worker computes to every view, and keeps the
``status`` a view shows (start-up progress, what is being computed, what failed). It writes
through two callables, so it holds no trait and no comm itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from saliency_widgets.methods import get_method
from saliency_widgets.widget import _protocol
from saliency_widgets.widget._catalogue import Catalogue
from saliency_widgets.widget._state import MapJob, MapKey, ScoreJob, Want, WidgetState

Post = Callable[[dict[str, Any], list[bytes]], None]
"""Sends a custom message with binary buffers to every view."""
Publish = Callable[[dict[str, Any]], None]
"""Sets the ``status`` trait."""

Keep = Callable[[list[dict[str, Any]]], None]
"""Sets the ``first`` trait: messages every view replays when it is made."""


class ViewLink:
    """Answers the browser views of one widget (see the module's description).

    Args:
        catalogue: The widget's pictures and classes.
        state: Its state (selection, cache, plans).
        post: Sends a custom message to the views.
        publish: Sets the status the views show.
        keep: Sets the messages a view replays when it is made (the first maps).
        wake: Tells the worker the state changed.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        state: WidgetState,
        post: Post,
        publish: Publish,
        keep: Keep,
        wake: Callable[[], None],
    ) -> None:
        self.catalogue = catalogue
        self._pushed = False
        self._kept: list[dict[str, Any]] = []
        """The messages a new view replays (the ``first`` trait)."""
        self._first_key: MapKey | None = None
        """The first shown map, whose figures join :attr:`_kept` once computed."""
        self.state = state
        self._post = post
        self._publish = publish
        self._keep = keep
        self._wake = wake
        self.lock = threading.RLock()
        """Held while a message or a trait is sent (the worker and the kernel's thread send)."""
        self.received = 0
        """Custom messages received from the views (a cosmetic change sends none)."""

    # From the views ------------------------------------------------------------------------

    def receive(self, content: dict[str, Any]) -> None:
        """Handles one custom message from a view; a malformed one is ignored."""
        self.received += 1
        catalogue = self.catalogue
        try:
            request = _protocol.parse(
                content, len(catalogue), catalogue.classes(), catalogue.methods
            )
        except ValueError:
            return
        if isinstance(request, _protocol.ImagesMessage):
            self.send_pictures(request.indices, request.thumbs)
            return
        if isinstance(request, _protocol.ScoresMessage):
            for method in request.methods:
                self.send_figures((request.image, request.class_index, method), "scores")
            self.state.ask_scores(request.image, request.class_index, request.methods)
            self._wake()
            return
        if isinstance(request, _protocol.SanityMessage):
            key = (request.image, request.class_index, request.method)
            if not self.send_figures(key, "sanity"):
                self.state.ask_sanity(key)
                self._wake()
            return
        self.state.ask(Want(request.image, request.methods, request.class_index))
        if self.state.started:
            for method in request.methods:
                self.send_held(request.image, method, request.class_index)
        self._wake()

    # To the views --------------------------------------------------------------------------

    def post(self, content: dict[str, Any], buffers: list[bytes]) -> None:
        """Sends a message (one at a time: the worker and the kernel's thread both send)."""
        with self.lock:
            self._post(content, buffers)

    def send_pictures(self, indices: Sequence[int], thumbs: bool) -> None:
        """Sends pictures (with their masks, if any) or thumbnails of ``indices``."""
        for i in indices:
            self.post(*self._picture(i, thumbs))

    def _picture(self, i: int, thumbs: bool) -> tuple[dict[str, Any], list[bytes]]:
        catalogue = self.catalogue
        mask = None if catalogue.masks is None or thumbs else catalogue.masks[i]
        return _protocol.image_message(i, catalogue.shown[i], thumbs, mask)

    def send_held(self, image: int, method: str, extra: int | None) -> bool:
        """Sends the cached maps of ``(image, method)`` if all are there; says whether."""
        if self.state.failure(image, method):
            self.post({"kind": "failed", "image": image, "methods": [method]}, [])
            return True
        classes = tuple(dict.fromkeys(self.state.classes_for(image, extra)))
        maps = self.state.held(image, method, classes)
        if maps is None:
            return False
        self.send_maps(image, method, classes, maps)
        return True

    def send_maps(
        self, image: int, method: str, classes: tuple[int, ...], maps: np.ndarray
    ) -> None:
        """Sends ``(K, h, w)`` signed maps of ``classes`` with their probabilities."""
        scores = self._scores(image, classes)
        self.post(*_protocol.maps_message(image, method, classes, maps, scores))

    def _scores(self, image: int, classes: tuple[int, ...]) -> Any:
        probabilities = self.state.probabilities
        return [0.0] * len(classes) if probabilities is None else probabilities[image, classes]

    def send_figures(self, key: MapKey, kind: str) -> bool:
        """Sends the held figures (``"scores"`` or ``"sanity"``) of a map; says whether."""
        state = self.state
        found: object
        with state.lock:
            if kind == "sanity":
                found = state.checks.get(key)
            else:
                found = state.cards.get(key) or state.score_failures.get(key)
        if found is None:
            return False
        self.post(_protocol.figure_message(kind, key, found), [])
        return True

    def scored(self, job: ScoreJob, result: object) -> None:
        """The worker computed a map's figures (or failed to): they go to every view.

        The first maps' figures join the messages a new view replays (the ``first`` trait).
        """
        content = _protocol.figure_message(job.kind, job.key, result)
        with self.lock:
            if job.kind == "scores" and job.key == self._first_key and self._kept:
                self._kept = [*self._kept, {"content": content, "buffers": []}]
                self._keep(self._kept)
                self._first_key = None
        self.post(content, [])
        self.report()

    def computed(self, job: MapJob, maps: np.ndarray) -> None:
        """The worker computed ``job``: its maps go to every view."""
        classes = job.unique_classes()
        first = [job.classes.index(c) for c in classes]
        self.send_maps(job.image, job.method, classes, maps[first])
        if not self._pushed and not job.background:
            # What the first view shows, kept in a synced trait: a view made after these maps
            # (a cell that waited for them) draws at once, asking a kernel busy prefetching
            # nothing.
            self._pushed = True
            per_page = self.catalogue.per_page
            start = job.image - job.image % per_page
            page = range(start, min(start + per_page, len(self.catalogue)))
            scores = self._scores(job.image, classes)
            messages = [
                _protocol.maps_message(job.image, job.method, classes, maps[first], scores),
                self._picture(job.image, thumbs=False),
                *(self._picture(i, thumbs=True) for i in page),
            ]
            with self.lock:
                self._kept = [{"content": c, "buffers": b} for c, b in messages]
                self._keep(self._kept)
                shown = self.state.selection.key()
                self._first_key = shown if shown in job.keys() else job.keys()[0]
        self.report()

    def failed(self, job: MapJob) -> None:
        """The worker could not compute ``job``: the views are told (the reason is in status)."""
        self.report()
        self.post({"kind": "failed", "image": job.image, "methods": [job.method]}, [])

    # Status --------------------------------------------------------------------------------

    def progress(self, done: int) -> None:
        """The start-up pass has predicted ``done`` images."""
        total = len(self.catalogue)
        self.publish(f"Predicting {total} images… {done}/{total}", done)

    def report(self) -> None:
        """The status after a change of what the worker runs."""
        state = self.state
        with state.lock:
            running = state.running
            cached = len(state.cache)
        if isinstance(running, ScoreJob):
            image, class_index, method = running.key
            what = "figures" if running.kind == "scores" else "sanity check"
            text = (
                f"Computing the {what} of the {get_method(method).label} map of image {image} "
                f"for {self.catalogue.class_name(class_index)}…"
            )
        elif running is not None and not running.background:
            names = ", ".join(self.catalogue.class_name(c) for c in running.unique_classes())
            text = (
                f"Computing {get_method(running.method).label} maps of image {running.image} "
                f"for {names}…"
            )
        else:
            text = f"Ready · {cached} maps"
            if running is not None:
                text += f" · prefetching image {running.image}…"
        self.publish(text, len(self.catalogue))

    def publish(self, text: str, done: int) -> None:
        """Sets the status: a line of text, start-up progress, and what failed."""
        state = self.state
        with state.lock:
            errors = {str(i): message for i, message in state.image_errors.items()}
            failures = {f"{i}/{m}": message for (i, m), message in state.failures.items()}
        status = {
            "text": text,
            "done": done,
            "total": len(self.catalogue),
            "errors": errors,
            "failures": failures,
        }
        with self.lock:
            self._publish(status)


__all__ = ["Keep", "Post", "Publish", "ViewLink"]
