"""From raw timestamps to figures: percentiles, the cold-start timeline, the uncached breakdown.

Page marks and kernel marks are epoch milliseconds on the same clock (see
:mod:`latency.kernel_marks`); kernel marks carry ``t`` (start) and, for timed calls, ``end``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

Mark = dict[str, Any]


def stats(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """Median, 90th percentile (numpy's linear interpolation), mean, min, max and count."""
    found = np.array([v for v in values if v is not None], dtype=float)
    if found.size == 0:
        return {"n": 0, "p50": None, "p90": None, "mean": None, "min": None, "max": None}
    return {
        "n": int(found.size),
        "p50": float(np.percentile(found, 50)),
        "p90": float(np.percentile(found, 90)),
        "mean": float(found.mean()),
        "min": float(found.min()),
        "max": float(found.max()),
    }


def timing_stats(samples: Sequence[dict[str, Any]]) -> dict[str, dict]:
    """:func:`stats` of each of ``work``, ``frame`` and ``painted`` over timed changes."""
    return {key: stats(s[key] for s in samples) for key in ("work", "frame", "painted")}


def first(marks: Sequence[Mark], name: str, after: float = -np.inf, **fields: Any) -> Mark | None:
    """The earliest mark called ``name`` starting at or after ``after`` with these fields."""
    found = [
        m
        for m in marks
        if m["name"] == name
        and m["t"] >= after
        and all(m.get(key) == value for key, value in fields.items())
    ]
    return min(found, key=lambda m: m["t"]) if found else None


def _inside(marks: Sequence[Mark], name: str, outer: Mark | None) -> Mark | None:
    """The first ``name`` mark that runs within ``outer`` on its thread."""
    if outer is None:
        return None
    for m in sorted(marks, key=lambda m: m["t"]):
        if (
            m["name"] == name
            and m["thread"] == outer["thread"]
            and outer["t"] <= m["t"]
            and m["end"] <= outer["end"]
        ):
            return m
    return None


def _span(mark: Mark | None) -> float | None:
    return None if mark is None else mark["end"] - mark["t"]


def _gap(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def cold_start(page: dict[str, float | None], marks: Sequence[Mark], widget: str) -> dict:
    """The timeline of a cell that creates and shows a widget, from the page's cell run.

    Args:
        page: The page's marks (``window.latency.startUp``).
        marks: The kernel's marks since the run.
        widget: The widget's ``model_id`` (other widgets' messages are left out).

    Returns:
        ``{"total_ms", "timeline": [[label, start, end], ...], "segments": {...}}``, times in
        milliseconds from the cell run.
    """
    run = page["run"]
    constructor = first(marks, "constructor", run)
    startup = first(marks, "startup", run)
    predict = first(marks, "predict_pictures", run)
    job = first(marks, "job", run, background=False)
    engine = _inside(marks, "explain", job)
    image_sent = first(marks, "send", run, widget=widget, kind="image", thumb=False)
    maps_sent = first(marks, "send", run, widget=widget, kind="maps")
    bundle = first(marks, "mimebundle", run)
    snapshot = first(marks, "snapshot_html", run)
    kernel = {
        "kernel: cell starts": first(marks, "cell_start", run),
        "kernel: constructor": constructor,
        "kernel: start-up pass (worker)": startup,
        "kernel:   predict every image (eager forward passes)": predict,
        "kernel: first map job (worker)": job,
        "kernel:   engine: explain, incl. tracing": engine,
        "kernel: picture sent": image_sent,
        "kernel: first maps sent": maps_sent,
        "kernel: output's mime bundle (waits for the maps)": bundle,
        "kernel:   static fallback (snapshot_html)": snapshot,
        "kernel: cell ends": first(marks, "cell_end", run),
    }
    timeline = [
        [label, m["t"] - run, m.get("end", m["t"]) - run]
        for label, m in kernel.items()
        if m is not None
    ]
    browser = {
        "page: widget model opened (comm_open)": page.get("commOpen"),
        "page: cell output received": page.get("output"),
        "page: view in the DOM (module loaded, view built)": page.get("root"),
        "page: picture asked": page.get("imageSent"),
        "page: picture received": page.get("imageReceived"),
        "page: predictions received": page.get("predictionsReceived"),
        "page: maps received before the view exists (dropped)": page.get("mapsBeforeView"),
        "page: maps asked": page.get("wantSent"),
        "page: last thumbnail received": page.get("lastThumbnailReceived"),
        "page: maps received": page.get("mapsReceived"),
        "page: first map drawn": page.get("shown"),
        "page: next frame": page.get("frame"),
    }
    timeline += [[label, t - run, t - run] for label, t in browser.items() if t is not None]
    timeline.sort(key=lambda row: row[1])
    output = page.get("output")
    segments = {
        "cell run -> kernel starts the cell": _gap(run, kernel["kernel: cell starts"]["t"])
        if kernel["kernel: cell starts"]
        else None,
        "constructor": _span(constructor),
        "start-up predict pass (eager)": _span(predict),
        "first maps: engine, incl. tracing": _span(engine),
        "first maps: whole job (engine + quantise + send)": _span(job),
        "mime bundle (waits for the first maps, then the static fallback)": _span(bundle),
        "static fallback (snapshot_html)": _span(snapshot),
        "output received -> view in the DOM": _gap(output, page.get("root")),
        "view in the DOM -> first map drawn": _gap(page.get("root"), page.get("shown")),
        "first map drawn -> next frame": _gap(page.get("shown"), page.get("frame")),
        "front end: output received -> first map on screen": _gap(output, page.get("frame")),
    }
    return {"total_ms": page["frame"] - run, "timeline": timeline, "segments": segments}


UNCACHED_SEGMENTS: tuple[tuple[str, Callable[[dict], float | None]], ...] = (
    ("click -> selection sent (page)", lambda s: _gap(s["click"], s["selectionSent"])),
    ("selection sent -> kernel handles it", lambda s: _gap(s["selectionSent"], s["selection"])),
    ("kernel handles it -> worker starts the job", lambda s: _gap(s["selection"], s["jobStart"])),
    ("job starts -> engine starts", lambda s: _gap(s["jobStart"], s["engineStart"])),
    ("engine (explain)", lambda s: _gap(s["engineStart"], s["engineEnd"])),
    ("engine ends -> maps message sent", lambda s: _gap(s["engineEnd"], s["sendStart"])),
    ("sending the maps message", lambda s: _gap(s["sendStart"], s["sendEnd"])),
    ("sent -> received in the page", lambda s: _gap(s["sendEnd"], s["mapsReceived"])),
    ("received -> drawn", lambda s: _gap(s["mapsReceived"], s["shown"])),
    ("drawn -> next frame", lambda s: _gap(s["shown"], s["frame"])),
)
"""The uncached click's path, in order: each segment's duration from a trial's marks."""


def uncached(page: dict[str, float | None], marks: Sequence[Mark], widget: str, image: int) -> dict:
    """One uncached click's marks (page and kernel) and its total, engine and other time."""
    click = page["click"]
    selection = first(marks, "selection", click, widget=widget)
    job = first(marks, "job", click, image=image, background=False)
    engine = _inside(marks, "explain", job)
    send = first(marks, "send", click, widget=widget, kind="maps", image=image)
    prefetch = first(marks, "job", click, background=True)
    trial = {
        **page,
        "selection": None if selection is None else selection["t"],
        "jobStart": None if job is None else job["t"],
        "engineStart": None if engine is None else engine["t"],
        "engineEnd": None if engine is None else engine["end"],
        "sendStart": None if send is None else send["t"],
        "sendEnd": None if send is None else send["end"],
    }
    total = page["frame"] - click
    engine_ms = _span(engine)
    trial["prefetchAfterSend"] = _gap(trial["sendEnd"], None if prefetch is None else prefetch["t"])
    trial["total"] = total
    trial["engine"] = engine_ms
    trial["rest"] = None if engine_ms is None else total - engine_ms
    trial["segments"] = {label: part(trial) for label, part in UNCACHED_SEGMENTS}
    return trial


def uncached_summary(trials: Sequence[dict]) -> dict:
    """Percentiles of the total, engine and rest times and of each segment."""
    return {
        "total": stats(t["total"] for t in trials),
        "engine": stats(t["engine"] for t in trials),
        "rest": stats(t["rest"] for t in trials),
        "prefetch_after_send": stats(t["prefetchAfterSend"] for t in trials),
        "segments": {
            label: stats(t["segments"][label] for t in trials) for label, _ in UNCACHED_SEGMENTS
        },
    }


def map_bytes(marks: Sequence[Mark], widget: str) -> dict:
    """Bytes per map of the maps messages the kernel sent to ``widget``'s views."""
    sent = [m for m in marks if m["name"] == "send" and m["widget"] == widget]
    maps = [m for m in sent if m["kind"] == "maps"]
    pictures = [m for m in sent if m["kind"] == "image" and not m["thumb"]]
    thumbs = [m for m in sent if m["kind"] == "image" and m["thumb"]]
    per_map = [(sum(m["buffer_bytes"]) + m["json_bytes"]) / m["classes"] for m in maps]
    return {
        "messages": len(maps),
        "shape": maps[0]["shape"] if maps else None,
        "maps_per_message": stats(m["classes"] for m in maps),
        "buffer_bytes_per_map": stats(sum(m["buffer_bytes"]) / m["classes"] for m in maps),
        "message_bytes_per_map": stats(per_map),
        "picture_bytes": stats(sum(m["buffer_bytes"]) for m in pictures),
        "thumbnail_bytes": stats(sum(m["buffer_bytes"]) for m in thumbs),
    }


__all__ = [
    "UNCACHED_SEGMENTS",
    "cold_start",
    "first",
    "map_bytes",
    "stats",
    "timing_stats",
    "uncached",
    "uncached_summary",
]
