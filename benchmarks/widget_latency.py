"""SaliencyWidget latency as a user sees it: JupyterLab in chromium, pixels on the canvas.

Starts JupyterLab on 127.0.0.1 (its own Jupyter folders in a temporary directory), opens a
notebook in Debian's chromium and measures, in the page (``performance.now()``) and in the
kernel (timestamps of wrapped calls, :mod:`latency.kernel_marks`), on the same clock:

- **cold start**: cell run -> first map on screen for a new widget on the bundled model (the
  engine traces), with a timeline of where the time goes (constructor, start-up predict pass,
  first maps, the output's mime bundle, module load and first draw); a second widget in the same
  kernel gives the **warm start**;
- **cosmetic changes** (sign, colour map, blend, opacity, clip, and the outline) -> pixels,
  in the single view and in the "classes" compare mode (five panels), on the bundled model's
  64² maps and on 224² maps (an untrained MobileNetV2 or ResNet50V2 on ``skimage.data``
  pictures);
- **class, method and image switches** to maps the page already holds;
- **uncached clicks**: a thumbnail whose maps neither the page nor the kernel holds; engine time
  (the kernel's ``explain``) and the rest, segment by segment;
- **bytes** kernel -> page per map (the kernel's messages and the WebSocket frames chromium
  receives).

A change is timed from dispatching its input event to the view's ``ready`` (``work``), then one
requestAnimationFrame (``frame``: the figure the goals use), then the frame's rendering
(``painted``). Figures are printed beside the ones measured before the anywidget front-end
(issue 18), and written to ``benchmarks/results/widget-latency.md`` and ``.json``; nothing is
asserted. The load average is recorded at the start and the end: on a busy machine, re-run.

Run: ``.venv/bin/python benchmarks/widget_latency.py [--trials 20] [--quick]`` (a few minutes;
``--quick``: under two).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"


def _add_browser_test_helpers() -> None:
    """The browser tests' helpers import each other as top-level modules: ``jupyter_harness``
    (tests/widget/browser) imports ``chromium`` (tests/, pytest's ``pythonpath``)."""
    for folder in (REPO / "tests", REPO / "tests" / "widget" / "browser"):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))


_add_browser_test_helpers()
sys.path.insert(0, str(BENCHMARKS))

import jupyter_harness  # noqa: E402
from latency import analysis, report  # noqa: E402
from latency.lab import Session, WireFrames, clock_offset  # noqa: E402

NOTEBOOK = "widget_latency.ipynb"
PAGE_JS = (BENCHMARKS / "latency" / "page.js").read_text()
PICTURES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "retina",
    "colorwheel",
)
"""Colour pictures of ``skimage.data`` (shipped with scikit-image) for the 224² case."""
ARCHITECTURES = {
    "mobilenetv2": ("MobileNetV2", "mobilenet_v2"),
    "resnet50v2": ("ResNet50V2", "resnet_v2"),
}
SETUP_CELL = """import json, sys
sys.path.insert(0, {benchmarks!r})
from latency import kernel_marks
kernel_marks.install()
from saliency_widgets import zoo
from saliency_widgets.widget import SaliencyWidget

model = zoo.load_shapes_model()
samples = zoo.load_samples(32)
options = dict(preprocess=zoo.preprocess, class_names=zoo.class_names(), masks=samples.masks)"""
WIDGET_CELL = "{name} = SaliencyWidget(model, samples.images, samples.labels, **options)\n{name}"
LARGE_SETUP_CELL = """import keras
import numpy as np
import skimage.data
from PIL import Image

def _square(name, side=224):
    picture = getattr(skimage.data, name)()[..., :3]
    h, w = picture.shape[:2]
    s = min(h, w)
    crop = picture[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return np.asarray(Image.fromarray(crop).resize((side, side), Image.BILINEAR))

large_images = np.stack([_square(name) for name in {pictures!r}])
large_model = keras.applications.{architecture}(weights=None)
large_preprocess = keras.applications.{module}.preprocess_input"""
LARGE_CELL = "large = SaliencyWidget(large_model, large_images, preprocess=large_preprocess)\nlarge"
PROFILED = ("constructor", "predict_pictures", "explain", "mimebundle")
"""Kernel calls ``--profile`` runs under cProfile (their first call: the cold start's)."""


