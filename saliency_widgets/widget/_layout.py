"""The widget's controls and how they are laid out (core ipywidgets only).

:class:`Controls` builds every child widget once and wires its events to the owning
:class:`~saliency_widgets.widget.SaliencyWidget`; the owner decides what happens.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

import ipywidgets as widgets

from saliency_widgets import display
from saliency_widgets.widget import _compute
from saliency_widgets.widget._parts import ClassPicker, Panel, ThumbnailStrip
from saliency_widgets.widget._state import Selection

if TYPE_CHECKING:
    from saliency_widgets.widget._widget import SaliencyWidget

COLOUR_MAPS = ("inferno", "magma", "viridis", "plasma", "cividis", "turbo", "jet", "hot", "gray")
"""Colour maps offered by the picker (any matplotlib name can be passed as ``cmap=``)."""
COMPARE_MODES = (("single", "single"), ("top classes", "classes"), ("all methods", "methods"))
"""Labels and values of the compare-mode picker."""
CLIP_RANGE = (90.0, 100.0)
"""Range of the clip slider (a lower ``clip=`` passed to the widget extends it)."""
ERROR_STYLE = "color:#b71c1c;background:#ffebee;padding:6px 8px;border-radius:4px"


class Controls:
    """Every child widget of a :class:`SaliencyWidget`, wired to it.

    Args:
        owner: The widget whose events these controls raise.
        count: Number of images.
        top_k: Rows of the class picker.
        per_page: Thumbnails per page.
        thumbnail_size: Thumbnail side in pixels.
        view_size: Longer side of the main pictures in pixels.
    """

    def __init__(
        self,
        owner: SaliencyWidget,
        count: int,
        top_k: int,
        per_page: int,
        thumbnail_size: int,
        view_size: int,
    ) -> None:
        self._owner = owner
        self.count = count
        self.compare_size = max(view_size // 2, 64)
        self.status = widgets.HTML()
        self.progress = widgets.IntProgress(
            min=0, max=count, description="predicting", layout=widgets.Layout(width="320px")
        )
        self.thumbs = ThumbnailStrip(
            count,
            picture=owner._renderer.thumbnail,
            tooltip=owner._display.image_title,
            on_pick=lambda image: owner.select(image=image),
            per_page=per_page,
            size=thumbnail_size,
        )
        self.previous = widgets.Button(description="previous", icon="arrow-left")
        self.next = widgets.Button(description="next", icon="arrow-right")
        for button, step in ((self.previous, -1), (self.next, 1)):
            button.layout = widgets.Layout(width="110px")
            button.on_click(
                lambda _, step=step: owner.select(
                    image=(owner._state.selection.image + step) % self.count
                )
            )
        self.caption = widgets.Label()
        self.image_panel = Panel(view_size, "sw-view-image")
        self.map_panel = Panel(view_size, "sw-view-map", scale=True)
        self.overlay_panel = Panel(view_size, "sw-view-overlay")
        self.error = widgets.HTML(layout=widgets.Layout(display="none"))
        self.error.add_class("sw-error")
        self._compare_pool: list[Panel] = []
        self.compare_grid = widgets.GridBox(
            layout=widgets.Layout(
                grid_template_columns=f"repeat(auto-fill, {self.compare_size + 8}px)",
                grid_gap="6px",
                display="none",
            )
        )
        self.classes = ClassPicker(
            owner.class_names,
            top_k,
            on_pick=lambda class_index: owner.select(class_index=class_index),
            on_unknown=owner._unknown_class,
        )
        wide = widgets.Layout(width="300px")
        self.method = widgets.Dropdown(
            options=[(_compute.method_label(m), m) for m in _compute.method_names()],
            description="method",
            layout=wide,
        )
        self.sign = widgets.ToggleButtons(options=list(_compute.SIGNS), description="sign")
        self.sign.style.button_width = "88px"
        self.cmap = widgets.Dropdown(description="colours", layout=wide)
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
            min=CLIP_RANGE[0],
            max=100.0,
            step=0.5,
            description="clip at",
            tooltip="percentile of the map drawn at full colour (100: the maximum)",
            readout_format=".1f",
            layout=wide,
        )
        self.compare = widgets.ToggleButtons(options=COMPARE_MODES, description="compare")
        self.compare.style.button_width = "104px"
        self.export = widgets.Button(description="Export PNG", icon="download")
        self.download = widgets.HTML()

    def set_initial(
        self, method: str, sign: str, cmap: str, alpha: float, blend: str, clip: float
    ) -> None:
        """Sets the controls' initial values, then wires their events to the owner."""
        self.ensure_method(method)
        self.method.value = method
        self.sign.value = sign
        self.cmap.options = COLOUR_MAPS if cmap in COLOUR_MAPS else (cmap, *COLOUR_MAPS)
        self.cmap.value = cmap
        self.alpha.value = alpha
        self.blend.value = blend
        self.clip.min = min(CLIP_RANGE[0], clip)
        self.clip.value = clip
        owner = self._owner
        self.method.observe(lambda c: owner._control_changed(method=c["new"]), names="value")
        self.sign.observe(lambda c: owner._control_changed(sign=c["new"]), names="value")
        self.cmap.observe(lambda _: owner._display_changed(), names="value")
        for control in (self.alpha, self.blend, self.clip):
            control.observe(lambda _: owner._display_changed(), names="value")
        self.compare.observe(lambda c: owner._compare_changed(c["new"]), names="value")
        self.export.on_click(lambda _: owner._export())

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

    def sync(self, selection: Selection, failed: set[int]) -> None:
        """Shows ``selection`` in the controls (the owner suppresses their events meanwhile)."""
        self.method.value = selection.method
        self.sign.value = selection.sign
        self.thumbs.mark(selection.image, failed)
        self.caption.value = f"image {selection.image + 1} of {self.count}"

    def view_widgets(self) -> list[widgets.Widget]:
        """Widgets a redraw changes, so that their updates are sent together."""
        parts = [self.image_panel, self.map_panel, self.overlay_panel]
        return [
            *(w for panel in parts for w in panel.parts),
            self.error,
            self.status,
        ]

    def show_error(self, message: str | None) -> None:
        """Shows a model's error inside the widget (or hides the box)."""
        if message:
            self.error.value = (
                f"<div style='{ERROR_STYLE}'>{html.escape(message, quote=False)}</div>"
            )
            self.error.layout.display = "block"
        else:
            self.error.layout.display = "none"

    def show_compare(self, items: list[tuple[str, bytes]]) -> None:
        """Shows ``(title, png)`` panels side by side (hidden when there are none)."""
        while len(self._compare_pool) < len(items):
            self._compare_pool.append(Panel(self.compare_size, "sw-compare"))
        for panel, (title, png) in zip(self._compare_pool, items, strict=False):
            panel.show(title, png)
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


__all__ = ["COLOUR_MAPS", "COMPARE_MODES", "Controls"]
