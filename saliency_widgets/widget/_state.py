"""The kernel side of a widget: selection, predictions, the map cache and what to compute next.

The worker thread (:mod:`._worker`) never runs a queue of stale requests. It asks
:meth:`WidgetState.next_job` what the *current* selection, then the views' latest request,
still lack, computes that, and asks again: when the user clicks faster than the model computes,
intermediate selections are simply never computed (latest wins). Display options are not here:
they live in each browser view, which draws every sign, colour map and blend from the one signed
map per (image, class, method) this cache holds.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from saliency_widgets.predict import scores_to_probabilities
from saliency_widgets.targets import top_k

if TYPE_CHECKING:
    from saliency_widgets.metrics import SanityCheck, Scorecard

MapKey = tuple[int, int, str]
"""``(image, class_index, method)``: everything that determines a signed map."""


@dataclass(frozen=True)
class Selection:
    """What the view explains.

    Attributes:
        image: Index of the image.
        class_index: The explained class (``None`` until predictions are known).
        method: Registry name of the method.
    """

    image: int
    class_index: int | None
    method: str

    def key(self) -> MapKey | None:
        """The cache key of the selected map (``None`` while the class is unknown)."""
        if self.class_index is None:
            return None
        return (self.image, self.class_index, self.method)


@dataclass(frozen=True)
class Want:
    """The maps a browser view asked for last (a compare mode, a reloaded page).

    Attributes:
        image: Index of the image.
        methods: The methods whose maps it lacks.
        class_index: A class it needs besides the top-K, or ``None``.
    """

    image: int
    methods: tuple[str, ...]
    class_index: int | None = None


@dataclass(frozen=True)
class MapJob:
    """One engine call: signed maps of ``classes`` for one image.

    Attributes:
        image: Index of the image.
        classes: The classes, the top-K first (padded to a fixed width so that the engine's
            compiled function never retraces).
        method: Registry name of the method.
        background: A prefetch, not needed by any view yet.
    """

    image: int
    classes: tuple[int, ...]
    method: str
    background: bool = False

    def keys(self) -> list[MapKey]:
        """The cache keys this job fills, one per class (padding included)."""
        return [(self.image, c, self.method) for c in self.classes]

    def unique_classes(self) -> tuple[int, ...]:
        """The classes without the padding, in order."""
        return tuple(dict.fromkeys(self.classes))


@dataclass(frozen=True)
class ScoreJob:
    """Figures about one map held in the cache: its scorecard, or its sanity check.

    Attributes:
        key: The map's ``(image, class_index, method)``.
        kind: ``"scores"`` (:func:`saliency_widgets.metrics.scorecard`) or ``"sanity"``
            (:func:`saliency_widgets.metrics.sanity_check`).
    """

    key: MapKey
    kind: Literal["scores", "sanity"] = "scores"


class MapCache:
    """A thread-safe least-recently-used cache of maps, bounded in bytes.

    Args:
        max_bytes: Memory budget; the least recently used maps are dropped beyond it.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self.max_bytes = max_bytes
        self._maps: collections.OrderedDict[MapKey, np.ndarray] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: MapKey) -> np.ndarray | None:
        """The map for ``key`` (marked as recently used), or ``None``."""
        with self._lock:
            found = self._maps.get(key)
            if found is not None:
                self._maps.move_to_end(key)
            return found

    def put(self, key: MapKey, saliency: np.ndarray) -> None:
        """Stores a map (read-only), evicting the least recently used beyond the budget."""
        saliency = np.array(saliency, dtype=np.float32)
        saliency.flags.writeable = False
        with self._lock:
            old = self._maps.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._maps[key] = saliency
            self._bytes += saliency.nbytes
            while self._bytes > self.max_bytes and len(self._maps) > 1:
                _, dropped = self._maps.popitem(last=False)
                self._bytes -= dropped.nbytes

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._maps

    def __len__(self) -> int:
        with self._lock:
            return len(self._maps)

    def clear(self) -> None:
        """Drops every map."""
        with self._lock:
            self._maps.clear()
            self._bytes = 0


