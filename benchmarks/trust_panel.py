"""The trust panel's cost: in the live widget after each map, and in the explorer's precompute.

Issue 20's goals, measured on the bundled model at 64², on this machine's CPUs:

- **live panel**: from the moment a map is computed to the moment its figures are sent
  (the worker's scorecard of the signed map, with the image's mask, and the ``scores`` message),
  over selections of different images, warm: goal ≤ 300 ms. Also the browser's side: the time
  the view takes to draw a panel (text and curves) in chromium.
- **forward passes per map**: images the scorecard puts through the model, and model calls
  (:func:`scorecard_speed.images_scored`).
- **explorer**: the default precompute (16 images × top-5 × 4 methods) with and without the
  figures (:func:`saliency_widgets.explorer.explain_top_k`'s ``metrics``): the figures' added
  time over the maps' own (goal ≤ 1×), and the page's size with and without them (the default
  explorer's budget: 600 KB).

The scorecard alone (not through the widget) is ``benchmarks/scorecard_speed.py``'s; this
benchmark reuses its timer and its counting model. Writes ``benchmarks/results/trust-panel.json``
and ``.md``, with the load average (the machine is shared: read the times with it).

Usage::

    python benchmarks/trust_panel.py [--selections 12] [--skip-explorer] [--skip-browser]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import tensorflow as tf
from scorecard_speed import images_scored, median_time

from saliency_widgets import explorer, zoo
from saliency_widgets.explorer import _figures
from saliency_widgets.widget import SaliencyWidget, _compute

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_S = 0.3
GOAL_RATIO = 1.0
BUDGET_BYTES = 600 * 1024


def live(selections: int) -> dict:
    """Map computed → figures sent, in a SaliencyWidget of 16 bundled images (warm)."""
    samples = zoo.load_samples(16)
    widget = SaliencyWidget(
        zoo.load_shapes_model(),
        samples.images,
        samples.labels,
        preprocess=zoo.preprocess,
        class_names=zoo.class_names(),
        masks=samples.masks,
        prefetch=False,
    )
    stamps: list[tuple[float, str, int]] = []
    widget.send = lambda content, buffers=None: stamps.append(  # type: ignore[method-assign]
        (time.perf_counter(), content["kind"], content.get("image", -1))
    )
    widget.wait(300)
    scoring: list[float] = []
    original = _compute.score_map

    def timed(*args: object) -> object:
        start = time.perf_counter()
        try:
            return original(*args)  # type: ignore[arg-type]
        finally:
            scoring.append(time.perf_counter() - start)

    _compute.score_map = timed  # type: ignore[assignment]
    try:
        for image in [1, 2, 3, *range(4, 4 + selections)]:
            widget.select(image=image % 16)
            widget.wait(300)
    finally:
        _compute.score_map = original  # type: ignore[assignment]
        widget.close()
    delays = []
    for when, kind, image in stamps:
        if kind != "scores":
            continue
        computed = [t for t, k, i in stamps if k == "maps" and i == image and t <= when]
        if computed:
            delays.append(when - computed[-1])
    warm = delays[3:]  # the first selections compile the scorer
    return {
        "selections": len(warm),
        "map_to_figures_s": statistics.median(warm),
        "map_to_figures_max_s": max(warm),
        "scorecard_s": statistics.median(scoring[3:]),
        "first_map_to_figures_s": delays[0],
        "goal_s": GOAL_S,
    }


def passes() -> dict:
    """Images through the model, and model calls, for one map's figures."""
    samples = zoo.load_samples(1)
    model = zoo.load_shapes_model()
    x = zoo.preprocess(samples.images)
    saliency = _compute.explain_classes(model, x[0], (int(samples.labels[0]),), "gradients")
    count = images_scored(model, x, saliency, samples.labels, masks=samples.masks)
    return {"images_per_map": count, "model_calls_per_map": -(-count // 32), "batch_size": 32}


def explorer_costs() -> dict:
    """The default precompute with and without the figures, and the pages' sizes."""
    samples = zoo.load_samples(16)
    model = zoo.load_shapes_model()
    x = zoo.preprocess(samples.images)
    names = zoo.class_names()
    start = time.perf_counter()
    data = explorer.explain_top_k(
        model, samples.images, x, top_k=5, class_names=names, labels=samples.labels
    )
    maps_s = time.perf_counter() - start
    scores = None

    def figures() -> None:
        nonlocal scores
        scores = _figures.score_methods(model, x, data.methods, data.indices, samples.masks)

    first_s, metrics_s, metrics_cpu_s = median_time(figures, 2)
    plain = explorer.fragment(data)
    scored = explorer.fragment(dataclasses.replace(data, scores=scores))
    outlined = explorer.fragment(
        dataclasses.replace(data, scores=scores, masks=tuple(samples.masks))
    )
    size = {
        "without_figures": len(plain.encode()),
        "with_figures": len(scored.encode()),
        "with_figures_and_masks": len(outlined.encode()),
        "budget": BUDGET_BYTES,
    }
    return {
        "maps": int(data.indices.size * len(data.methods)),
        "methods": list(explorer.DEFAULT_METHODS),
        "maps_s": maps_s,
        "metrics_s": metrics_s,
        "metrics_first_s": first_s,
        "metrics_cpu_s": metrics_cpu_s,
        "ratio": metrics_s / maps_s,
        "goal_ratio": GOAL_RATIO,
        "bytes": size,
        "page": scored,
    }


def browser(page_html: str) -> dict:
    """How long the view takes to draw one panel in chromium (median of 50 draws)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from explorer_pages import browser_page, roots

    path = RESULTS / "trust-panel-page.html"
    path.write_text(explorer.page(page_html, "Trust panel"), encoding="utf-8")
    try:
        with browser_page() as (page, _):
            page.goto(path.as_uri())
            root = roots(page)[0]
            times = root.evaluate(
                """node => {
                    const view = node.explorer;
                    const times = [];
                    for (let i = 0; i < 50; i++) {
                        const start = performance.now();
                        view.showTrust();
                        times.push(performance.now() - start);
                    }
                    return times;
                }"""
            )
    finally:
        path.unlink()
    return {"panel_draw_ms": statistics.median(times), "panel_draw_max_ms": max(times)}


def report(result: dict) -> str:
    """The results as Markdown."""
    machine = result["machine"]
    lines = [
        "# Trust panel: cost in the live widget and in the explorer",
        "",
        f"Bundled model, 64², {machine['cpus']} CPUs, TensorFlow {machine['tensorflow']}; load "
        f"average {machine['load_average_before'][0]:.1f} before, "
        f"{machine['load_average_after'][0]:.1f} after (a shared machine: read times with it). "
        "Written by `benchmarks/trust_panel.py`.",
        "",
        "| figure | measured | goal |",
        "|---|---|---|",
    ]
    if "live" in result:
        live_ = result["live"]
        lines += [
            f"| live widget: map computed → figures sent (median of {live_['selections']} "
            f"selections, warm) | {1000 * live_['map_to_figures_s']:.0f} ms (max "
            f"{1000 * live_['map_to_figures_max_s']:.0f} ms; scorecard alone "
            f"{1000 * live_['scorecard_s']:.0f} ms; first, compiling: "
            f"{1000 * live_['first_map_to_figures_s']:.0f} ms) | ≤ 300 ms |",
        ]
    passes_ = result["passes"]
    lines.append(
        f"| forward passes per map | {passes_['images_per_map']} images in "
        f"{passes_['model_calls_per_map']} model calls of {passes_['batch_size']} | |"
    )
    if "browser" in result:
        lines.append(
            f"| browser: one panel drawn (text and curves, median of 50) | "
            f"{result['browser']['panel_draw_ms']:.2f} ms | |"
        )
    if "explorer" in result:
        e = result["explorer"]
        b = e["bytes"]
        lines += [
            f"| explorer precompute ({e['maps']} maps): figures over maps | "
            f"{e['metrics_s']:.1f} s / {e['maps_s']:.1f} s = {e['ratio']:.2f}× | ≤ 1× |",
            f"| default explorer page without figures | {b['without_figures'] / 1024:.1f} KB | "
            "≤ 600 KB |",
            f"| with figures | {b['with_figures'] / 1024:.1f} KB | |",
            f"| with figures and mask outlines | {b['with_figures_and_masks'] / 1024:.1f} KB | |",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--selections", type=int, default=12)
    parser.add_argument("--skip-explorer", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args(argv)
    result: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "tensorflow": tf.__version__,
            "load_average_before": os.getloadavg(),
        }
    }
    result["live"] = live(args.selections)
    result["passes"] = passes()
    if not args.skip_explorer:
        costs = explorer_costs()
        page = costs.pop("page")
        result["explorer"] = costs
        if not args.skip_browser:
            result["browser"] = browser(page)
    result["machine"]["load_average_after"] = os.getloadavg()
    text = report(result)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "trust-panel.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "trust-panel.md").write_text(text)
    return result


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(0 if main() else 1)
