"""The :class:`SaliencyWidget`: layout, events and the worker that computes maps off the event path.

Data flows one way: clicks change the selection (:mod:`._state`), the worker asks the engine for
what the selection lacks (:mod:`._compute`), and every redraw reads the *current* selection and
the cache, under one lock, through the renderer (:mod:`._view`). A redraw of an older selection
can therefore never land after a newer one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.figure import Figure

from saliency_widgets import display, render
from saliency_widgets.widget import _checks, _compute
from saliency_widgets.widget._display import Display
from saliency_widgets.widget._images import load_pictures
from saliency_widgets.widget._jobs import MapJobs
from saliency_widgets.widget._layout import COLOUR_MAPS, Callbacks, Controls, descendants
from saliency_widgets.widget._state import ExplorerState, Selection, ViewOptions
from saliency_widgets.widget._view import PictureRenderer
from saliency_widgets.widget._worker import Worker


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
        predictor = _compute.Predictor(model)
        labels = _checks.checked_labels(labels, count, predictor.units)
        names = _checks.checked_names(class_names, predictor.units)
        _compute.recipe(method, sign)  # validates both
        self._batch_size = _checks.checked_positive("batch_size", batch_size)
        display.check(clip=clip, blend=blend, alpha=alpha)
        options = ViewOptions(cmap or render.DEFAULT_CMAP, float(alpha), blend, float(clip))
        top_k = _checks.checked_positive("top_k", top_k)
        selection = Selection(0, None, method, sign)
        self._state = ExplorerState(count, selection, top_k, prefetch, options)
        self._state.compare_methods = tuple(_compute.method_names())
        renderer = PictureRenderer(self._pictures, view_size, thumbnail_size)
        compare_size = max(view_size // 2, 64)
        self._display = Display(
            self._state, self._pictures, renderer, labels, names, predictor.activation,
            compare_size,
        )  # fmt: skip
        callbacks = Callbacks(
            select=self.select, step=self._step, view=self._set_view, compare=self._set_compare,
            unknown_class=self._unknown_class, export=self._export,
            thumbnail=renderer.thumbnail, tooltip=self._display.image_title,
        )  # fmt: skip
        self._ui = Controls(
            count, top_k, names or [], options, callbacks, per_page, thumbnail_size, view_size,
            compare_size,
        )  # fmt: skip
        self.children = self._ui.children
        self.add_class("saliency-widget")
        self._redraw(controls=True)
        self._jobs = MapJobs(
            model, predictor, self._pictures, preprocess, batch_size, self._display,
            progress=self._ui.show_progress, redraw=self._redraw, status=self._show_status,
        )  # fmt: skip
        self._worker = Worker(self._jobs.plan, name="saliency-widget")
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
        names = self._display.class_names
        image = _checks.checked_index("image", image, len(self._pictures))
        limit = len(names) if names else None
        class_index = _checks.checked_index("class_index", class_index, limit)
        if method is not None or sign is not None:
            current = self._state.selection
            _compute.recipe(method or current.method, sign or current.sign)  # validates
        with self._state.lock:
            self._state.select(image, class_index, method, sign)
            self._redraw(controls=True)
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
            view = self._state.view
        return render.render_grid(
            [self._pictures.originals[image]] * len(rows),
            [m for m, _ in rows],
            [title for _, title in rows],
            colour_bar=True,
            cols=3,
            alpha=view.alpha,
            cmap=view.cmap,
            blend=view.blend,
            clip=view.clip,
        )

    def to_png(self, dpi: int = 100) -> bytes:
        """The current view (:meth:`to_figure`) as PNG bytes."""
        return render.figure_to_png(self.to_figure(), dpi=dpi)

    def save_png(self, path: str | Path, dpi: int = 100) -> Path:
        """Writes the current view as a PNG file and returns its path."""
        path = Path(path)
        path.write_bytes(self.to_png(dpi=dpi))
        return path

    def to_html(self, methods: Sequence[str] | str | None = None) -> str:
        """The widget's images, top-K classes and maps as an explorer that needs no kernel.

        A self-contained HTML fragment (see :mod:`saliency_widgets.explorer`): thumbnails, the
        top-K classes, the methods, sign, colour map, blend and opacity, all clickable in a
        static page, an nbconvert export or ``IPython.display.HTML``. The maps are computed
        for every image (one batched engine call per method), starting from the widget's
        current display options.

        Args:
            methods: Method names (a list or ``"a,b"``); by default the current method, then
                :data:`saliency_widgets.explorer.DEFAULT_METHODS`.

        Returns:
            The HTML text.

        Raises:
            RuntimeError: If the model failed on an image.
            ValueError: For an unknown method.
        """
        from saliency_widgets import explorer

        self.wait()
        inputs = [x for x in self._inputs if x is not None]
        if len(inputs) != len(self._inputs):
            failed = [i for i, x in enumerate(self._inputs) if x is None]
            raise RuntimeError(f"the model failed on images {failed}: nothing to export")
        with self._state.lock:
            current = self._state.selection.method
            compare = self._state.compare
            options = self._state.view
            sign = self.sign
        names = explorer.parse_methods(methods or (current, *explorer.DEFAULT_METHODS))
        data = explorer.explain_top_k(
            self._model,
            self._pictures.originals,
            np.stack(inputs),
            methods=names,
            top_k=self._state.k,
            class_names=self.class_names,
            labels=self._display.labels,
            names=self._pictures.names,
            batch_size=self._batch_size,
        )
        return explorer.fragment(
            data,
            compare=compare,
            sign=sign,
            cmap=options.cmap,
            alpha=options.alpha,
            blend=options.blend,
            clip=options.clip,
        )

    def save_html(self, path: str | Path, methods: Sequence[str] | str | None = None) -> Path:
        """Writes :meth:`to_html` as a complete page that opens from disk; returns its path."""
        from saliency_widgets import explorer

        path = Path(path)
        path.write_text(explorer.page(self.to_html(methods)), encoding="utf-8")
        return path

    def clear_cache(self) -> None:
        """Forgets every computed map (the next views are computed again)."""
        with self._state.lock:
            self._state.cache.clear()
            self._redraw()
        self._worker.wake()

    def close(self) -> None:
        """Stops the worker and closes the widget and all its parts."""
        if hasattr(self, "_worker"):
            self._worker.close()
        for child in descendants(self):
            child.close()
        super().close()

    def __repr__(self) -> str:
        return f"SaliencyWidget({len(self._pictures)} images, selection={self.selection})"

    # Events (main thread) -----------------------------------------------------------------

    def _redraw(self, controls: bool = False) -> None:
        with self._state.lock:
            if controls:
                self._ui.show_controls(self._display.controls())
            self._ui.show_pictures(self._display.pictures_view())

    def _show_status(self) -> None:
        self._ui.show_status(self._display.status_html())

    @property
    def _inputs(self) -> list[np.ndarray | None]:
        return self._jobs.inputs

    def _step(self, step: int) -> None:
        self.select(image=(self._state.selection.image + step) % len(self._pictures))

    def _set_view(self, options: ViewOptions) -> None:
        with self._state.lock:
            self._state.set_view(options)
            self._redraw(controls=True)

    def _set_compare(self, mode: str) -> None:
        with self._state.lock:
            self._state.compare = mode
            self._redraw()
        self._worker.wake()

    def _unknown_class(self, text: str) -> None:
        with self._state.lock:
            self._state.notice = f"No class named {text!r}: type a class name or an index."
            self._redraw()

    def _export(self) -> None:
        try:
            png = self.to_png()
        except RuntimeError as error:
            self._ui.show_download_error(str(error))
            return
        image, class_index = self._state.selection.image, self._state.selection.class_index
        self._ui.show_download(png, f"saliency-image{image}-class{class_index}.png")


__all__ = ["COLOUR_MAPS", "SaliencyWidget"]
