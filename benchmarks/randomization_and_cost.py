"""Every registered method's cascading randomisation curve and its cost against a forward pass.

What the docs' ``saliency-scores`` table (the Methods page, computed at every build) does not
measure: for each method of :data:`saliency_widgets.methods.METHODS` (with its registered
postprocessing and parameters) on held-out images the bundled model classifies correctly,
explaining the true class:

- ``randomization``: Spearman correlation with the trained model's maps once every layer is
  re-initialised, cascading from the top (Adebayo et al. 2018; below 0.5 passes, lower is
  better), with the whole per-layer curve and the share of constant maps in the JSON (the table's
  sanity check re-initialises the top half at once);
- ``time``: one batch of maps over one forward pass of the same batch (``tf.function``, XLA
  where :func:`saliency_widgets.auto_jit` would use it), warm medians of alternated runs.

Writes ``benchmarks/results/randomization.json`` (read by the docs) and
``benchmarks/results/randomization.png``, and prints a markdown table. The deletion, insertion,
pointing and energy figures this script used to write are the ``saliency-scores`` directive's
now (``saliency-widgets scores`` on the command line).

Usage::

    python benchmarks/randomization_and_cost.py [--images 32] [--randomization-images 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

import saliency_widgets as sw
from saliency_widgets import metrics, zoo

RESULTS = Path(__file__).resolve().parent / "results"


def correct_images(model: keras.Model, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` held-out images the model gets right: images, labels."""
    samples = zoo.load_samples(3 * n)
    x = zoo.preprocess(samples.images)
    keep = np.flatnonzero(np.asarray(model(x)).argmax(-1) == samples.labels)[:n]
    return x[keep], samples.labels[keep]


def paired_times(
    fn: Callable[[], object], forward: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median warm times of ``fn`` and of ``forward``, their runs alternated.

    The machine is shared: alternating keeps the ratio honest when the load drifts.
    """
    fn()  # trace / compile
    forward()
    runs: list[float] = []
    references: list[float] = []
    for _ in range(repeats):
        for target, out in ((forward, references), (fn, runs)):
            start = time.perf_counter()
            target()
            out.append(time.perf_counter() - start)
    return statistics.median(runs), statistics.median(references)


def explainer(name: str) -> Callable:
    spec = sw.methods.get_method(name)
    return sw.partial_explain(spec.function, postprocessing=spec.postprocessing, **spec.params)


def evaluate(name, model, x, labels, forward, repeats, randomization_images) -> dict:
    spec = sw.methods.get_method(name)
    explain = explainer(name)
    batch = len(x)
    seconds, forward_s = paired_times(
        lambda: explain(model, x, labels, batch_size=batch, verbose=False), forward, repeats
    )
    row = {"name": name, "label": spec.label, "params": spec.params}
    curve = metrics.randomization_check(
        explain,
        model,
        x[:randomization_images],
        labels[:randomization_images],
        batch_size=randomization_images,
        verbose=False,
    )
    row["randomization"] = float(curve.correlations[-1])
    row["randomization_curve"] = {
        "layers": list(curve.layers),
        "correlations": [float(c) for c in curve.correlations],
        "constant_maps": [float(c) for c in curve.constant],
    }
    row["seconds_per_batch"] = seconds
    row["forward_seconds"] = forward_s
    row["relative_to_forward"] = seconds / forward_s
    return row


def markdown(report: dict) -> str:
    lines = [
        f"Bundled shapes model, {report['images']} held-out images (batch {report['images']}), "
        f"{report['machine']}; randomisation on {report['randomization_images']} images.",
        "",
        "| method | randomization ↓ | time / forward |",
        "|---|---:|---:|",
    ]
    for r in report["methods"]:
        lines.append(
            f"| {r['label']} | {r['randomization']:.2f} | {r['relative_to_forward']:.1f}× |"
        )
    return "\n".join(lines)


def plot_randomization(report: dict, path: Path) -> None:
    """Draws every method's randomisation curve (the docs' picture) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 4.2))
    colours = plt.get_cmap("tab20").colors
    for index, r in enumerate(report["methods"]):
        curve = r["randomization_curve"]
        axis.plot(
            range(len(curve["layers"]) + 1),
            [1.0, *curve["correlations"]],
            marker="os^vD"[index % 5],
            linestyle="-" if index % 2 == 0 else "--",
            color=colours[(2 * index) % 20 + (index // 10)],
            label=r["label"],
        )
    layers = report["methods"][0]["randomization_curve"]["layers"]
    axis.set_xticks(range(len(layers) + 1), ["trained", *layers], rotation=45, ha="right")
    axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.set_ylabel("Spearman correlation with trained maps")
    axis.set_xlabel("cascading re-initialisation (top layer first)")
    axis.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--randomization-images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", nargs="*", default=list(sw.methods.METHODS))
    parser.add_argument("--out", type=Path, default=RESULTS / "randomization.json")
    args = parser.parse_args()

    model = zoo.load_shapes_model()
    x, labels = correct_images(model, args.images)
    logits_model = sw.inspection.explained_model(model).model
    compiled = tf.function(lambda t: logits_model(t, training=False), jit_compile=sw.auto_jit())
    images = tf.constant(x)

    def forward() -> np.ndarray:
        return compiled(images).numpy()

    report = {
        "model": "bundled shapes CNN (saliency_widgets/zoo/data/shapes_cnn.keras)",
        "images": len(x),
        "randomization_images": args.randomization_images,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU threads"
        + (", GPU" if tf.config.list_logical_devices("GPU") else ", no GPU"),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "date": time.strftime("%Y-%m-%d"),
        "methods": [],
    }
    for name in tqdm(args.methods, desc="methods", file=sys.stderr):
        report["methods"].append(
            evaluate(name, model, x, labels, forward, args.repeats, args.randomization_images)
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot_randomization(report, args.out.with_name("randomization.png"))
    print(markdown(report))
    print(f"\nwrote {args.out} and {args.out.with_name('randomization.png')}")


if __name__ == "__main__":
    main()
