"""What the widget shows, redrawn from the state: panels, titles, class rows, status line.

Every method here runs with the state's lock held (by the caller), on whichever thread changed
the state; the lock is what makes a redraw of an old selection impossible after a newer one.
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Sequence

import numpy as np

from saliency_widgets import render
from saliency_widgets.widget import _compute
from saliency_widgets.widget._images import Pictures
from saliency_widgets.widget._layout import Controls
from saliency_widgets.widget._state import ExplorerState, MapJob, MapKey
from saliency_widgets.widget._view import PictureRenderer


class Display:
    """Draws an :class:`ExplorerState` into the widget's :class:`Controls`.

    Args:
        state: The state to show.
        pictures: The images and their names.
        renderer: Encodes pictures.
        labels: True class per image, or ``None``.
        class_names: Class names (``None`` until the model tells how many classes it has).
        activation: How scores become probabilities (``"softmax"``, ``"sigmoid"``, ``"none"``).
    """

    def __init__(
        self,
        state: ExplorerState,
        pictures: Pictures,
        renderer: PictureRenderer,
        labels: np.ndarray | None,
        class_names: Sequence[str] | None,
        activation: str,
    ) -> None:
        self.state = state
        self.pictures = pictures
        self.renderer = renderer
        self.labels = labels
        self.class_names = None if class_names is None else list(class_names)
        self.activation = activation
        self.probabilities: np.ndarray | None = None
        self.running: MapJob | None = None
        self.notice = ""
        self._syncing_thread: int | None = None
        self.ui: Controls | None = None

    @property
    def syncing(self) -> bool:
        """Whether *this thread* is setting the controls (their events must then be ignored).

        Per thread: a user's change that arrives on the kernel's thread while the worker thread
        syncs the controls is a real event, not an echo.
        """
        return self._syncing_thread == threading.get_ident()

    def label(self, image: int) -> int | None:
        """The true class of ``image``, if labels were given."""
        return None if self.labels is None else int(self.labels[image])

    def class_name(self, class_index: int) -> str:
        """The name of a class."""
        return self.class_names[class_index] if self.class_names else f"class {class_index}"

    def class_title(self, image: int, class_index: int) -> str:
        """``"star 97.3%"``: a class and its probability for ``image``."""
        name = self.class_name(class_index)
        if self.probabilities is None or self.activation == "none":
            return name
        return f"{name} {100 * self.probabilities[image, class_index]:.1f}%"

    def image_title(self, image: int) -> str:
        """``"3 · 03_star.png · true: star"`` (``"image 3 · true: star"`` for arrays)."""
        name = self.pictures.names[image]
        title = name if name == f"image {image}" else f"{image} · {name}"
        label = self.label(image)
        if label is not None:
            title += f" · true: {self.class_name(label)}"
        return title

    def panels(self) -> list[tuple[np.ndarray | None, str, MapKey]]:
        """``(map or None, title, key)`` of the current view: one, or one per compared item."""
        state = self.state
        selection = state.selection
        if selection.class_index is None or selection.image in state.image_errors:
            return []
        image, sign = selection.image, selection.sign
        if state.compare == "classes":
            classes = list(dict.fromkeys(state.classes_for(image, selection.class_index)))
            keys = [(image, c, selection.method, sign) for c in classes]
            titles = [self.class_title(image, c) for c in classes]
        elif state.compare == "methods":
            keys = [(image, selection.class_index, m, sign) for m in state.compare_methods]
            titles = [_compute.method_label(m) for m in state.compare_methods]
        else:
            keys = [selection.key()]
            titles = [
                f"{self.class_title(image, selection.class_index)} · "
                f"{_compute.method_label(selection.method)} ({sign})"
            ]
        return [(state.cache.get(k), t, k) for k, t in zip(keys, titles, strict=True)]

    def sync_controls(self) -> None:
        """Makes every control show the current selection, without firing their events."""
        state = self.state
        selection = state.selection
        self._syncing_thread = threading.get_ident()
        try:
            self.ui.sync(selection, set(state.image_errors))
            scores = None
            if self.probabilities is not None and selection.image not in state.image_errors:
                scores = self.probabilities[selection.image]
            top = [] if state.top is None else [int(c) for c in state.top[selection.image]]
            self.ui.classes.update(
                scores, top, selection.class_index, self.label(selection.image), self.activation
            )
        finally:
            self._syncing_thread = None

    def refresh(self) -> None:
        """Redraws the pictures, the error box, the compare panels and the status line."""
        ui, renderer, state = self.ui, self.renderer, self.state
        selection = state.selection
        image = selection.image
        failure = state.failure(image, selection.method, selection.sign)
        key = selection.key()
        saliency = None if key is None else state.cache.get(key)
        cmap, alpha, blend, clip = ui.cmap.value, ui.alpha.value, ui.blend.value, ui.clip.value
        picture = renderer.picture(image)
        ready = "ready" if saliency is not None else ("failed" if failure else "pending")
        view_id = (
            f"image {image} · class {selection.class_index} · {selection.method} · "
            f"{selection.sign} · {ready}"
        )
        if saliency is not None:
            map_png = renderer.saliency(key, saliency, cmap, clip)
            overlay_png = renderer.overlay(key, image, saliency, alpha, cmap, blend, clip)
            map_title = f"{_compute.method_label(selection.method)} ({selection.sign})"
            overlay_title = self.class_title(image, selection.class_index)
            hint = render.scale_hint(saliency, clip)
        else:
            map_png = renderer.placeholder(image)
            overlay_png = picture if failure is None else map_png
            map_title = overlay_title = "—" if failure else "computing…"
            hint = ""
        size = ui.compare_size
        compared = [
            (
                title,
                renderer.placeholder(image, size)
                if m is None
                else renderer.overlay(k, image, m, alpha, cmap, blend, clip, size),
            )
            for m, title, k in ([] if state.compare == "single" else self.panels())
        ]
        with contextlib.ExitStack() as stack:
            for part in ui.view_widgets():
                stack.enter_context(part.hold_sync())
            ui.image_panel.show(self.image_title(image), picture)
            ui.map_panel.show(map_title, map_png)
            ui.map_panel.show_scale(renderer.colour_bar(cmap), hint)
            ui.overlay_panel.show(overlay_title, overlay_png, view_id)
            ui.show_error(failure)
            ui.show_compare(compared)
            ui.status.value = self.status_html()

    def status_html(self) -> str:
        """The status line: what is being computed, or that the view is ready."""
        state = self.state
        selection = state.selection
        running = self.running
        count = len(self.pictures)
        if not state.started:
            text, colour = f"Predicting {count} images…", "#555"
        elif running is not None and not running.background:
            names = ", ".join(self.class_name(c) for c in dict.fromkeys(running.classes))
            text = (
                f"Computing {_compute.method_label(running.method)} ({running.sign}) maps of "
                f"image {running.image} for {names}…"
            )
            colour = "#555"
        elif state.failure(selection.image, selection.method, selection.sign):
            text = f"Image {selection.image} could not be explained (see the message below)."
            colour = "#b71c1c"
        else:
            text = f"Ready · image {selection.image + 1} of {count} · {len(state.cache)} maps"
            if running is not None:
                text += f" · prefetching image {running.image}…"
            colour = "#1b5e20"
        if self.notice:
            text, colour = self.notice, "#e65100"
        text = html.escape(text, quote=False)
        return f"<span class='sw-status' style='color:{colour}'>{text}</span>"


__all__ = ["Display"]
