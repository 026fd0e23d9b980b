"""The report of ``benchmarks/widget_latency.py``: one markdown text, printed and saved."""

from __future__ import annotations

from typing import Any

from latency.analysis import stats

BEFORE = {
    "cold": "1.5 s",
    "class": "57 ms (p90 68)",
    "uncached": "85 ms",
    "cosmetic": "each one through the kernel",
}
"""Issue 18's figures, measured with the ipywidgets front-end (JupyterLab 4.6, 32 bundled
images): class click -> map on screen, cached and uncached; cell run -> first map."""
GOALS = {"cosmetic": 16.0, "switch": 30.0, "rest": 20.0, "cold": 1000.0, "bytes": 60_000}
"""Issue 18's goals: p90 of a cosmetic change and of a switch, uncached time beyond the
engine's, cold start (ms), and bytes per 224² map."""
COSMETIC = ("sign", "cmap", "blend", "alpha", "clip")
"""The controls the cosmetic goal names (the outline is reported beside them)."""


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _row(label: str, found: dict, goal: str = "", before: str = "") -> str:
    return (
        f"| {label} | {_ms(found['p50'])} | {_ms(found['p90'])} | {found['n']} | {goal} "
        f"| {before} |"
    )


def _pooled(samples: dict[str, list[dict]], controls: tuple[str, ...], key: str) -> dict:
    return stats(s[key] for c in controls for s in samples.get(c, []))


def _single(value: float | None) -> dict:
    return {"p50": value, "p90": None, "n": 1 if value is not None else 0}


def summary(results: dict[str, Any]) -> list[str]:
    """The headline table: today's figures beside issue 18's and the goals."""
    lines = [
        "| measure | p50 | p90 | n | goal | before (issue 18) |",
        "|---|---|---|---|---|---|",
    ]
    cases = results["cases"]
    bundled = cases.get("bundled")
    large = cases.get("large")
    if bundled:
        cold = bundled["cold_start"]["total_ms"]
        lines.append(
            _row(
                "cold start: cell run → first map on screen (bundled)",
                _single(cold),
                f"≤ {GOALS['cold']:,.0f} ms",
                BEFORE["cold"],
            )
        )
        lines.append(
            _row(
                "warm start (second widget, same kernel)",
                _single(bundled["warm_start"]["total_ms"]),
            )
        )
    for name, case in (("bundled 64²", bundled), ("224²", large)):
        if not case:
            continue
        for mode in ("single", "classes"):
            samples = case["cosmetic"][mode]["samples"]
            panels = "1 panel" if mode == "single" else "5 panels"
            lines.append(
                _row(
                    f"cosmetic change → pixels, {name}, {panels} (5 controls pooled)",
                    _pooled(samples, COSMETIC, "frame"),
                    f"p90 ≤ {GOALS['cosmetic']:.0f} ms",
                    BEFORE["cosmetic"],
                )
            )
    switch_goal = f"p90 ≤ {GOALS['switch']:.0f} ms"
    for name, case in (("bundled 64²", bundled), ("224²", large)):
        if not case:
            continue
        switch = case["switches"]["stats"]
        before = BEFORE["class"] + " (cached in the kernel)" if case is bundled else ""
        for kind, goal, old in (
            ("class", switch_goal, before),
            ("method", switch_goal, ""),
            ("image", "", ""),
        ):
            label = f"{kind} switch, map{'s' if kind == 'image' else ''} held → pixels, {name}"
            lines.append(_row(label, switch[kind]["frame"], goal, old))
    for name, case in (("bundled 64²", bundled), ("224²", large)):
        if not case:
            continue
        for key, mode in (("uncached", "prefetch on"), ("uncached_no_prefetch", "prefetch off")):
            if key not in case:
                continue
            found = case[key]["stats"]
            old = BEFORE["uncached"] if case is bundled and key == "uncached" else ""
            lines += [
                _row(
                    f"uncached click → pixels, {name}, {mode}: total",
                    found["total"],
                    "engine + ≤ 20 ms",
                    old,
                ),
                _row("  of which engine (explain, 6 classes)", found["engine"]),
                _row(
                    "  the rest (click → pixels − engine)",
                    found["rest"],
                    f"≤ {GOALS['rest']:.0f} ms",
                ),
            ]
    if large:
        kernel = large["bytes"]["kernel"]["message_bytes_per_map"]
        wire = large["bytes"]["wire_bytes_per_map"]
        lines.append(
            f"| bytes per 224² map, kernel → page (message / WebSocket frame) | "
            f"{_bytes(kernel['p50'])} / {_bytes(wire['p50'])} | | {kernel['n']} | "
            f"≤ {GOALS['bytes'] / 1000:.0f} KB | PNG data URLs |"
        )
    return lines


