"""The :class:`SaliencyWidget`: layout, events and the worker that computes maps off the event path.

Data flows one way: clicks change the selection (:mod:`._state`), the worker asks the engine for
what the selection lacks (:mod:`._compute`), and every redraw reads the *current* selection and
the cache, under one lock, through the renderer (:mod:`._view`). A redraw of an older selection
can therefore never land after a newer one.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.figure import Figure

from saliency_widgets import display, render
from saliency_widgets.widget import _compute
from saliency_widgets.widget._display import Display
from saliency_widgets.widget._images import load_pictures
from saliency_widgets.widget._layout import COLOUR_MAPS, Controls
from saliency_widgets.widget._state import ExplorerState, MapJob, Selection, Worker
from saliency_widgets.widget._view import PictureRenderer


class SaliencyWidget(widgets.VBox):
    """Explore a model's saliency maps: click through images, classes and methods.

    A composite of core ipywidgets (a ``VBox``, so it nests in other layouts): it renders in
    JupyterLab, Notebook 7, Voila, VS Code and Colab with nothing to install or enable beyond
    ``pip install saliency-widgets[widget]``. The model runs on a worker thread: at start-up one
    batched forward pass over all images (with a progress bar), then, for the selected image,
    the maps of its top-K classes in one engine call, cached by (image, class, method, sign),
    and the neighbouring images in the background. Clicking faster than the model computes is
    fine: the view always ends on the last selection.

    Args:
        model: A Keras image classifier (never modified).
        images: A numpy batch (uint8 or float), a list of arrays, a list of image file paths,
            or a folder.
        labels: The true class of each image (marked in the class picker), or ``None``.
        preprocess: Maps a batch of images as given to model inputs (e.g.
            ``lambda x: x / 127.5 - 1``); the display always shows the images as given.
        class_names: Names by class index (``"class 3"`` when omitted).
        method: Initial method, a name of :data:`saliency_widgets.methods.METHODS`.
        top_k: How many top classes are listed and computed together.
        sign: Initial sign mode: ``"absolute"``, ``"positive"`` or ``"negative"``.
        cmap: Initial colour map.
        alpha: Initial overlay opacity in ``[0, 1]``.
        blend: Initial blend mode of the overlay, one of
            :data:`saliency_widgets.display.BLENDS` (``"heat"``: the colour map over the whole
            image; ``"mask"``: colour only where the map is high; ``"mask-image"``: the image
            dimmed where the map is low).
        clip: Initial percentile of each map drawn at full colour, in ``(0, 100]`` (99 by
            default, as PAIR saliency; 100 scales by the maximum).
        batch_size: Images per batch of the start-up forward pass.
        per_page: Thumbnails per page.
        thumbnail_size: Thumbnail side in pixels.
        view_size: Longer side of the main pictures in pixels.
        prefetch: Compute the neighbouring images' maps in the background.

    Raises:
        TypeError: If ``model`` is not a Keras model or ``images`` are not images.
        ValueError: For empty images, bad labels, class names or options.

    Example:
        >>> from saliency_widgets import zoo
        >>> from saliency_widgets.widget import SaliencyWidget
        >>> samples = zoo.load_samples(16)
        >>> widget = SaliencyWidget(zoo.load_shapes_model(), samples.images, samples.labels,
        ...                         preprocess=zoo.preprocess, class_names=zoo.class_names())
        >>> widget.select(image=3, class_index=2)
        >>> widget.wait()
        >>> widget.current_map().shape
        (64, 64)
    """

    def __init__(
        self,
        model: keras.Model,
        images: object,
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        preprocess: Callable[[np.ndarray], object] | None = None,
        class_names: Sequence[str] | None = None,
        method: str = "gradients",
        top_k: int = 5,
        sign: str = "absolute",
        cmap: str = render.DEFAULT_CMAP,
        alpha: float = display.DEFAULT_ALPHA,
        blend: str = display.DEFAULT_BLEND,
        clip: float = display.DEFAULT_CLIP,
        batch_size: int = 32,
        per_page: int = 24,
        thumbnail_size: int = 56,
        view_size: int = 256,
        prefetch: bool = True,
    ) -> None:
        super().__init__()
        self._pictures = load_pictures(images)
        count = len(self._pictures)
        self._model = model
        self._predictor = _compute.Predictor(model)
        self._preprocess = preprocess
        labels = _checked_labels(labels, count, self._predictor.units)
        names = _checked_names(class_names, self._predictor.units)
        _compute.recipe(method, sign)  # validates both
        for name, value in (("top_k", top_k), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        display.check(clip=clip, blend=blend, alpha=alpha)
        self._batch_size = batch_size
        self._inputs: list[np.ndarray | None] = [None] * count
        self._state = ExplorerState(count, Selection(0, None, method, sign), top_k, prefetch)
        self._state.compare_methods = tuple(_compute.method_names())
        self._renderer = PictureRenderer(self._pictures, view_size, thumbnail_size)
        self._display = Display(
            self._state, self._pictures, self._renderer, labels, names, self._predictor.activation
        )
        self._startup_pending = True
        self._ui = Controls(self, count, top_k, per_page, thumbnail_size, view_size)
        self._ui.set_initial(method, sign, cmap or render.DEFAULT_CMAP, alpha, blend, float(clip))
        self._display.ui = self._ui
        self.children = self._ui.children
        self.add_class("saliency-widget")
        with self._state.lock:
            self._display.sync_controls()
            self._display.refresh()
        self._worker = Worker(self._plan, name="saliency-widget")
        self._worker.wake()

    # Public API ---------------------------------------------------------------------------

    @property
    def selection(self) -> dict[str, object]:
        """``{"image": …, "class_index": …, "method": …}`` of the current view."""
        selection = self._state.selection
        return {
            "image": selection.image,
            "class_index": selection.class_index,
            "method": selection.method,
        }

    @property
    def sign(self) -> str:
        """The current sign mode."""
        return self._state.selection.sign

    @property
    def probabilities(self) -> np.ndarray | None:
        """``(N, L)`` probabilities of every image (``None`` until the start-up pass is done)."""
        return self._display.probabilities

    @property
    def class_names(self) -> list[str]:
        """Class names by index."""
        return list(self._display.class_names or [])

    def select(
        self,
        image: int | None = None,
        class_index: int | None = None,
        method: str | None = None,
        sign: str | None = None,
    ) -> None:
        """Changes the view exactly as the corresponding clicks would (any subset of arguments).

        A new image without a class selects that image's predicted class. Returns at once; the
        maps are computed in the background (see :meth:`wait`).

        Args:
            image: Index of the image.
            class_index: The class to explain.
            method: A method name of :data:`saliency_widgets.methods.METHODS`.
            sign: ``"absolute"``, ``"positive"`` or ``"negative"``.

        Raises:
            ValueError: For an index out of range or an unknown method or sign mode.
        """
        changes = self._validated(image, class_index, method, sign)
        with self._state.lock:
            self._display.notice = ""
            self._state.select(**changes)
            self._display.sync_controls()
            self._display.refresh()
        self._worker.wake()

    def wait(self, timeout: float | None = None) -> None:
        """Blocks until every pending computation (start-up, maps, prefetch) is finished.

        Args:
            timeout: Seconds to wait at most.

        Raises:
            TimeoutError: If computations are still running after ``timeout`` seconds.
        """
        if not self._worker.wait(timeout):
            raise TimeoutError(f"saliency maps still computing after {timeout} s")

    def current_map(self) -> np.ndarray:
        """The displayed map, ``(H, W)`` float32 in ``[0, 1]`` (waits for it if needed).

        Raises:
            RuntimeError: If the model failed on the current image (the widget shows why).
        """
        for _ in range(3):  # a map evicted from a full cache is computed again
            self.wait()
            with self._state.lock:
                selection = self._state.selection
                failure = self._state.failure(selection.image, selection.method, selection.sign)
                if failure is not None:
                    raise RuntimeError(failure)
                key = selection.key()
                found = None if key is None else self._state.cache.get(key)
            if found is not None:
                return np.array(found)
            self._worker.wake()
        raise RuntimeError("the current map could not be computed")

    def to_figure(self) -> Figure:
        """The current view as a matplotlib figure (image, map and overlay per row).

        Drawn with the widget's display options (colour map, blend, opacity, clip); each map
        has a colour bar saying which value full colour stands for. In compare mode, one row
        per class or per method.

        Raises:
            RuntimeError: If the model failed on the current image.
        """
        self.current_map()  # waits, and raises the model's error if there is one
        with self._state.lock:
            rows = [(m, title) for m, title, _ in self._display.panels() if m is not None]
            image = self._state.selection.image
            ui = self._ui
            options = {
                "alpha": ui.alpha.value,
                "cmap": ui.cmap.value,
                "blend": ui.blend.value,
                "clip": ui.clip.value,
            }
        original = self._pictures.originals[image]
        return render.render_grid(
            [original] * len(rows),
            [m for m, _ in rows],
            [title for _, title in rows],
            colour_bar=True,
            cols=3,
            **options,
        )

    def to_png(self, dpi: int = 100) -> bytes:
        """The current view (:meth:`to_figure`) as PNG bytes."""
        return render.figure_to_png(self.to_figure(), dpi=dpi)

    def save_png(self, path: str | Path, dpi: int = 100) -> Path:
        """Writes the current view as a PNG file and returns its path."""
        path = Path(path)
        path.write_bytes(self.to_png(dpi=dpi))
        return path

    def clear_cache(self) -> None:
        """Forgets every computed map (the next views are computed again)."""
        with self._state.lock:
            self._state.cache.clear()
            self._display.refresh()
        self._worker.wake()

    def close(self) -> None:
        """Stops the worker and closes the widget and all its parts."""
        if hasattr(self, "_worker"):
            self._worker.close()
        for child in _descendants(self):
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"SaliencyWidget({len(self._pictures)} images, selection={self.selection})"

    # Events (main thread) -----------------------------------------------------------------

    def _validated(
        self, image: object, class_index: object, method: str | None, sign: str | None
    ) -> dict[str, object]:
        changes: dict[str, object] = {}
        names = self._display.class_names
        for name, value, limit in (
            ("image", image, len(self._pictures)),
            ("class_index", class_index, len(names) if names else None),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if value < 0 or (limit is not None and value >= limit):
                raise ValueError(f"{name}={value} is out of range [0, {limit})")
            changes[name] = int(value)
        if method is not None or sign is not None:
            current = self._state.selection
            _compute.recipe(method or current.method, sign or current.sign)  # validates
        if method is not None:
            changes["method"] = method
            self._ui.ensure_method(method)
        if sign is not None:
            changes["sign"] = sign
        return changes

    def _control_changed(self, **changes: object) -> None:
        if not self._display.syncing:
            self.select(**changes)

    def _display_changed(self) -> None:
        if not self._display.syncing:
            with self._state.lock:
                self._display.refresh()

    def _compare_changed(self, mode: str) -> None:
        with self._state.lock:
            self._state.compare = mode
            self._display.refresh()
        self._worker.wake()

    def _unknown_class(self, text: str) -> None:
        with self._state.lock:
            self._display.notice = f"No class named {text!r}: type a class name or an index."
            self._display.refresh()

    def _export(self) -> None:
        try:
            png = self.to_png()
        except RuntimeError as error:
            self._ui.download.value = f"<span>{html.escape(str(error))}</span>"
            return
        selection = self.selection
        self._ui.show_download(
            png, f"saliency-image{selection['image']}-class{selection['class_index']}.png"
        )

    # Worker thread ------------------------------------------------------------------------

    def _plan(self) -> Callable[[], None] | None:
        if self._startup_pending:
            self._startup_pending = False
            return self._startup
        job = self._state.next_job()
        return None if job is None else (lambda: self._run(job))

    def _startup(self) -> None:
        display = self._display

        def progress(done: int) -> None:
            self._ui.progress.value = done

        try:
            predictions = _compute.predict_pictures(
                self._predictor,
                self._pictures,
                self._preprocess,
                self._batch_size,
                progress,
                classes=len(display.class_names) if display.class_names else None,
            )
        except Exception as error:  # a bug in preprocessing or the model that hits everything
            message = f"The start-up forward pass failed: {_compute.describe(error)}"
            count = len(self._pictures)
            predictions = _compute.Predictions(
                [None] * count,
                np.full((count, len(display.class_names or [None])), np.nan, np.float32),
                dict.fromkeys(range(count), message),
            )
        self._inputs = predictions.inputs
        scores = predictions.scores
        with self._state.lock:
            display.probabilities = render.scores_to_probabilities(scores, display.activation)
            if display.class_names is None:
                display.class_names = [f"class {i}" for i in range(scores.shape[1])]
                self._ui.classes.set_names(display.class_names)
            self._state.set_scores(scores, predictions.errors)
            self._ui.progress.layout.display = "none"
            display.sync_controls()
            display.refresh()

    def _run(self, job: MapJob) -> None:
        display = self._display
        with self._state.lock:
            display.running = job
            self._ui.status.value = display.status_html()
        try:
            maps = _compute.explain_classes(
                self._model, self._inputs[job.image], job.classes, job.method, job.sign
            )
        except Exception as error:
            message = f"Could not compute the maps: {_compute.describe(error)}"
            self._state.record_failure(job, message)
        else:
            self._state.record(job, maps)
        finally:
            with self._state.lock:
                display.running = None
                if job.image == self._state.selection.image:
                    display.refresh()
                else:
                    self._ui.status.value = display.status_html()


def _checked_labels(labels: object, count: int, units: int | None) -> np.ndarray | None:
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.shape != (count,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be {count} class indices, got shape {array.shape}")
    if array.size and (array.min() < 0 or (units is not None and array.max() >= units)):
        raise ValueError(f"labels must be class indices in [0, {units}), got {array.tolist()}")
    return array


def _checked_names(names: Sequence[str] | None, units: int | None) -> list[str] | None:
    if names is None:
        return None if units is None else [f"class {i}" for i in range(units)]
    if isinstance(names, str | bytes) or not isinstance(names, Sequence | np.ndarray):
        hint = " (call it: class_names=f())" if callable(names) else ""
        raise TypeError(
            f"class_names must be a sequence of names, got {type(names).__name__}{hint}"
        )
    names = [str(name) for name in names]
    if units is not None and len(names) != units:
        raise ValueError(f"class_names has {len(names)} names but the model has {units} classes")
    return names


def _descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    found = []
    for child in getattr(widget, "children", ()):
        found += [child, *_descendants(child)]
    return found


__all__ = ["COLOUR_MAPS", "SaliencyWidget"]