class WidgetState:
    """Everything the kernel knows about one widget, and what to compute next.

    Every method is safe to call from any thread (:attr:`lock` is re-entrant).

    Args:
        count: Number of images.
        selection: The initial selection.
        k: How many top classes per image get maps (and rows in the class picker).
        prefetch: Whether neighbouring images are computed in the background.
    """

    def __init__(
        self,
        count: int,
        selection: Selection,
        k: int,
        prefetch: bool = True,
        metrics: bool = True,
    ) -> None:
        self.count = count
        self.k = k
        self.prefetch = prefetch
        self.metrics = metrics
        """Whether the selected map is scored once computed (:meth:`next_job`)."""
        self.lock = threading.RLock()
        self.selection = selection
        self.want: Want | None = None
        self.running: MapJob | ScoreJob | None = None
        self.cache = MapCache()
        self.scores: np.ndarray | None = None
        """``(N, L)`` scores of the start-up pass (pre-activation logits)."""
        self.probabilities: np.ndarray | None = None
        """``(N, L)`` probabilities (the scores themselves for a model without a head)."""
        self.top: np.ndarray | None = None
        self.image_errors: dict[int, str] = {}
        self.failures: dict[tuple[int, str], str] = {}
        self.started = False
        self.cards: dict[MapKey, Scorecard] = {}
        """Each scored map's figures (a few hundred bytes each: never evicted)."""
        self.checks: dict[MapKey, SanityCheck | str] = {}
        """Each checked map's sanity check, or why it could not be run."""
        self.score_failures: dict[MapKey, str] = {}
        self.scores_wanted: tuple[int, int, tuple[str, ...]] | None = None
        """``(image, class_index, methods)`` whose figures a view asked for last."""
        self.sanity_wanted: MapKey | None = None
        """The map whose sanity check a view (or :meth:`SaliencyWidget.check_sanity`) asked for."""

    def set_scores(
        self, scores: np.ndarray, errors: dict[int, str], activation: str = "none"
    ) -> None:
        """Records the start-up forward pass and picks each image's top classes.

        Args:
            scores: ``(N, L)`` scores (rows of failed images are ignored).
            errors: Messages for the images that could not be predicted.
            activation: The head the scores were taken before (``"softmax"``, ``"sigmoid"``
                or ``"none"``), which makes them probabilities.
        """
        with self.lock:
            self.scores = scores
            self.probabilities = scores_to_probabilities(scores, activation)
            self.k = min(self.k, scores.shape[1])
            self.top = top_k(np.nan_to_num(scores, nan=-np.inf), self.k)
            self.image_errors = dict(errors)
            self.started = True
            if self.selection.class_index is None:
                self.selection = replace(
                    self.selection, class_index=self.top_class(self.selection.image)
                )

    def top_class(self, image: int) -> int | None:
        """The predicted class of ``image`` (``None`` before predictions or on error)."""
        if self.top is None or image in self.image_errors:
            return None
        return int(self.top[image, 0])

    def select(
        self, image: int | None = None, class_index: int | None = None, method: str | None = None
    ) -> Selection:
        """Changes the selection (already validated; ``None`` leaves a field as it is).

        Changing the image without naming a class selects that image's predicted class, and
        retries what failed on it.

        Returns:
            The new selection.
        """
        with self.lock:
            current = self.selection
            if image is not None:
                self.failures = {k: v for k, v in self.failures.items() if k[0] != image}
                if class_index is None and image != current.image:
                    current = replace(current, class_index=self.top_class(image))
            self.selection = Selection(
                current.image if image is None else image,
                current.class_index if class_index is None else class_index,
                method or current.method,
            )
            return self.selection

    def ask(self, want: Want) -> None:
        """Records a view's latest request (it replaces the previous one: latest wins)."""
        with self.lock:
            self.want = want

    def ask_scores(self, image: int, class_index: int, methods: tuple[str, ...]) -> None:
        """Records the figures a view lacks (they replace the previous request: latest wins)."""
        with self.lock:
            self.scores_wanted = (image, class_index, methods)

    def ask_sanity(self, key: MapKey) -> None:
        """Records the map whose sanity check is wanted (latest wins)."""
        with self.lock:
            self.sanity_wanted = key

    def score_job(self, key: MapKey | None, kind: Literal["scores", "sanity"]) -> ScoreJob | None:
        """The job that fills the figures of a map the cache holds, if they are missing."""
        with self.lock:
            if key is None or key not in self.cache:
                return None
            done = self.checks if kind == "sanity" else {**self.cards, **self.score_failures}
            return None if key in done else ScoreJob(key, kind)

    def classes_for(self, image: int, extra: int | None = None) -> tuple[int, ...]:
        """The classes one engine call explains for ``image``: the top-K, then ``extra``.

        The tuple always has ``min(K + 1, L)`` entries (padded with the top class), so the
        engine compiles one function per method and reuses it for every call.

        Raises:
            RuntimeError: Before the start-up predictions are known.
        """
        if self.top is None or self.scores is None:
            raise RuntimeError("classes_for() called before the start-up predictions")
        top = [int(c) for c in self.top[image]]
        width = min(self.k + 1, self.scores.shape[1])
        if extra is not None and extra not in top:
            top.append(int(extra))
        return tuple(top + [top[0]] * (width - len(top)))

    def failure(self, image: int, method: str) -> str | None:
        """Why the maps of ``image`` by ``method`` cannot be shown, if they cannot."""
        with self.lock:
            return self.image_errors.get(image) or self.failures.get((image, method))

    def job_for(self, image: int, method: str, extra: int | None) -> MapJob | None:
        """The engine call that fills what the cache lacks for ``(image, method)``, if any."""
        with self.lock:
            if not self.started or self.failure(image, method) is not None:
                return None
            job = MapJob(image, self.classes_for(image, extra), method)
            return None if all(key in self.cache for key in job.keys()) else job

    def next_job(self) -> MapJob | ScoreJob | None:
        """What to compute next: maps first, then figures, then neighbours.

        In order: the selected map, the maps the views asked for last, the selected map's
        figures (when :attr:`metrics` is on), its sanity check when asked for, the figures the
        views asked for last, then the neighbouring images' maps. Only what the *current*
        selection and requests lack is planned, so a figure of a map the user has left is
        never computed (latest wins).

        Returns:
            The next job, or ``None`` when nothing is missing.
        """
        with self.lock:
            if not self.started:
                return None
            selection = self.selection
            wanted = [(selection.image, selection.method, selection.class_index)]
            if self.want is not None:
                want = self.want
                wanted += [(want.image, method, want.class_index) for method in want.methods]
            for image, method, extra in wanted:
                job = self.job_for(image, method, extra)
                if job is not None:
                    return job
            figure = self._figure_job(selection)
            if figure is not None:
                return figure
            if not self.prefetch:
                return None
            for image in (selection.image + 1, selection.image - 1):
                if 0 <= image < self.count:
                    job = self.job_for(image, selection.method, None)
                    if job is not None:
                        return replace(job, background=True)
            return None

    def _figure_job(self, selection: Selection) -> ScoreJob | None:
        """The next figure to compute for the selection and the views' requests, if any."""
        key = selection.key()
        if self.metrics:
            job = self.score_job(key, "scores")
            if job is not None:
                return job
        if self.sanity_wanted is not None and self.sanity_wanted == key:
            job = self.score_job(key, "sanity")
            if job is not None:
                return job
        if self.scores_wanted is not None and self.scores_wanted[0] == selection.image:
            image, class_index, methods = self.scores_wanted
            for method in methods:
                job = self.score_job((image, class_index, method), "scores")
                if job is not None:
                    return job
        return None

    def record(self, job: MapJob, maps: np.ndarray) -> None:
        """Stores the maps computed for ``job`` (whatever the selection is now).

        All of them under the state's lock: :meth:`shows_selection` (a display waiting for its
        snapshot) never sees the selected class's map without the rest of the job's.
        """
        with self.lock:
            for key, saliency in zip(job.keys(), maps, strict=True):
                self.cache.put(key, saliency)

    def record_failure(self, job: MapJob, message: str) -> None:
        """Remembers that ``job`` failed, so that it is not retried until its image is picked."""
        with self.lock:
            self.failures[(job.image, job.method)] = message

    def shows_selection(self) -> bool:
        """Whether the selected map is computed (or known to fail).

        A display waits for this: a view made then finds the map among the messages it
        replays, and asks the kernel for nothing. Its figures are not waited for (they cost
        about as much again on the first map, compiling included): they follow as a message
        to every view, and join the replayed messages of views made later.
        """
        with self.lock:
            key = self.selection.key()
            if not self.started:
                return False
            if key is None or self.failure(key[0], key[2]) is not None:
                return True
            return key in self.cache

    def held(self, image: int, method: str, classes: tuple[int, ...]) -> np.ndarray | None:
        """The cached maps of ``classes`` (``(K, h, w)``), or ``None`` if one is missing."""
        found = [self.cache.get((image, c, method)) for c in classes]
        if any(m is None for m in found):
            return None
        return np.stack(found)  # type: ignore[arg-type]


__all__ = ["MapCache", "MapJob", "MapKey", "ScoreJob", "Selection", "Want", "WidgetState"]
