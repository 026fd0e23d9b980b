"""A test hook: a browser view of a :class:`SaliencyWidget`, in Python.

:class:`View` speaks the widget's protocol (:mod:`saliency_widgets.widget._protocol`) as the ES
module does: it sets the ``selection`` trait on a click, asks for pictures and maps in custom
messages, and keeps every message the kernel sends, decoding the maps as the browser does
(int8 levels times their scale). Tests and scripts drive the widget through the very messages a
browser sends, without knowing how the kernel side is built.

Example:
    >>> from saliency_widgets.widget.testing import View
    >>> view = View(widget)  # doctest: +SKIP
    >>> view.click(image=4); widget.wait()  # doctest: +SKIP
    >>> sorted(view.maps(4, "gradients"))  # doctest: +SKIP
    [0, 2, 3, 5, 7]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from saliency_widgets.widget._widget import SaliencyWidget


class View:
    """A stand-in for one browser view of ``widget`` (attach it before the widget computes).

    Args:
        widget: The widget.

    Attributes:
        received: Every custom message the kernel sent, as ``(content, buffers)``.
        updates: Every trait update the kernel sent, as state dicts.
        sent: How many messages this view sent to the kernel.
    """

    def __init__(self, widget: SaliencyWidget) -> None:
        self.widget = widget
        self.received: list[tuple[dict[str, Any], list[bytes]]] = []
        self.updates: list[dict[str, Any]] = []
        self.sent = 0
        comm = widget.comm
        original = comm.send

        def send(data: Any = None, metadata: Any = None, buffers: Any = None) -> Any:
            data = data or {}
            if data.get("method") == "custom":
                self.received.append((data["content"], [bytes(b) for b in buffers or []]))
            elif data.get("method") == "update":
                self.updates.append(dict(data.get("state", {})))
            return original(data=data, metadata=metadata, buffers=buffers)

        comm.send = send

    def _deliver(self, data: dict[str, Any]) -> None:
        self.sent += 1
        self.widget._handle_msg({"content": {"data": data}, "buffers": []})

    def click(
        self, image: int | None = None, class_index: int | None = None, method: str | None = None
    ) -> None:
        """What a click on a thumbnail, a class or a method sends: the new ``selection``.

        A new image without a class selects its predicted class, as the view does.
        """
        current = dict(self.widget.selection)
        if image is not None and image != current.get("image") and class_index is None:
            top = self.widget.predictions.get("top")
            class_index = None if not top else top[image][0]
            current["class_index"] = class_index
        for key, value in (("image", image), ("class_index", class_index), ("method", method)):
            if value is not None:
                current[key] = value
        self._deliver({"method": "update", "state": {"selection": current}, "buffer_paths": []})

    def want(self, image: int, methods: Sequence[str], class_index: int | None = None) -> None:
        """Asks for maps the view lacks (a compare mode, a typed class, a reloaded page)."""
        content = {"kind": "want", "image": image, "methods": list(methods)}
        content["class_index"] = class_index
        self._deliver({"method": "custom", "content": content})

    def ask_images(self, indices: Sequence[int], thumbs: bool = False) -> None:
        """Asks for pictures (thumbnails or full size)."""
        content = {"kind": "images", "indices": list(indices), "thumbs": thumbs}
        self._deliver({"method": "custom", "content": content})

    def ask_scores(self, image: int, methods: Sequence[str], class_index: int) -> None:
        """What the trust panel sends when it lacks figures (the "all methods" ranking)."""
        content = {"kind": "scores", "image": image, "methods": list(methods)}
        content["class_index"] = class_index
        self._deliver({"method": "custom", "content": content})

    def ask_sanity(self, image: int, method: str, class_index: int) -> None:
        """What the trust panel's sanity button sends."""
        content = {"kind": "sanity", "image": image, "method": method, "class_index": class_index}
        self._deliver({"method": "custom", "content": content})

    def send_raw(self, content: dict[str, Any]) -> None:
        """Sends any custom message (to check that bad ones are refused)."""
        self._deliver({"method": "custom", "content": content})

    def messages(self, kind: str) -> list[tuple[dict[str, Any], list[bytes]]]:
        """The custom messages of one kind received so far, in order."""
        return [(content, buffers) for content, buffers in self.received if content["kind"] == kind]

    def maps(self, image: int, method: str) -> dict[int, np.ndarray]:
        """The maps of ``(image, method)`` this view holds, by class: ``level * scale``."""
        held: dict[int, np.ndarray] = {}
        for content, buffers in self.messages("maps"):
            if content["image"] != image or content["method"] != method:
                continue
            height, width = content["shape"]
            levels = np.frombuffer(buffers[0], np.int8).reshape(-1, height, width)
            for k, index in enumerate(content["classes"]):
                held[index] = levels[k].astype(np.float64) * content["scales"][k]
        return held

    def levels(self, image: int, method: str) -> dict[int, np.ndarray]:
        """The maps of ``(image, method)`` as the view draws them: the int8 levels."""
        held: dict[int, np.ndarray] = {}
        for content, buffers in self.messages("maps"):
            if content["image"] == image and content["method"] == method:
                height, width = content["shape"]
                levels = np.frombuffer(buffers[0], np.int8).reshape(-1, height, width)
                held.update(
                    {c: levels[k].astype(np.float64) for k, c in enumerate(content["classes"])}
                )
        return held


__all__ = ["View"]
