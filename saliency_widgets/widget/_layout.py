"""The widget's controls and how they are laid out (core ipywidgets only).

:class:`Controls` builds every child widget once, reports what the user does through
:class:`Callbacks` (it knows nothing of its owner) and renders the view model of
:mod:`._display`: :meth:`Controls.show_controls` and :meth:`Controls.show_pictures`. Every
control carries a DOM class (``sw-…``): the browser tests find the controls by it, and so does
:func:`saliency_widgets.widget.testing.find`.
"""

from __future__ import annotations

import base64
import contextlib
import html
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import ipywidgets as widgets

from saliency_widgets import display
from saliency_widgets.widget import _compute
from saliency_widgets.widget._display import ControlsView, PicturesView, PictureView
from saliency_widgets.widget._parts import ClassPicker, Panel, ThumbnailStrip
from saliency_widgets.widget._state import ViewOptions

COLOUR_MAPS = ("inferno", "magma", "viridis", "plasma", "cividis", "turbo", "jet", "hot", "gray")
"""Colour maps offered by the picker (any matplotlib name can be passed as ``cmap=``)."""
COMPARE_MODES = (("single", "single"), ("top classes", "classes"), ("all methods", "methods"))
"""Labels and values of the compare-mode picker."""
CLIP_RANGE = (90.0, 100.0)
"""Range of the clip slider (a lower ``clip=`` passed to the widget extends it)."""
ERROR_STYLE = "color:#b71c1c;background:#ffebee;padding:6px 8px;border-radius:4px"


