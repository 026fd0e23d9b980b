"""Driving one JupyterLab page and its kernel for ``benchmarks/widget_latency.py``.

:class:`Session` calls the page's timing functions (``page.js``, ``window.latency``) and reads the
kernel's marks (:mod:`latency.kernel_marks`) through a
:class:`jupyter_harness.KernelProbe`; :class:`WireFrames` counts the WebSocket frames chromium
receives.
"""

from __future__ import annotations

import itertools
import re
import time

from latency import analysis

ALTERNATE_METHOD = "input_x_gradient"
"""The second method of the method switches (as cheap as gradients)."""


class WireFrames:
    """Sizes of the WebSocket frames chromium receives that carry maps messages."""

    PATTERN = re.compile(rb'"kind":\s*"maps".*?"classes":\s*\[([^\]]*)\]', re.S)

    def __init__(self, page: object) -> None:
        self.maps: list[dict] = []
        page.on("websocket", self._socket)

    def _socket(self, socket: object) -> None:
        socket.on("framereceived", self._frame)

    def _frame(self, payload: bytes | str) -> None:
        data = payload.encode() if isinstance(payload, str) else payload
        found = self.PATTERN.search(data)
        if found:
            classes = len([c for c in found.group(1).split(b",") if c.strip()])
            self.maps.append({"t": 1000 * time.time(), "bytes": len(data), "classes": classes})

    def per_map(self, since: float, shape: list[int] | None) -> dict:
        """Bytes per map of the frames since ``since`` whose map size suits ``shape``."""
        frames = [f for f in self.maps if f["t"] >= since and f["classes"]]
        if shape:
            least = shape[0] * shape[1]
            frames = [f for f in frames if f["bytes"] >= least]
        return analysis.stats(f["bytes"] / f["classes"] for f in frames)


class Session:
    """One JupyterLab page and kernel, driven through the notebook's cells."""

    def __init__(self, page: object, probe: object, frames: WireFrames, args: object) -> None:
        self.page = page
        self.probe = probe
        self.frames = frames
        self.args = args

    def js(self, call: str, *args: object) -> object:
        """Calls ``window.latency.<call>(...args)`` in the page."""
        return self.page.evaluate(f"(args) => window.latency.{call}(...args)", list(args))

    def kernel(self, code: str, expression: str = "'0'") -> object:
        return self.probe.json(code, expression, timeout=900)

    def marks_since(self, t: float) -> list[dict]:
        return self.kernel("", f"kernel_marks.marks_since({t!r})")

    def run_to_end(self, cell: int) -> None:
        errors = self.js("runCellToEnd", cell)
        if errors:
            raise RuntimeError(f"cell {cell} raised: {errors}")

    def start(self, cell: int, name: str) -> dict:
        """Cold or warm start of the widget cell ``cell`` (variable ``name``)."""
        page = self.js("startUp", cell)
        widget = self.kernel(f"{name}.wait(900)", f"json.dumps({name}.model_id)")
        found = analysis.cold_start(page, self.marks_since(page["run"] - 50), widget)
        return {"page": page, "widget": widget, **found}

    def cosmetic(self, cell: int, images: list[int], compare: str, masks: bool) -> dict:
        from saliency_widgets import display

        n = self.args.trials
        plan = [
            ("sign", list(display.SIGNS[1:] + display.SIGNS[:1])),
            ("cmap", list(display.COLOUR_MAPS[1:] + display.COLOUR_MAPS[:1])),
            ("blend", list(display.BLENDS[1:] + display.BLENDS[:1])),
            ("alpha", [0.3, 0.45, 0.75, 0.9, 0.6]),
            ("clip", [95, 97.5, 99.5, 100, 90, 99]),
        ]
        if masks:
            plan.append(("outline", [False, True]))
        steps = [
            {"control": control, "values": list(itertools.islice(itertools.cycle(values), n))}
            for control, values in plan
        ]
        per_image = max(1, -(-n // len(images)))
        samples = self.js("cosmetic", cell, steps, images, per_image, compare)
        self.js("showIn", cell, {"compare": "single"})
        return {
            "samples": samples,
            "stats": {c: analysis.timing_stats(s) for c, s in samples.items()},
        }

    def switches(self, cell: int, name: str, images: list[int]) -> dict:
        """Class, method and image switches, every map held in the page beforehand."""
        n = self.args.trials
        for image in images:  # both methods' maps of each image reach the page
            self.js("showIn", cell, {"image": image, "method": ALTERNATE_METHOD})
            self.js("showIn", cell, {"method": "gradients"})
        self.kernel(f"{name}.wait(900)")
        samples = {
            "class": self.js("classSwitches", cell, images, [1, 2, 3, 4, 0], n),
            "method": self.js("methodSwitches", cell, ["gradients", ALTERNATE_METHOD], n),
        }
        self.js("showIn", cell, {"method": "gradients"})
        samples["image"] = self.js("imageSwitches", cell, images, n)
        return {
            "samples": samples,
            "stats": {k: analysis.timing_stats(s) for k, s in samples.items()},
        }

    def uncached(self, cell: int, name: str, count: int, per_page: int, prefetch: bool) -> dict:
        """Thumbnail clicks on images whose maps nobody holds (caches emptied first); without
        ``prefetch``, the kernel computes no neighbour after the clicked image."""
        shown = min(count, per_page)
        step = 7 if shown >= 16 else 3
        self.js("holdPictures", cell, list(range(shown)))
        self.kernel(f"{name}._state.prefetch = {prefetch}")  # the constructor's prefetch=
        trials = []
        for _ in range(self.args.uncached):
            current = self.js("showIn", cell, {})["image"]
            image = (current + step) % shown
            widget = self.kernel(
                f"{name}.clear_cache(); {name}.wait(900)", f"json.dumps({name}.model_id)"
            )
            page = self.js("uncachedClick", cell, image)
            self.kernel(f"{name}.wait(900)")
            marks = self.marks_since(page["click"] - 50)
            trials.append(analysis.uncached(page, marks, widget, image))
        self.kernel(f"{name}._state.prefetch = True")
        return {"trials": trials, "stats": analysis.uncached_summary(trials)}

    def byte_counts(self, name: str, since: float) -> dict:
        widget = self.kernel("", f"json.dumps({name}.model_id)")
        kernel = analysis.map_bytes(self.marks_since(since), widget)
        return {"kernel": kernel, "wire_bytes_per_map": self.frames.per_map(since, kernel["shape"])}


def clock_offset(session: Session) -> float:
    """The page's clock minus this process's (the kernel's), in ms, from the quickest of a few
    round trips (a page clock that drifted from the system's would show here)."""
    samples = []
    for _ in range(9):
        before = 1000 * time.time()
        page = session.js("epoch")
        after = 1000 * time.time()
        samples.append((after - before, page - (before + after) / 2))
    return min(samples)[1]


__all__ = ["ALTERNATE_METHOD", "Session", "WireFrames", "clock_offset"]