def _bytes(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:,.1f} KB"


def _timing_table(title: str, stats_by_row: dict[str, dict]) -> list[str]:
    lines = [
        "",
        f"**{title}** (ms; work = dispatch → view ready, frame = + one rAF, painted = + the "
        "frame's rendering)",
        "",
        "| change | n | work p50 | work p90 | frame p50 | frame p90 | painted p50 | painted p90 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, found in stats_by_row.items():
        w, f, p = found["work"], found["frame"], found["painted"]
        lines.append(
            f"| {label} | {w['n']} | {_ms(w['p50'])} | {_ms(w['p90'])} | {_ms(f['p50'])} "
            f"| {_ms(f['p90'])} | {_ms(p['p50'])} | {_ms(p['p90'])} |"
        )
    return lines


def _split_first(samples: list[dict]) -> dict[str, dict]:
    keys = ("work", "frame", "painted")
    first = [s for s in samples if s.get("first")]
    seen = [s for s in samples if not s.get("first")]
    return {
        "first draw on this map": {k: stats(s[k] for s in first) for k in keys},
        "drawn before": {k: stats(s[k] for s in seen) for k in keys},
    }


def _uncached_table(found: dict, mode: str) -> list[str]:
    lines = [
        "",
        f"**Uncached click, {mode}: where the time goes** (a thumbnail whose maps neither the "
        "page nor the kernel holds; p50 and p90 of each segment, ms)",
        "",
        "| segment | p50 | p90 |",
        "|---|---|---|",
    ]
    for label, part in found["segments"].items():
        lines.append(f"| {label} | {_ms(part['p50'])} | {_ms(part['p90'])} |")
    lines.append(
        f"| **click → pixels** (engine {_ms(found['engine']['p50'])}, rest "
        f"{_ms(found['rest']['p50'])}) | {_ms(found['total']['p50'])} "
        f"| {_ms(found['total']['p90'])} |"
    )
    after = found.get("prefetch_after_send", {})
    if after.get("n"):
        lines.append(
            f"| (the next prefetch job starts after the maps are sent by) | {_ms(after['p50'])} "
            f"| {_ms(after['p90'])} |"
        )
    return lines


def details(results: dict[str, Any]) -> list[str]:
    """Per-control, per-switch, uncached and cold-start tables."""
    lines: list[str] = []
    for case in results["cases"].values():
        lines += ["", f"## {case['label']}"]
        for mode, found in case["cosmetic"].items():
            rows = dict(found["stats"])
            for label, split in _split_first(found["samples"].get("sign", [])).items():
                rows[f"sign, {label}"] = split
            lines += _timing_table(f"Cosmetic changes, compare mode {mode}", rows)
        switches = dict(case["switches"]["stats"])
        for label, split in _split_first(case["switches"]["samples"]["class"]).items():
            switches[f"class, {label}"] = split
        lines += _timing_table("Switches to maps the page holds", switches)
        for key, mode in (("uncached", "prefetch on"), ("uncached_no_prefetch", "prefetch off")):
            if key in case:
                lines += _uncached_table(case[key]["stats"], mode)
        steps = case.get("draw_steps")
        if steps:
            lines += [
                "",
                f"**One redraw of a {steps['shape'][0]}² map, step by step** (medians, ms; the "
                "module's own functions timed apart, then a whole `update()`)",
                "",
                "| step | ms |",
                "|---|---|",
                *[f"| {k} | {v:.2f} |" for k, v in steps["steps"].items()],
            ]
        for title, start in (
            ("Cold start", case["cold_start"]),
            ("Warm start", case.get("warm_start")),
        ):
            if start is None:
                continue
            lines += [
                "",
                f"**{title}: where the time goes** (ms from the cell run; "
                f"first map on screen at {_ms(start['total_ms'])})",
                "",
                "| event | from | to | takes |",
                "|---|---|---|---|",
            ]
            for label, begin, end in start["timeline"]:
                took = _ms(end - begin) if end > begin else ""
                lines.append(f"| {label} | {begin:,.0f} | {end:,.0f} | {took} |")
            lines += ["", "| segment | ms |", "|---|---|"]
            lines += [f"| {k} | {_ms(v)} |" for k, v in start["segments"].items()]
        counts = case["bytes"]["kernel"]
        lines += [
            "",
            f"**Bytes kernel → page** ({counts['messages']} maps messages, maps of "
            f"{counts['shape']}): {_bytes(counts['buffer_bytes_per_map']['p50'])} of int8 "
            f"levels per map, {_bytes(counts['message_bytes_per_map']['p50'])} with the JSON, "
            f"{_bytes(case['bytes']['wire_bytes_per_map']['p50'])} per map in the WebSocket "
            f"frames; a picture {_bytes(counts['picture_bytes']['p50'])}, a thumbnail "
            f"{_bytes(counts['thumbnail_bytes']['p50'])}.",
        ]
    profiles = {k: v for k, v in results.get("kernel_profiles", {}).items() if v}
    for name, text in profiles.items():
        lines += ["", f"## Kernel profile: {name} (first call, cProfile)", "", "```", text, "```"]
    front = results.get("front_end")
    if front:
        lines += [
            "",
            "## Front end alone",
            "",
            f"explorer.js imported from a blob URL (as anywidget loads `_esm`): "
            f"{_ms(front['importMs'])}; an `ExplorerView` built on the bundled widget's held "
            f"source: {_ms(front['constructMs'])}, its first draw {_ms(front['drawMs'])}, "
            f"to the next frame {_ms(front['frameMs'])}.",
        ]
    return lines


def _idle(results: dict[str, Any]) -> str:
    idle = results.get("idle_frames")
    if not idle:
        return ""
    return (
        f"With no change at all, the next frame comes {_ms(idle['frame']['p50'])} after a random "
        f"moment (p90 {_ms(idle['frame']['p90'])}) and its rendering ends after "
        f"{_ms(idle['painted']['p50'])} (p90 {_ms(idle['painted']['p90'])}): the floor of the "
        "`frame` and `painted` columns."
    )


def markdown(results: dict[str, Any]) -> str:
    """The whole report."""
    machine = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in results.get("versions", {}).items())
    load = results["load_average"]
    options = " ".join(
        f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} {v}"
        for k, v in results["options"].items()
        if k != "out" and v is not False
    )
    lines = [
        "# SaliencyWidget latency",
        "",
        f"`python benchmarks/widget_latency.py` ({options}) — {machine['date']}, commit "
        f"{machine['commit']}{' (dirty)' if machine['dirty'] else ''}, took "
        f"{results['took_s']:.0f} s.",
        "",
        f"Machine: {machine['cpu']}, {machine['cpus']} CPUs, {machine['memory_gib']} GiB. "
        f"**Load average** (1, 5, 15 min) at the start {load['start']}, at the end "
        f"{load['end']}: figures from a loaded machine are slower than a user's. {versions}. "
        f"Page clock − kernel clock: {results.get('clock_offset_ms', 0):.1f} ms.",
        "",
        "JupyterLab in headless chromium; every change is made through the widget's own "
        "controls (input events) and timed in the page until the view's `ready` resolves plus "
        "one `requestAnimationFrame` (the goals' figure; a frame is 16.7 ms, so up to one "
        "frame of waiting is included). Kernel times come from wrapped calls in the kernel, on "
        "the same clock.",
        "",
        _idle(results),
        "",
        "## Summary",
        "",
        *summary(results),
        *details(results),
    ]
    errors = results.get("javascript_errors")
    if errors:
        lines += ["", f"JavaScript errors in the page: {errors}"]
    return "\n".join(lines) + "\n"


__all__ = ["BEFORE", "GOALS", "markdown", "summary"]
