"""What the widget shows, as plain data made from the state: the view model.

:class:`Display` reads an :class:`~saliency_widgets.widget._state.ExplorerState` and returns a
:class:`ControlsView` (what every control should say) and a :class:`PicturesView` (titles, PNGs,
error, compare panels, status line); the controls render them. Nothing here holds or touches a
widget. Every method runs with the state's lock held (by the caller), so a view made of an old
selection can never be rendered after a newer one.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saliency_widgets import render
from saliency_widgets.widget import _compute
from saliency_widgets.widget._images import Pictures
from saliency_widgets.widget._state import ExplorerState, MapKey, Selection, ViewOptions
from saliency_widgets.widget._view import PictureRenderer


@dataclass(frozen=True)
class PictureView:
    """One titled picture.

    Attributes:
        title: Plain text over the picture.
        png: The picture.
        detail: Hover text of the title (what exactly is shown); the title when empty.
    """

    title: str
    png: bytes
    detail: str = ""


@dataclass(frozen=True)
class ClassesView:
    """The class picker of the current image.

    Attributes:
        scores: Probabilities (raw scores for ``activation="none"``) of the image, ``None``
            when it could not be predicted.
        top: Its top-K classes, best first.
        selected: The selected class.
        true_label: The image's label, or ``None``.
        activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.
    """

    scores: Sequence[float] | None
    top: tuple[int, ...]
    selected: int | None
    true_label: int | None
    activation: str


@dataclass(frozen=True)
class ControlsView:
    """What every control shows: the selection, the display options and the compare mode.

    Attributes:
        selection: The current selection.
        options: The display options.
        compare: The compare mode.
        failed: Images the model could not process.
        classes: The class picker.
        class_names: Class names by index (empty until the model tells how many there are).
        started: Whether the start-up forward pass is done (its progress bar is then hidden).
    """

    selection: Selection
    options: ViewOptions
    compare: str
    failed: frozenset[int]
    classes: ClassesView
    class_names: tuple[str, ...]
    started: bool


@dataclass(frozen=True)
class PicturesView:
    """The pictures of the current view and the lines around them.

    Attributes:
        image: The image as given.
        map: The colour-mapped map (a placeholder while it is computed).
        overlay: The map over the image; its ``detail`` names the view and whether it is
            ``ready``, ``pending`` or ``failed``.
        colour_bar: The colour table as a bar.
        scale_hint: What full colour stands for (``""`` while there is no map).
        error: The model's error for this view, or ``None``.
        compare: Side-by-side panels in compare mode (empty otherwise).
        status: The status line (HTML).
    """

    image: PictureView
    map: PictureView
    overlay: PictureView
    colour_bar: bytes
    scale_hint: str
    error: str | None
    compare: tuple[PictureView, ...]
    status: str


class Display:
    """Makes the view model of an :class:`ExplorerState`.

    Args:
        state: The state to show.
        pictures: The images and their names.
        renderer: Encodes pictures.
        labels: True class per image, or ``None``.
        class_names: Class names (``None`` until the model tells how many classes it has).
        activation: How scores become probabilities (``"softmax"``, ``"sigmoid"``, ``"none"``).
        compare_size: Side of the compare panels' pictures, in pixels.
    """

    def __init__(
        self,
        state: ExplorerState,
        pictures: Pictures,
        renderer: PictureRenderer,
        labels: np.ndarray | None,
        class_names: Sequence[str] | None,
        activation: str,
        compare_size: int,
    ) -> None:
        self.state = state
        self.pictures = pictures
        self.renderer = renderer
        self.labels = labels
        self.class_names = None if class_names is None else list(class_names)
        self.activation = activation
        self.compare_size = compare_size
        self.probabilities: np.ndarray | None = None

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
        class_index = selection.class_index
        if class_index is None or selection.image in state.image_errors:
            return []
        image, method, sign = selection.image, selection.method, selection.sign
        keys: list[MapKey]
        if state.compare == "classes":
            classes = list(dict.fromkeys(state.classes_for(image, class_index)))
            keys = [(image, c, method, sign) for c in classes]
            titles = [self.class_title(image, c) for c in classes]
        elif state.compare == "methods":
            keys = [(image, class_index, m, sign) for m in state.compare_methods]
            titles = [_compute.method_label(m) for m in state.compare_methods]
        else:
            keys = [(image, class_index, method, sign)]
            titles = [
                f"{self.class_title(image, class_index)} · {_compute.method_label(method)} ({sign})"
            ]
        return [(state.cache.get(k), t, k) for k, t in zip(keys, titles, strict=True)]

    def controls(self) -> ControlsView:
        """What the controls show for the current state."""
        state = self.state
        selection = state.selection
        image = selection.image
        scores = None
        if self.probabilities is not None and image not in state.image_errors:
            scores = [float(p) for p in self.probabilities[image]]
        top = () if state.top is None else tuple(int(c) for c in state.top[image])
        classes = ClassesView(
            scores, top, selection.class_index, self.label(image), self.activation
        )
        return ControlsView(
            selection,
            state.view,
            state.compare,
            frozenset(state.image_errors),
            classes,
            tuple(self.class_names or ()),
            state.started,
        )

    def pictures_view(self) -> PicturesView:
        """The pictures, error, compare panels and status line of the current state."""
        renderer, state = self.renderer, self.state
        selection = state.selection
        image, options = selection.image, state.view
        cmap, alpha, blend, clip = options.cmap, options.alpha, options.blend, options.clip
        failure = state.failure(image, selection.method, selection.sign)
        key = selection.key()
        saliency = None if key is None else state.cache.get(key)
        picture = renderer.picture(image)
        ready = "ready" if saliency is not None else ("failed" if failure else "pending")
        view_id = (
            f"image {image} · class {selection.class_index} · {selection.method} · "
            f"{selection.sign} · {ready}"
        )
        if key is not None and saliency is not None:
            map_png = renderer.saliency(key, saliency, cmap, clip)
            overlay_png = renderer.overlay(key, image, saliency, alpha, cmap, blend, clip)
            map_title = f"{_compute.method_label(selection.method)} ({selection.sign})"
            overlay_title = self.class_title(image, key[1])
            hint = render.scale_hint(saliency, clip)
        else:
            map_png = renderer.placeholder(image)
            overlay_png = picture if failure is None else map_png
            map_title = overlay_title = "—" if failure else "computing…"
            hint = ""
        size = self.compare_size
        compared = tuple(
            PictureView(
                title,
                renderer.placeholder(image, size)
                if m is None
                else renderer.overlay(k, image, m, alpha, cmap, blend, clip, size),
            )
            for m, title, k in ([] if state.compare == "single" else self.panels())
        )
        return PicturesView(
            image=PictureView(self.image_title(image), picture),
            map=PictureView(map_title, map_png),
            overlay=PictureView(overlay_title, overlay_png, view_id),
            colour_bar=renderer.colour_bar(cmap),
            scale_hint=hint,
            error=failure,
            compare=compared,
            status=self.status_html(),
        )

    def status_html(self) -> str:
        """The status line: what is being computed, or that the view is ready."""
        state = self.state
        selection = state.selection
        running = state.running
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
        if state.notice:
            text, colour = state.notice, "#e65100"
        text = html.escape(text, quote=False)
        return f"<span class='sw-status' style='color:{colour}'>{text}</span>"


__all__ = ["ClassesView", "ControlsView", "Display", "PictureView", "PicturesView"]
