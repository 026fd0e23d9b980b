"""The :class:`SaliencyWidget`: an anywidget drawn by the explorer's ES module, fed by the kernel.

Data flows one way. The browser view (``explorer.js``'s ``ExplorerView`` over a
``KernelSource``) says what it shows through the ``selection`` trait and asks for what it lacks
in custom messages; the worker thread asks the engine for what the state plans
(:meth:`~saliency_widgets.widget._state.WidgetState.next_job`: latest wins) and the maps go to
every view as binary buffers. Everything cosmetic (sign, colour map, blend, opacity, clip,
compare layout, outline) happens in the browser and never reaches the kernel.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import keras
import numpy as np
import traitlets
from matplotlib.figure import Figure

from saliency_widgets import display, explorer, render
from saliency_widgets._checks import positive_int
from saliency_widgets._held_inputs import ModelInputs, held_inputs
from saliency_widgets.methods import METHODS, get_method
from saliency_widgets.metrics import SanityCheck, Scorecard
from saliency_widgets.widget import _checks, _compute
from saliency_widgets.widget._catalogue import Catalogue
from saliency_widgets.widget._export import export_html
from saliency_widgets.widget._images import load_pictures
from saliency_widgets.widget._jobs import MapJobs, Reports
from saliency_widgets.widget._link import ViewLink
from saliency_widgets.widget._snapshot import snapshot_html
from saliency_widgets.widget._state import Selection, Want, WidgetState
from saliency_widgets.widget._worker import Worker


class SaliencyWidget(anywidget.AnyWidget):
    """Explore a model's saliency maps: click through images, classes and methods.

    An `anywidget <https://anywidget.dev>`_ (an ipywidgets ``DOMWidget``) whose view is the
    static explorer's ES module: it renders in JupyterLab, Notebook 7, Voilà, VS Code, Colab
    and marimo (``mo.ui.anywidget(widget)``) with nothing to install beyond
    ``pip install saliency-widgets[widget]`` and nothing fetched from a CDN. The model runs on a
    worker thread: at start-up one batched forward pass over all images (with a progress bar),
    then, for the selected image, the signed maps of its top-K classes in one engine call,
    cached by (image, class, method), and the neighbouring images in the background. The
    browser draws every sign mode, colour map, blend, opacity, clip and compare layout from
    maps it holds, so those cost nothing. Clicking faster than the model computes is fine: the
    view always ends on the last selection.

    Where no kernel runs (an nbconvert export, a notebook rendered as a docs page), the output
    shows the static explorer of the widget's state instead: the current page of images, their
    predictions and the maps computed when it was displayed (see :meth:`to_html` for all).

    Args:
        model: A Keras image classifier (never modified).
        images: A numpy batch (uint8 or float), a list of arrays, a list of image file paths,
            or a folder.
        labels: The true class of each image (marked in the class picker), or ``None``.
        preprocess: Maps a batch of images as given to model inputs (e.g.
            ``lambda x: x / 127.5 - 1``); the display always shows the images as given.
        class_names: Names by class index (``"class 3"`` when omitted).
        masks: A boolean ``(H, W)`` mask of each image's object, outlined over the maps, or
            ``None``.
        methods: The methods offered (registry names, a list or ``"a,b"``; every registered
            method by default).
        method: Initial method.
        top_k: How many top classes are listed and computed together.
        sign: Initial sign mode: ``"absolute"``, ``"positive"`` or ``"negative"``.
        cmap: Initial colour map.
        alpha: Initial overlay opacity in ``[0, 1]``.
        blend: Initial blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Initial percentile of each map drawn at full colour, in ``(0, 100]``.
        compare: Initial compare mode (``"single"``, ``"classes"`` or ``"methods"``).
        batch_size: Images per batch of the start-up forward pass.
        per_page: Thumbnails per page.
        prefetch: Compute the neighbouring images' maps in the background.
        metrics: Score the selected map once it is computed and show its figures beside it (a
            trust panel: deletion and insertion against a random order with their curves, Gini,
            localisation when ``masks`` are given, completeness for Integrated Gradients and
            Input × Gradient; about 64 more forward passes of one image; see
            :meth:`current_scores`). The panel's sanity button runs
            :func:`saliency_widgets.metrics.sanity_check` (see :meth:`check_sanity`).
            ``None`` (the default): on for a model with one input; the figures of a model with
            several are not computed yet.
        model_inputs: For a model with several inputs, the ones other than the images (held
            fixed): a dict of arrays by input name (one row per image, or one row for all), or
            a function ``images -> dict`` called once with the images as given.

    Raises:
        TypeError: If ``model`` is not a Keras model or ``images`` are not images.
        ValueError: For empty images, bad labels, class names, masks or options.

    Example:
        >>> from saliency_widgets import zoo
        >>> from saliency_widgets.widget import SaliencyWidget
        >>> samples = zoo.load_samples(16)
        >>> widget = SaliencyWidget(zoo.load_shapes_model(), samples.images, samples.labels,
        ...                         preprocess=zoo.preprocess, class_names=zoo.class_names(),
        ...                         masks=samples.masks)
        >>> widget.select(image=3, class_index=2)
        >>> widget.wait()
        >>> widget.current_map().shape
        (64, 64)
    """

    _esm = explorer.asset("explorer.js")
    _css = explorer.asset("explorer.css")
    meta = traitlets.Dict().tag(sync=True)
    """Names, lists and the initial display (:func:`saliency_widgets.explorer.view_meta`)."""
    predictions = traitlets.Dict().tag(sync=True)
    """``{"top": (N, K), "probabilities": (N, K)}`` once the start-up pass is done."""
    status = traitlets.Dict().tag(sync=True)
    """What the kernel is doing: text, start-up progress, the errors by image and method."""
    selection = traitlets.Dict().tag(sync=True)
    """``{"image", "class_index", "method"}`` shown; set by clicks and by :meth:`select`."""
    view = traitlets.Dict().tag(sync=True)
    """The display options set from Python (each view keeps its own after that)."""
    first = traitlets.List(traitlets.Dict()).tag(sync=True)
    """The first maps, their picture and its page of thumbnails, as the messages that carry
    them (``{"content", "buffers"}``), set when they are computed: a view made later (a cell
    that waited for them) draws them without asking a kernel that may be busy prefetching."""

    def __init__(
        self,
        model: keras.Model,
        images: object,
        labels: Sequence[int] | np.ndarray | None = None,
        *,
        preprocess: Callable[[np.ndarray], object] | None = None,
        class_names: Sequence[str] | None = None,
        masks: Sequence[np.ndarray] | np.ndarray | None = None,
        methods: Sequence[str] | str | None = None,
        method: str = "gradients",
        top_k: int = 5,
        sign: str = "absolute",
        cmap: str = display.DEFAULT_CMAP,
        alpha: float = display.DEFAULT_ALPHA,
        blend: str = display.DEFAULT_BLEND,
        clip: float = display.DEFAULT_CLIP,
        compare: str = "single",
        batch_size: int = 32,
        per_page: int = 24,
        prefetch: bool = True,
        metrics: bool | None = None,
        model_inputs: ModelInputs = None,
    ) -> None:
        pictures = load_pictures(images)
        count = len(pictures)
        given = pictures.originals  # stacked when they can be: what a model_inputs function sees
        given = np.stack(given) if pictures.same_shape(range(count)) else given  # type: ignore[assignment]
        predictor = _compute.Predictor(model, held_inputs(model, model_inputs, given))
        if metrics and predictor.held is not None:
            raise ValueError(
                "metrics: the trust figures of a model with several inputs are not computed "
                "yet; pass metrics=False (the default for such a model)"
            )
        offered = explorer.parse_methods(list(METHODS) if methods is None else methods)
        get_method(method)  # names the known methods when it is not one
        shown = [display.to_rgb(picture) for picture in pictures.originals]
        self._catalogue = Catalogue(
            pictures=pictures,
            shown=shown,
            labels=_checks.checked_labels(labels, count, predictor.units),
            class_names=_checks.checked_names(class_names, predictor.units),
            masks=explorer.checked_masks(masks, shown),
            methods=offered if method in offered else (method, *offered),
            activation=predictor.activation,
            per_page=positive_int("per_page", per_page),
        )
        self._view = explorer.ViewOptions(sign, cmap, alpha, blend, clip, compare)
        self._batch_size = positive_int("batch_size", batch_size)
        k = positive_int("top_k", top_k)
        self._model = model
        self._metrics = predictor.held is None if metrics is None else bool(metrics)
        self._state = WidgetState(count, Selection(0, None, method), k, prefetch, self._metrics)
        super().__init__(
            meta=self._catalogue.meta(self._view, k, self._metrics),
            predictions={},
            status={"text": f"Predicting {count} images…", "done": 0, "total": count},
            selection={"image": 0, "class_index": None, "method": method},
            view=self._view.as_dict(),
        )
        self._link = ViewLink(
            self._catalogue,
            self._state,
            post=lambda content, buffers: self.send(content, buffers),
            publish=lambda status: setattr(self, "status", status),
            keep=lambda messages: setattr(self, "first", messages),
            wake=lambda: self._worker.wake(),
        )
        self.on_msg(lambda _, content, buffers: self._link.receive(content))
        self.observe(self._on_selection, names="selection")
        reports = Reports(
            progress=self._link.progress,
            predicted=self._on_predicted,
            started=lambda job: self._link.report(),
            computed=self._link.computed,
            failed=self._link.failed,
            scored=self._link.scored,
        )
        self._jobs = MapJobs(
            model,
            predictor,
            pictures,
            preprocess,
            self._batch_size,
            self._state,
            reports,
            masks=self._catalogue.masks,
        )
        self._worker = Worker(self._jobs.plan, name="saliency-widget")
        self._worker.wake()

    # Public API ---------------------------------------------------------------------------

    @property
    def probabilities(self) -> np.ndarray | None:
        """``(N, L)`` probabilities of every image (``None`` until the start-up pass is done)."""
        return self._state.probabilities

    @property
    def class_names(self) -> list[str]:
        """Class names by index."""
        return list(self._catalogue.class_names or [])

    @property
    def sign(self) -> str:
        """The sign mode set from Python (:meth:`select`), used by :meth:`to_figure`."""
        return self._view.sign

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods the widget offers."""
        return self._catalogue.methods

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
            method: A method name the widget offers.
            sign: ``"absolute"``, ``"positive"`` or ``"negative"`` (a display option: the
                views draw it from the maps they hold).

        Raises:
            ValueError: For an index out of range or an unknown method or sign mode.
        """
        image = _checks.checked_index("image", image, len(self._catalogue.pictures))
        limit = len(self._catalogue.class_names) if self._catalogue.class_names else None
        class_index = _checks.checked_index("class_index", class_index, limit)
        if method is not None and method not in self._catalogue.methods:
            raise ValueError(f"method={method!r}: expected one of {list(self._catalogue.methods)}")
        if sign is not None:
            self.set_view(sign=sign)
        self._select(image, class_index, method)

    def set_view(self, **options: Any) -> None:
        """Changes display options in every view and for :meth:`to_figure`.

        Options: ``sign``, ``cmap``, ``alpha``, ``blend``, ``clip``, ``compare``, ``outline``.

        Raises:
            TypeError: For an unknown option.
            ValueError: For a value out of range.
        """
        self._view = self._view.updated(**options)
        with self._link.lock:
            self.view = self._view.as_dict()
        if self._view.compare == "methods":
            selection = self._state.selection
            self._state.ask(Want(selection.image, self._catalogue.methods))
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
        """The displayed map: the shown part of the signed map (:attr:`sign`), in ``[0, 1]``.

        With the default ``"absolute"`` sign this is the method's map as registered (for
        vanilla gradients, Simonyan et al.'s maximum of magnitudes over colour channels)
        divided by its maximum (waits for it if needed).

        Returns:
            ``(H, W)`` float32.

        Raises:
            RuntimeError: If the model failed on the current image (the widget shows why).
        """
        selection = self._state.selection
        return self._shown_map(self._signed_map(selection))

    def current_scores(self, timeout: float | None = None) -> Scorecard:
        """The trust figures of the selected map, as its panel shows them (waits for them).

        Computed on the worker after the map (:func:`saliency_widgets.metrics.scorecard` of the
        signed map, with the image's mask when known) and kept: selecting the map again costs
        nothing.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            The :class:`~saliency_widgets.metrics.Scorecard`.

        Raises:
            RuntimeError: If the map or its figures could not be computed.
            TimeoutError: If they are still computing after ``timeout`` seconds.
        """
        found = self._figures("scores", timeout)
        if not isinstance(found, Scorecard):
            raise RuntimeError(found or "the figures could not be computed")
        return found

    def check_sanity(self, timeout: float | None = None) -> SanityCheck:
        """The sanity check of the selected map, as the panel's button runs it (waits for it).

        :func:`saliency_widgets.metrics.sanity_check` on the worker: the method runs again on a
        copy of the model whose top half of weighted layers is re-initialised (the model itself
        is never touched), and the two maps' rank correlation says whether the map depends on
        the model. Kept per map.

        Args:
            timeout: Seconds to wait at most.

        Returns:
            The :class:`~saliency_widgets.metrics.SanityCheck`.

        Raises:
            RuntimeError: If the map or its check could not be computed.
            TimeoutError: If it is still computing after ``timeout`` seconds.
        """
        found = self._figures("sanity", timeout)
        if not isinstance(found, SanityCheck):
            raise RuntimeError(found or "the sanity check could not be run")
        return found

    def _figures(self, kind: str, timeout: float | None) -> object:
        """The selected map's scorecard or sanity check (or why not), asked of the worker."""
        self._signed_map(self._state.selection)
        key = self._state.selection.key()
        assert key is not None
        if kind == "sanity":
            self._state.ask_sanity(key)
        else:
            self._state.ask_scores(key[0], key[1], (key[2],))
        self._worker.wake()
        self.wait(timeout)
        state = self._state
        with state.lock:
            if kind == "sanity":
                return state.checks.get(key)
            return state.cards.get(key) or state.score_failures.get(key)

    def to_figure(self) -> Figure:
        """The current view as a matplotlib figure (image, map and overlay per row).

        Drawn with the display options set from Python (the constructor's, :meth:`set_view`);
        each map has a colour bar saying which value full colour stands for. In the
        ``"classes"`` or ``"methods"`` compare mode, one row per class or per method. The
        *Save PNG* button of a view saves what that view shows instead.

        Raises:
            RuntimeError: If the model failed on the current image.
        """
        selection = self._state.selection
        view = self._view
        if view.compare == "classes" and self._state.top is not None:
            rows = [
                Selection(selection.image, c, selection.method)
                for c in self._state.top[selection.image]
            ]
        elif view.compare == "methods":
            rows = [
                Selection(selection.image, selection.class_index, m)
                for m in self._catalogue.methods
            ]
        else:
            rows = [selection]
        maps = [self._shown_map(self._signed_map(row)) for row in rows]
        titles = [self._title(row) for row in rows]
        return render.render_grid(
            [self._catalogue.pictures.originals[selection.image]] * len(rows),
            maps,
            titles,
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

    def to_html(
        self,
        methods: Sequence[str] | str | None = None,
        *,
        images: Sequence[int] | None = None,
        steps: int = explorer.DEFAULT_STEPS,
        max_images: int = 200,
        progress: bool = True,
        metrics: bool | None = None,
        sanity: bool = False,
    ) -> str:
        """The widget's images, top-K classes and maps as an explorer that needs no kernel.

        A self-contained HTML fragment (see :mod:`saliency_widgets.explorer`), drawn by the
        same module as this widget. The maps of every image's top-K classes are computed with
        each method (one batched engine call per method), with a progress bar, after a line
        saying what the page will weigh.

        Args:
            methods: Method names (a list or ``"a,b"``); by default the current method, then
                :data:`saliency_widgets.explorer.DEFAULT_METHODS`.
            images: Indices of the images to include (all by default).
            steps: Quantisation steps of the stored maps (127 draws exactly what a live view
                draws; the default keeps pages small, see :mod:`saliency_widgets.explorer`).
            max_images: The most images a page may hold; past it a page grows past tens of
                megabytes and a browser slows down: pass ``images=`` to pick some.
            progress: Print the estimate and show a progress bar.
            metrics: Put each map's trust figures in the page, beside it, as the live panel
                shows them (about a third of the maps' own time, 90 bytes a map); by default
                when the widget shows them (its ``metrics``).
            sanity: Put each map's sanity check in the page (runs every method again).

        Returns:
            The HTML text.

        Raises:
            RuntimeError: If the model failed on an image.
            ValueError: For an unknown method, bad indices, or more images than
                ``max_images``.
        """
        self.wait()
        current = self._state.selection.method
        return export_html(
            self._model,
            self._catalogue,
            self._jobs.inputs,
            self._view,
            methods=explorer.parse_methods(methods or (current, *explorer.DEFAULT_METHODS)),
            top_k=self._state.k,
            images=images,
            steps=steps,
            max_images=max_images,
            batch_size=self._batch_size,
            progress=progress,
            metrics=self._metrics if metrics is None else metrics,
            sanity=sanity,
        )

    def save_html(
        self, path: str | Path, methods: Sequence[str] | str | None = None, **options: Any
    ) -> Path:
        """Writes :meth:`to_html` as a complete page that opens from disk; returns its path."""
        path = Path(path)
        path.write_text(explorer.page(self.to_html(methods, **options)), encoding="utf-8")
        return path

    def clear_cache(self) -> None:
        """Forgets every computed map (the next views are computed again)."""
        self._state.cache.clear()
        self.first = []
        self._worker.wake()

    def close(self) -> None:
        """Stops the worker and closes the widget."""
        if hasattr(self, "_worker"):
            self._worker.close()
        super().close()

    def __repr__(self) -> str:
        selection = self._state.selection if hasattr(self, "_state") else None
        return f"SaliencyWidget({len(self._catalogue.pictures)} images, selection={selection})"

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict, dict] | None:
        """The live view, and the static explorer of the widget's state.

        The second is for hosts without a widget manager: nbconvert exports, notebooks rendered
        as documentation pages (:mod:`._snapshot`).
        """
        found = super()._repr_mimebundle_(**kwargs)
        if found is None:
            return None
        data, metadata = found
        try:
            deadline = time.monotonic() + self.export_wait
            while not self._state.shows_selection() and time.monotonic() < deadline:
                time.sleep(0.005)
            data["text/html"] = snapshot_html(self._catalogue, self._state, self._view)
        except Exception:  # never lose the live view over its fallback
            pass
        return data, metadata

    export_wait: float = 30.0
    """Seconds a display waits for the start-up pass and the selected maps (not the
    prefetching), so that the static fallback of an exported notebook shows them."""

    # Kernel side of the views -------------------------------------------------------------

    def _select(self, image: int | None, class_index: int | None, method: str | None) -> None:
        self._publish_selection(self._state.select(image, class_index, method))
        self._worker.wake()

    def _publish_selection(self, selection: Selection) -> None:
        with self._link.lock:
            self.selection = {
                "image": selection.image,
                "class_index": selection.class_index,
                "method": selection.method,
            }

    def _on_selection(self, change: dict[str, Any]) -> None:
        """A view's click (or :meth:`select`): the state follows, the worker plans."""
        new = change["new"] or {}
        state = self._state.selection
        if (new.get("image"), new.get("class_index"), new.get("method")) == (
            state.image,
            state.class_index,
            state.method,
        ):
            return
        try:
            image = _checks.checked_index("image", new.get("image"), len(self._catalogue.pictures))
            limit = len(self._catalogue.class_names) if self._catalogue.class_names else None
            class_index = _checks.checked_index("class_index", new.get("class_index"), limit)
            method = new.get("method")
            if method not in self._catalogue.methods:
                raise ValueError(
                    f"method={method!r}: expected one of {list(self._catalogue.methods)}"
                )
        except ValueError:
            return  # a malformed message from a view: the kernel keeps its selection
        self._state.select(image, class_index, method)
        self._worker.wake()

    def _on_predicted(self) -> None:
        state = self._state
        scores = state.scores
        assert scores is not None and state.top is not None and state.probabilities is not None
        if self._catalogue.class_names is None:
            self._catalogue.class_names = [f"class {i}" for i in range(scores.shape[1])]
            with self._link.lock:
                self.meta = self._catalogue.meta(self._view, state.k, self._metrics)
        chosen = np.take_along_axis(state.probabilities, state.top, axis=1)
        with self._link.lock:
            self.predictions = {
                "top": state.top.tolist(),
                "probabilities": np.round(np.nan_to_num(chosen), 5).tolist(),
            }
        self._publish_selection(state.selection)
        self._link.report()

    # Python-side maps -----------------------------------------------------------------------

    def _title(self, selection: Selection) -> str:
        index = selection.class_index
        name = "…" if index is None else self._catalogue.class_name(index)
        if (
            index is not None
            and self._state.probabilities is not None
            and self._catalogue.activation != "none"
        ):
            name += f" {100 * self._state.probabilities[selection.image, index]:.1f}%"
        return f"{name} · {get_method(selection.method).label} ({self._view.sign})"

    def _signed_map(self, selection: Selection) -> np.ndarray:
        """The signed map of ``selection``, computed (on the worker) if needed."""
        for _ in range(3):  # a map evicted from a full cache is computed again
            self.wait()
            state = self._state
            current = state.selection
            if selection.class_index is None:
                selection = Selection(selection.image, current.class_index, selection.method)
            failure = state.failure(selection.image, selection.method)
            if failure is not None:
                raise RuntimeError(failure)
            key = selection.key()
            found = None if key is None else state.cache.get(key)
            if found is not None:
                return np.array(found)
            state.ask(Want(selection.image, (selection.method,), selection.class_index))
            self._worker.wake()
        raise RuntimeError("the map could not be computed")

    def _shown_map(self, signed: np.ndarray) -> np.ndarray:
        shown = display.signed(signed, self._view.sign)
        top = float(shown.max()) if shown.size else 0.0
        return (shown / top if top > 0 else shown).astype(np.float32)


__all__ = ["SaliencyWidget"]