def write_notebook(root: Path, args: argparse.Namespace) -> None:
    import nbformat

    architecture, module = ARCHITECTURES[args.model]
    sources = [
        SETUP_CELL.format(benchmarks=str(BENCHMARKS)),
        WIDGET_CELL.format(name="widget"),
        WIDGET_CELL.format(name="warm"),
        LARGE_SETUP_CELL.format(
            pictures=PICTURES[: args.large_images], architecture=architecture, module=module
        ),
        LARGE_CELL,
    ]
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in sources],
        metadata={"kernelspec": kernelspec},
    )
    nbformat.write(notebook, root / NOTEBOOK)


def lab_settings(home: dict[str, Path]) -> None:
    """Every cell stays rendered (no windowing), so that a view off screen is drawn as a user
    scrolling to it would see it."""
    folder = home["config"] / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


def measure(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    from saliency_widgets import explorer

    results: dict = {"options": vars(args).copy(), "cases": {}}
    with tempfile.TemporaryDirectory(prefix="widget-latency-") as tmp:
        home = jupyter_harness.make_jupyter_home(Path(tmp))
        lab_settings(home)
        write_notebook(home["root"], args)
        lab = jupyter_harness.start_lab(home, Path(tmp) / "jupyterlab.log")
        try:
            with sync_playwright() as playwright:
                browser = jupyter_harness.launch_chromium(playwright)
                context, page = jupyter_harness.new_page(browser)
                console = jupyter_harness.Console(page)
                frames = WireFrames(page)
                jupyter_harness.open_in_lab(page, lab, NOTEBOOK)
                page.evaluate(PAGE_JS)
                page.evaluate("window.latency.watchKernel()")
                probe = jupyter_harness.KernelProbe(lab, NOTEBOOK)
                session = Session(page, probe, frames, args)
                results["clock_offset_ms"] = clock_offset(session)
                progress("setting up the kernel (imports, bundled model)")
                session.run_to_end(0)
                if args.profile:
                    session.kernel(f"kernel_marks.profile(*{PROFILED!r})")
                results["cases"]["bundled"] = bundled_case(session, args)
                if not args.skip_224:
                    results["cases"]["large"] = large_case(session, args)
                results["idle_frames"] = analysis.timing_stats(session.js("idleFrames", 40))
                results["front_end"] = session.js("frontEndCosts", 1, explorer.asset("explorer.js"))
                results["versions"] = session.kernel(
                    "import jupyterlab, ipywidgets, anywidget, tensorflow, keras",
                    "json.dumps({'JupyterLab': jupyterlab.__version__, "
                    "'ipywidgets': ipywidgets.__version__, 'anywidget': anywidget.__version__, "
                    "'TensorFlow': tensorflow.__version__, 'Keras': keras.__version__})",
                )
                results["versions"]["chromium"] = browser.version
                results["kernel_profiles"] = session.kernel("", "json.dumps(kernel_marks.PROFILES)")
                results["javascript_errors"] = console.errors
                probe.close()
                context.close()
                browser.close()
        finally:
            lab.stop()
    return results


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def interactions(
    session: Session, case: dict, cell: int, name: str, count: int, args: argparse.Namespace
) -> dict:
    from saliency_widgets import explorer

    """Cosmetic changes (single view, then five panels), switches, uncached clicks and bytes of
    the widget ``name`` shown by cell ``cell`` (``count`` images, masks when 64²)."""
    title = case["label"].split(",")[0]
    images = list(range(min(args.images, count)))
    masks = name == "widget"
    since = case["cold_start"]["page"]["run"]
    case["cosmetic"] = {}
    for compare in ("single", "classes"):
        progress(f"{title}: cosmetic changes, compare mode {compare}")
        case["cosmetic"][compare] = session.cosmetic(cell, images, compare, masks=masks)
    progress(f"{title}: class, method and image switches")
    case["switches"] = session.switches(cell, name, images)
    for prefetch in (True, False):
        progress(f"{title}: uncached clicks, prefetch {'on' if prefetch else 'off'}")
        found = session.uncached(cell, name, count, per_page=24, prefetch=prefetch)
        case["uncached" if prefetch else "uncached_no_prefetch"] = found
    progress(f"{title}: one redraw, step by step")
    session.js("showIn", cell, {"image": 0, "compare": "single", "sign": "absolute"})
    case["draw_steps"] = session.js("drawSteps", cell, explorer.asset("explorer.js"), 15)
    case["bytes"] = session.byte_counts(name, since)
    return case


def bundled_case(session: Session, args: argparse.Namespace) -> dict:
    case: dict = {"label": "bundled shapes CNN, 32 images of 64², top-5, gradients"}
    progress("bundled shapes CNN: cold start")
    case["cold_start"] = session.start(1, "widget")
    progress("bundled shapes CNN: warm start (a second widget, same kernel)")
    case["warm_start"] = session.start(2, "warm")
    session.kernel("warm.close()")
    return interactions(session, case, 1, "widget", 32, args)


def large_case(session: Session, args: argparse.Namespace) -> dict:
    architecture = ARCHITECTURES[args.model][0]
    count = args.large_images
    case: dict = {
        "label": f"untrained {architecture}, {count} skimage pictures of 224², top-5, gradients"
    }
    progress(f"{architecture}: building it (weights=None)")
    session.run_to_end(3)
    progress(f"{architecture}: cold start (reported; the engine traces a large model)")
    case["cold_start"] = session.start(4, "large")
    return interactions(session, case, 4, "large", count, args)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--trials", type=int, default=20, help="timed changes per control and per switch kind"
    )
    parser.add_argument(
        "--uncached", type=int, default=8, help="uncached clicks per model (each empties caches)"
    )
    parser.add_argument("--images", type=int, default=4, help="images the changes visit")
    parser.add_argument(
        "--large-images",
        type=int,
        default=len(PICTURES),
        choices=range(5, len(PICTURES) + 1),
        metavar=f"5..{len(PICTURES)}",
        help="224² pictures the large widget shows",
    )
    parser.add_argument(
        "--model", choices=sorted(ARCHITECTURES), default="mobilenetv2", help="224² model"
    )
    parser.add_argument("--skip-224", action="store_true", help="only the bundled model")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the cold start's constructor, predict pass, first engine call and mime "
        "bundle in the kernel (their times then include the profiler's overhead)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5 changes per control, 3 uncached clicks, 2 images (a smoke run, under 2 minutes)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results prefix (default benchmarks/results/widget-latency, "
        "widget-latency-quick with --quick); '-' writes nothing",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: write the report (to --out) of a saved run's .json",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.uncached, args.images = 5, 3, 2
    if args.trials < 1 or args.uncached < 1 or args.images < 1:
        parser.error("--trials, --uncached and --images must be at least 1")
    if args.out is None:
        name = "widget-latency-quick" if args.quick else "widget-latency"
        args.out = BENCHMARKS / "results" / name
    return args


def rounded(value: object) -> object:
    """``value`` with every float rounded to 0.01 (ms, KB: finer is noise)."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value


def save(results: dict, out: Path) -> None:
    """Prints the report and writes it (``out``.md) with the figures (``out``.json)."""
    text = report.markdown(results)
    print(text)
    if str(out) != "-":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(text)
        out.with_suffix(".json").write_text(json.dumps(rounded(results), indent=1) + "\n")
        print(f"written: {out.with_suffix('.md')} and .json")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        save(json.loads(args.render.read_text()), args.out)
        return 0
    from harness import machine

    started = time.perf_counter()
    load_start = [round(v, 2) for v in os.getloadavg()]
    progress(f"load average {load_start} on {os.cpu_count()} CPUs")
    results = measure(args)
    results["options"]["out"] = str(args.out)
    results["options"].pop("render", None)
    results["machine"] = machine.machine_info()
    results["load_average"] = {"start": load_start, "end": [round(v, 2) for v in os.getloadavg()]}
    results["took_s"] = round(time.perf_counter() - started, 1)
    save(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
