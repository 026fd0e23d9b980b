"""Building blocks of the widget, made of core ipywidgets only: thumbnails, class picker, panels.

Each block owns its child widgets and exposes plain methods (``show_page``, ``update``); the
composite :class:`~saliency_widgets.widget.SaliencyWidget` wires them to the state.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable, Sequence

import ipywidgets as widgets

MARK = "3px solid #1565c0"
"""Border of the current thumbnail."""
NO_MARK = "3px solid transparent"
FAILED_MARK = "3px dashed #c62828"
"""Border of a thumbnail whose image the model could not process."""


class ThumbnailStrip(widgets.VBox):
    """Clickable thumbnails of all images, paged, the current one framed.

    A thumbnail is an :class:`~ipywidgets.Image` under a transparent :class:`~ipywidgets.Button`
    in the same grid cell: core widgets only, and one click anywhere on the picture selects it.

    Args:
        count: Number of images.
        picture: Returns the thumbnail PNG of an image (called for the visible page only).
        tooltip: Returns the hover text of an image.
        on_pick: Called with the index of a clicked image.
        per_page: Thumbnails per page.
        size: Thumbnail side in pixels.
    """

    def __init__(
        self,
        count: int,
        picture: Callable[[int], bytes],
        tooltip: Callable[[int], str],
        on_pick: Callable[[int], None],
        per_page: int = 24,
        size: int = 56,
    ) -> None:
        self.count = count
        self.per_page = max(1, min(per_page, count))
        self.pages = math.ceil(count / self.per_page)
        self.page = 0
        self.current = 0
        self.failed: set[int] = set()
        self._picture = picture
        self._tooltip = tooltip
        self._on_pick = on_pick
        self._cells: list[widgets.GridBox] = []
        self._images: list[widgets.Image] = []
        self._buttons: list[widgets.Button] = []
        side = f"{size}px"
        for slot in range(self.per_page):
            image = widgets.Image(format="png", layout=widgets.Layout(grid_area="1 / 1"))
            image.layout.width = image.layout.height = side
            image.layout.object_fit = "contain"
            image.add_class("sw-thumb-image")
            button = widgets.Button(
                layout=widgets.Layout(grid_area="1 / 1", width=side, height=side, padding="0")
            )
            button.style.button_color = "transparent"
            button.add_class("sw-thumb")
            button.on_click(lambda _, slot=slot: self._clicked(slot))
            cell = widgets.GridBox(
                [image, button],
                layout=widgets.Layout(
                    grid_template_columns=side, grid_template_rows=side, border=NO_MARK
                ),
            )
            cell.add_class("sw-thumb-cell")
            self._cells.append(cell)
            self._images.append(image)
            self._buttons.append(button)
        self._previous = widgets.Button(icon="chevron-left", tooltip="previous page")
        self._next = widgets.Button(icon="chevron-right", tooltip="next page")
        for button in (self._previous, self._next):
            button.layout = widgets.Layout(width="36px")
        self._previous.on_click(lambda _: self.show_page(self.page - 1))
        self._next.on_click(lambda _: self.show_page(self.page + 1))
        self._previous.add_class("sw-previous-page")
        self._next.add_class("sw-next-page")
        self._page_label = widgets.Label()
        self._page_label.add_class("sw-page")
        pager = widgets.HBox([self._previous, self._page_label, self._next])
        pager.layout.display = "flex" if self.pages > 1 else "none"
        grid = widgets.GridBox(
            self._cells,
            layout=widgets.Layout(
                grid_template_columns=f"repeat(auto-fill, {size + 6}px)", grid_gap="4px"
            ),
        )
        super().__init__([grid, pager])
        self.add_class("sw-thumbs")
        self.show_page(0)

    def _clicked(self, slot: int) -> None:
        index = self.page * self.per_page + slot
        if index < self.count:
            self._on_pick(index)

    def show_page(self, page: int) -> None:
        """Shows page ``page`` (clamped to the existing pages)."""
        self.page = min(max(page, 0), self.pages - 1)
        for slot, (cell, image, button) in enumerate(
            zip(self._cells, self._images, self._buttons, strict=True)
        ):
            index = self.page * self.per_page + slot
            if index >= self.count:
                cell.layout.visibility = "hidden"
                continue
            cell.layout.visibility = "visible"
            image.value = self._picture(index)
            button.tooltip = self._tooltip(index)
            cell.layout.border = self._border(index)
        self._page_label.value = f"page {self.page + 1} / {self.pages}"
        self._previous.disabled = self.page == 0
        self._next.disabled = self.page == self.pages - 1

    def _border(self, index: int) -> str:
        if index == self.current:
            return MARK
        return FAILED_MARK if index in self.failed else NO_MARK

    def mark(self, current: int, failed: set[int] | None = None) -> None:
        """Frames image ``current`` (turning to its page) and marks images that failed."""
        previous = self.current
        self.current = current
        if failed is not None:
            self.failed = set(failed)
        page = current // self.per_page
        if page != self.page:
            self.show_page(page)
            return
        for index in {previous, current} | (self.failed if failed is not None else set()):
            slot = index - self.page * self.per_page
            if 0 <= slot < self.per_page and index < self.count:
                self._cells[slot].layout.border = self._border(index)

    def tooltip_of(self, slot: int) -> str:
        """The hover text of a slot (for tests and scripts)."""
        return self._buttons[slot].tooltip or ""


class ClassRow(widgets.HBox):
    """One class of the picker: a button with its name, a probability bar and the percentage."""

    def __init__(self, on_click: Callable[[], None]) -> None:
        self.class_index: int | None = None
        self.button = widgets.Button(layout=widgets.Layout(width="120px"))
        self.button.add_class("sw-class")
        self.button.on_click(lambda _: on_click())
        self.bar = widgets.FloatProgress(min=0.0, max=1.0, layout=widgets.Layout(width="90px"))
        self.text = widgets.Label(layout=widgets.Layout(width="64px"))
        self.note = widgets.Label(layout=widgets.Layout(width="60px"))
        super().__init__([self.button, self.bar, self.text, self.note])
        self.add_class("sw-class-row")

    def show(
        self, class_index: int, name: str, score: float, activation: str, notes: Sequence[str]
    ) -> None:
        """Fills the row for one class."""
        self.class_index = class_index
        self.button.description = name
        self.button.tooltip = f"{name} (class {class_index})"
        if activation == "none":
            self.bar.layout.visibility = "hidden"
            self.text.value = f"{score:.3g}"
        else:
            self.bar.layout.visibility = "visible"
            self.bar.value = min(max(float(score), 0.0), 1.0)
            self.text.value = f"{100 * score:.1f}%"
        self.note.value = " ".join(notes)
        self.layout.display = "flex"

    def hide(self) -> None:
        """Hides an unused row."""
        self.class_index = None
        self.layout.display = "none"


class ClassPicker(widgets.VBox):
    """The top-K classes with probabilities, the true one marked, and a box to type any other.

    Args:
        names: Class names by index.
        k: How many top classes are listed.
        on_pick: Called with the picked class index.
        on_unknown: Called with text that names no class.
    """

    def __init__(
        self,
        names: Sequence[str],
        k: int,
        on_pick: Callable[[int], None],
        on_unknown: Callable[[str], None],
    ) -> None:
        self.names = list(names)
        self._on_pick = on_pick
        self._on_unknown = on_unknown
        self.rows = [ClassRow(functools.partial(self._row_clicked, i)) for i in range(k + 2)]
        self.other = widgets.Combobox(
            placeholder="another class: name or index",
            continuous_update=False,
            ensure_option=False,
            layout=widgets.Layout(width="250px"),
        )
        self.set_names(names)
        self.other.add_class("sw-other-class")
        self.other.observe(self._typed, names="value")
        super().__init__([widgets.HTML("<b>Classes</b>"), *self.rows, self.other])

    def set_names(self, names: Sequence[str]) -> None:
        """Sets the class names (known only after the first prediction for some models)."""
        self.names = list(names)
        self.other.options = tuple(self.names) if len(self.names) <= 2000 else ()

    def _row_clicked(self, row: int) -> None:
        class_index = self.rows[row].class_index
        if class_index is not None:
            self._on_pick(class_index)

    def parse(self, text: str) -> int | None:
        """The class a user typed: a name (any case) or an index; ``None`` if neither."""
        text = text.strip()
        lowered = [name.lower() for name in self.names]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if text.isdigit() and int(text) < len(self.names):
            return int(text)
        return None

    def _typed(self, change: dict) -> None:
        text = change["new"]
        if not text:
            return
        class_index = self.parse(text)
        self.other.value = ""  # so that typing the same class again fires again
        if class_index is None:
            self._on_unknown(text)
        else:
            self._on_pick(class_index)

    def update(
        self,
        scores: Sequence[float] | None,
        top: Sequence[int],
        selected: int | None,
        true_label: int | None,
        activation: str,
    ) -> None:
        """Shows the top classes of an image, then the true and the selected class if not in it.

        Args:
            scores: Probabilities (or raw scores for ``activation="none"``) of the image,
                ``None`` when it could not be predicted (every row is hidden).
            top: Its top-K classes, best first.
            selected: The selected class, highlighted.
            true_label: The image's label, marked "✓ true", or ``None``.
            activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.
        """
        values: Sequence[float] = () if scores is None else scores
        shown: list[int] = []
        if scores is not None:
            extras = [int(c) for c in (true_label, selected) if c is not None]
            shown = list(dict.fromkeys([*(int(c) for c in top), *extras]))
        for row, class_index in zip(self.rows, shown, strict=False):
            notes = ["✓ true"] if class_index == true_label else []
            if class_index not in top:
                notes.append("(not top)")
            row.show(class_index, self.names[class_index], values[class_index], activation, notes)
            row.button.button_style = "primary" if class_index == selected else ""
        for row in self.rows[len(shown) :]:
            row.hide()


class Panel(widgets.VBox):
    """A titled picture, optionally with a colour bar and a scale hint under it.

    The title's hover text (``detail``) says exactly what is shown; it lives on the title
    because an ``Image`` has no ``description``, which ipywidgets' tooltips need.

    Args:
        size: Display width in pixels.
        css_class: A DOM class for the picture (tests and styling find it by this).
        scale: Adds a colour bar and a line of text under the picture (:meth:`show_scale`).
    """

    def __init__(self, size: int, css_class: str = "", scale: bool = False) -> None:
        self.detail = ""
        self.title = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.bar: widgets.Image | None = None
        self.hint: widgets.HTML | None = None
        children: list[widgets.Widget] = [self.title, self.image]
        if scale:
            self.bar = widgets.Image(format="png", layout=widgets.Layout(margin="2px 0 0 0"))
            self.hint = widgets.HTML()
            self.bar.add_class("sw-scale-bar")
            self.hint.add_class("sw-scale-hint")
            children += [self.bar, self.hint]
        if css_class:
            self.image.add_class(css_class)
            self.title.add_class(f"{css_class}-title")
        super().__init__(children, layout=widgets.Layout(margin="0 8px 4px 0"))
        self.layout.min_width = f"{min(size, 96)}px"

    def show(self, title: str, png: bytes, detail: str = "") -> None:
        """Sets the title (plain text, escaped), its hover text and the picture."""
        self.detail = detail or title
        hover = html.escape(self.detail)
        self.title.value = (
            f"<span title='{hover}' style='font-size:90%'>{html.escape(title, quote=False)}</span>"
        )
        self.image.value = png

    def show_scale(self, bar: bytes, hint: str) -> None:
        """Sets the colour bar's picture and the text under it (``""`` hides the bar).

        Args:
            bar: PNG of the colour bar, low values on the left.
            hint: What the colours mean, e.g. ``"0 → 0.43 (99th percentile; …)"``.
        """
        if self.bar is None or self.hint is None:
            raise RuntimeError("this panel was made without a scale")
        self.bar.value = bar
        self.bar.layout.visibility = "visible" if hint else "hidden"
        self.hint.value = (
            f"<span style='font-size:80%;color:#444'>{html.escape(hint, quote=False)}</span>"
        )

    @property
    def parts(self) -> list[widgets.Widget]:
        """Child widgets whose values a redraw changes."""
        return [w for w in (self.title, self.image, self.bar, self.hint) if w is not None]


__all__ = ["ClassPicker", "ClassRow", "Panel", "ThumbnailStrip"]
