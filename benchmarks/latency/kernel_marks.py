"""Timestamps the kernel records for ``benchmarks/widget_latency.py`` (imported in the kernel).

:func:`install` wraps, at class and module level and before any widget exists, the calls the
benchmark wants to time: the constructor, the start-up forward pass, each map job and its engine
call, every message sent to the views (with its size), the output's mime bundle and its static
fallback, and the views' selection changes and requests; IPython's ``pre_run_cell`` and
``post_run_cell`` mark each cell. Every mark is ``{"name", "t", ...}`` with ``t`` in epoch
milliseconds (``time.time()``), the clock the browser's ``performance.timeOrigin +
performance.now()`` also reads, so kernel and page times line up. Nothing here changes what the
wrapped calls do.
"""

from __future__ import annotations

import cProfile
import functools
import io
import json
import pstats
import re
import threading
import time
from collections.abc import Callable
from typing import Any

MARKS: list[dict[str, Any]] = []
PROFILES: dict[str, str] = {}
"""cProfile's top functions (by cumulative time) of the first call of each name given to
:func:`profile`."""
_profiled: set[str] = set()
_installed = False


def now() -> float:
    """Epoch milliseconds."""
    return 1000.0 * time.time()


def mark(name: str, t: float | None = None, **fields: Any) -> None:
    """Records one mark (thread-safe: ``list.append`` is atomic)."""
    MARKS.append(
        {"name": name, "t": now() if t is None else t, "thread": threading.current_thread().name}
        | fields
    )


def _timed(name: str, fields: Callable[..., dict[str, Any]] | None = None) -> Callable:
    """Wraps a function so that each call records ``name`` with its start and end."""

    def decorate(function: Callable) -> Callable:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            profiler = None
            if name in _profiled and name not in PROFILES:
                PROFILES[name] = ""  # only the first call (on whichever thread makes it)
                profiler = cProfile.Profile()
                profiler.enable()
            start = now()
            try:
                return function(*args, **kwargs)
            finally:
                end = now()
                if profiler is not None:
                    profiler.disable()
                    PROFILES[name] = _top(profiler)
                extra = fields(*args, **kwargs) if fields is not None else {}
                mark(name, t=start, end=end, **extra)

        return wrapper

    return decorate


def _top(profiler: cProfile.Profile, lines: int = 30) -> str:
    """The profile's top functions by cumulative time, with paths shortened."""
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(lines)
    return re.sub(r"/\S*/(site-packages|saliency_widgets)/", r"\1/", text.getvalue().strip())


def profile(*names: str) -> None:
    """Profiles (cProfile) the next call of each of ``names`` (mark names, e.g.
    ``"constructor"``, ``"explain"``): their times then include the profiler's overhead."""
    _profiled.update(names)


def _message_fields(widget: Any, content: Any = None, buffers: Any = None, **_: Any) -> dict:
    content = content or {}
    sizes = [memoryview(b).nbytes for b in buffers or []]
    return {
        "widget": widget.model_id,
        "kind": content.get("kind"),
        "image": content.get("image", content.get("index")),
        "method": content.get("method"),
        "classes": len(content.get("classes", [])) or None,
        "shape": content.get("shape"),
        "thumb": content.get("thumb"),
        "json_bytes": len(json.dumps(content)),
        "buffer_bytes": sizes,
    }


def _job_fields(jobs: Any, job: Any) -> dict:
    return {"image": job.image, "method": job.method, "background": job.background}


def _explain_fields(model: Any, x: Any, classes: Any, method: str, *held: Any) -> dict:
    return {"classes": len(classes), "method": method, "input_shape": list(x.shape)}


def _selection_fields(widget: Any, change: Any) -> dict:
    return {"widget": widget.model_id, "selection": dict(change.get("new") or {})}


def _receive_fields(link: Any, content: Any) -> dict:
    return {"kind": content.get("kind"), "image": content.get("image")}


def install() -> None:
    """Wraps the widget's kernel side (idempotent; call before creating widgets)."""
    global _installed
    if _installed:
        return
    _installed = True
    from IPython import get_ipython

    from saliency_widgets.widget import _compute, _jobs, _link, _widget

    widget = _widget.SaliencyWidget
    widget.__init__ = _timed("constructor")(widget.__init__)
    widget.send = _timed("send", _message_fields)(widget.send)
    widget._repr_mimebundle_ = _timed("mimebundle")(widget._repr_mimebundle_)
    widget._on_selection = _timed("selection", _selection_fields)(widget._on_selection)
    _widget.snapshot_html = _timed("snapshot_html")(_widget.snapshot_html)
    _jobs.MapJobs.startup = _timed("startup")(_jobs.MapJobs.startup)
    _jobs.MapJobs.run = _timed("job", _job_fields)(_jobs.MapJobs.run)
    _compute.predict_pictures = _timed("predict_pictures")(_compute.predict_pictures)
    _compute.explain_classes = _timed("explain", _explain_fields)(_compute.explain_classes)
    _link.ViewLink.receive = _timed("receive", _receive_fields)(_link.ViewLink.receive)
    shell = get_ipython()
    if shell is not None:
        shell.events.register("pre_run_cell", lambda info: mark("cell_start"))
        shell.events.register("post_run_cell", lambda result: mark("cell_end"))


def marks_since(t: float) -> str:
    """The marks recorded from epoch millisecond ``t`` on, as JSON."""
    return json.dumps([m for m in list(MARKS) if m["t"] >= t or m.get("end", 0) >= t])


__all__ = ["MARKS", "PROFILES", "install", "mark", "marks_since", "now", "profile"]