class SelectCallback(Protocol):
    """Changes the selection (``None``: unchanged), as :meth:`SaliencyWidget.select`."""

    def __call__(
        self,
        image: int | None = None,
        class_index: int | None = None,
        method: str | None = None,
        sign: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Callbacks:
    """What the controls report, and the two pictures they ask for.

    Attributes:
        select: A thumbnail, class, method or sign was picked.
        step: ``previous`` (-1) or ``next`` (+1) was clicked.
        view: A display option (colour map, opacity, blend, clip) was changed: called with
            the options shown, that one changed.
        compare: The compare mode was changed.
        unknown_class: Text typed in the class box that names no class.
        export: The export button was clicked.
        thumbnail: The thumbnail PNG of an image.
        tooltip: The hover text of an image's thumbnail.
    """

    select: SelectCallback
    step: Callable[[int], None]
    view: Callable[[ViewOptions], None]
    compare: Callable[[str], None]
    unknown_class: Callable[[str], None]
    export: Callable[[], None]
    thumbnail: Callable[[int], bytes]
    tooltip: Callable[[int], str]


class Controls:
    """Every child widget of a :class:`SaliencyWidget`, reporting to :class:`Callbacks`.

    Values set by :meth:`show_controls` are not reported back (per thread: a user's change
    that arrives on the kernel's thread while the worker thread renders is a real event).

    Args:
        count: Number of images.
        top_k: Rows of the class picker.
        class_names: Class names by index (empty until the model tells how many there are).
        options: The initial display options (they set the colour maps offered and the clip
            slider's range).
        callbacks: What user events call.
        per_page: Thumbnails per page.
        thumbnail_size: Thumbnail side in pixels.
        view_size: Longer side of the main pictures in pixels.
        compare_size: Longer side of the compare panels' pictures in pixels.
    """

    def __init__(
        self,
        count: int,
        top_k: int,
        class_names: Sequence[str],
        options: ViewOptions,
        callbacks: Callbacks,
        per_page: int,
        thumbnail_size: int,
        view_size: int,
        compare_size: int,
    ) -> None:
        self.count = count
        self.compare_size = compare_size
        self.shown: PicturesView | None = None
        """The last :class:`PicturesView` rendered (or being rendered)."""
        self._rendering_thread: int | None = None
        self._options = options
        self.status = _classed(widgets.HTML(), "sw-status-line")
        self.progress = _classed(
            widgets.IntProgress(
                min=0, max=count, description="predicting", layout=widgets.Layout(width="320px")
            ),
            "sw-progress",
        )
        self.thumbs = ThumbnailStrip(
            count,
            picture=callbacks.thumbnail,
            tooltip=callbacks.tooltip,
            on_pick=lambda image: self._report(callbacks.select, image=image),
            per_page=per_page,
            size=thumbnail_size,
        )
        self.previous = _classed(
            widgets.Button(description="previous", icon="arrow-left"), "sw-previous"
        )
        self.next = _classed(widgets.Button(description="next", icon="arrow-right"), "sw-next")
        for button, step in ((self.previous, -1), (self.next, 1)):
            button.layout = widgets.Layout(width="110px")
            button.on_click(lambda _, step=step: self._report(callbacks.step, step))
        self.caption = _classed(widgets.Label(), "sw-caption")
        self.image_panel = Panel(view_size, "sw-view-image")
        self.map_panel = Panel(view_size, "sw-view-map", scale=True)
        self.overlay_panel = Panel(view_size, "sw-view-overlay")
        self.error = _classed(widgets.HTML(layout=widgets.Layout(display="none")), "sw-error")
        self._compare_pool: list[Panel] = []
        self.compare_grid = _classed(
            widgets.GridBox(
                layout=widgets.Layout(
                    grid_template_columns=f"repeat(auto-fill, {self.compare_size + 8}px)",
                    grid_gap="6px",
                    display="none",
                )
            ),
            "sw-compare-grid",
        )
        self.classes = ClassPicker(
            class_names,
            top_k,
            on_pick=lambda class_index: self._report(callbacks.select, class_index=class_index),
            on_unknown=lambda text: self._report(callbacks.unknown_class, text),
        )
        wide = widgets.Layout(width="300px")
        self.method = widgets.Dropdown(
            options=[(_compute.method_label(m), m) for m in _compute.method_names()],
            description="method",
            layout=wide,
        )
        self.sign = widgets.ToggleButtons(options=list(_compute.SIGNS), description="sign")
        self.sign.style.button_width = "88px"
        self.cmap = widgets.Dropdown(
            options=COLOUR_MAPS if options.cmap in COLOUR_MAPS else (options.cmap, *COLOUR_MAPS),
            description="colours",
            layout=wide,
        )
        self.alpha = widgets.FloatSlider(
            min=0.0, max=1.0, step=0.05, description="opacity", layout=wide
        )
        self.blend = widgets.ToggleButtons(
            options=list(display.BLENDS),
            description="blend",
            tooltips=[
                "the colour map over the whole image",
                "colour only where the map is high",
                "the image dimmed where the map is low",
            ],
        )
        self.blend.style.button_width = "88px"
        self.clip = widgets.FloatSlider(
            min=min(CLIP_RANGE[0], options.clip),
            max=100.0,
            step=0.5,
            description="clip at",
            tooltip="percentile of the map drawn at full colour (100: the maximum)",
            readout_format=".1f",
            layout=wide,
        )
        self.compare = widgets.ToggleButtons(options=COMPARE_MODES, description="compare")
        self.compare.style.button_width = "104px"
        self.export = _classed(
            widgets.Button(description="Export PNG", icon="download"), "sw-export"
        )
        self.download = _classed(widgets.HTML(), "sw-download")
        for name in ("method", "sign", "cmap", "alpha", "blend", "clip"):
            _classed(getattr(self, name), f"sw-{name}")
        _classed(self.compare, "sw-compare-mode")
        self._wire(callbacks)

    def _wire(self, callbacks: Callbacks) -> None:
        def report(name: str, call: Callable[..., None]) -> None:
            control = getattr(self, name)
            control.observe(lambda change: self._report(call, change["new"]), names="value")

        report("method", lambda value: callbacks.select(method=value))
        report("sign", lambda value: callbacks.select(sign=value))
        report("cmap", lambda value: callbacks.view(replace(self._options, cmap=value)))
        report("alpha", lambda value: callbacks.view(replace(self._options, alpha=value)))
        report("blend", lambda value: callbacks.view(replace(self._options, blend=value)))
        report("clip", lambda value: callbacks.view(replace(self._options, clip=value)))
        report("compare", callbacks.compare)
        self.export.on_click(lambda _: self._report(callbacks.export))

    def _report(self, call: Callable[..., None], *args: object, **kwargs: object) -> None:
        if self._rendering_thread != threading.get_ident():
            call(*args, **kwargs)

    @contextlib.contextmanager
    def _rendering(self) -> Iterator[None]:
        self._rendering_thread = threading.get_ident()
        try:
            yield
        finally:
            self._rendering_thread = None

    @property
    def children(self) -> list[widgets.Widget]:
        """The widget's top-level children, in display order."""
        self.progress.layout.margin = "0 0 0 12px"
        header = widgets.HBox([self.status, self.progress])
        navigation = widgets.HBox([self.previous, self.caption, self.next])
        navigation.layout.align_items = "center"
        view = widgets.HBox([self.image_panel, self.map_panel, self.overlay_panel])
        view.layout.flex_flow = "row wrap"
        left = widgets.VBox([view, self.error, self.compare_grid])
        right = widgets.VBox(
            [
                self.classes,
                self.method,
                self.sign,
                self.cmap,
                self.blend,
                self.alpha,
                self.clip,
                self.compare,
                widgets.HBox([self.export, self.download]),
            ]
        )
        left.layout.margin = "0 16px 0 0"
        main = widgets.HBox([left, right], layout=widgets.Layout(flex_flow="row wrap"))
        return [header, self.thumbs, navigation, main]

    def ensure_method(self, method: str) -> None:
        """Adds a method registered after the widget was built to the picker."""
        if method not in [value for _, value in self.method.options]:
            self.method.options = [*self.method.options, (_compute.method_label(method), method)]

    def show_controls(self, view: ControlsView) -> None:
        """Makes every control show ``view``, without reporting the changes."""
        selection, options = view.selection, view.options
        self._options = options
        with self._rendering():
            self.ensure_method(selection.method)
            self.method.value = selection.method
            self.sign.value = selection.sign
            if options.cmap not in self.cmap.options:
                self.cmap.options = (options.cmap, *self.cmap.options)
            self.cmap.value = options.cmap
            self.alpha.value = options.alpha
            self.blend.value = options.blend
            self.clip.min = min(self.clip.min, options.clip)
            self.clip.value = options.clip
            self.compare.value = view.compare
            self.thumbs.mark(selection.image, set(view.failed))
            if list(view.class_names) != self.classes.names:
                self.classes.set_names(view.class_names)
            if view.started:
                self.progress.layout.display = "none"
            self.caption.value = f"image {selection.image + 1} of {self.count}"
            classes = view.classes
            self.classes.update(
                classes.scores,
                classes.top,
                classes.selected,
                classes.true_label,
                classes.activation,
            )

    def show_pictures(self, view: PicturesView) -> None:
        """Shows the pictures, error, compare panels and status line of ``view``, together."""
        self.shown = view
        parts = [self.image_panel, self.map_panel, self.overlay_panel]
        with contextlib.ExitStack() as stack:
            for part in [*(w for panel in parts for w in panel.parts), self.error, self.status]:
                stack.enter_context(part.hold_sync())
            self.image_panel.show(view.image.title, view.image.png)
            self.map_panel.show(view.map.title, view.map.png)
            self.map_panel.show_scale(view.colour_bar, view.scale_hint)
            self.overlay_panel.show(view.overlay.title, view.overlay.png, view.overlay.detail)
            self._show_error(view.error)
            self._show_compare(view.compare)
            self.status.value = view.status

    def show_status(self, status: str) -> None:
        """Sets the status line (HTML) alone."""
        if self.shown is not None:
            self.shown = replace(self.shown, status=status)
        self.status.value = status

    def show_progress(self, done: int) -> None:
        """Shows how many images the start-up pass has done."""
        self.progress.value = done

    def _show_error(self, message: str | None) -> None:
        if message:
            self.error.value = (
                f"<div style='{ERROR_STYLE}'>{html.escape(message, quote=False)}</div>"
            )
            self.error.layout.display = "block"
        else:
            self.error.layout.display = "none"

    def _show_compare(self, items: Sequence[PictureView]) -> None:
        while len(self._compare_pool) < len(items):
            self._compare_pool.append(Panel(self.compare_size, "sw-compare"))
        for panel, item in zip(self._compare_pool, items, strict=False):
            panel.show(item.title, item.png)
        children = tuple(self._compare_pool[: len(items)])
        if self.compare_grid.children != children:
            self.compare_grid.children = children
        self.compare_grid.layout.display = "grid" if items else "none"

    def show_download(self, png: bytes, filename: str) -> None:
        """Offers ``png`` as a download link (works in every front-end, no extension)."""
        data = base64.b64encode(png).decode("ascii")
        self.download.value = (
            f"<a download='{html.escape(filename)}' href='data:image/png;base64,{data}'>"
            f"⤓ {html.escape(filename)}</a>"
        )

    def show_download_error(self, message: str) -> None:
        """Says why the export failed, where the download link would be."""
        self.download.value = f"<span>{html.escape(message)}</span>"


def descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    """Every widget under ``widget``, depth first, in display order."""
    found = []
    for child in getattr(widget, "children", ()):
        found += [child, *descendants(child)]
    return found


_Classed = TypeVar("_Classed", bound=widgets.DOMWidget)


def _classed(widget: _Classed, css_class: str) -> _Classed:
    widget.add_class(css_class)
    return widget


__all__ = ["COLOUR_MAPS", "COMPARE_MODES", "Callbacks", "Controls", "descendants"]
