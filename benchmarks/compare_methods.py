"""Every registered method on the bundled shapes model, scored with saliency_widgets.metrics.

For each method of :data:`saliency_widgets.methods.METHODS` (with its registered postprocessing
and parameters) on held-out images the bundled model classifies correctly, explaining the true
class:

- ``pointing``: pointing-game accuracy against the object masks (a centre point scores
  ``centre`` in the baseline rows);
- ``energy``: mean share of positive relevance on the object (a uniform map scores the objects'
  mean area);
- ``deletion`` / ``insertion``: mean area under the probability curve as pixels are removed
  (lower is better) or restored onto a blurred canvas (higher is better), 32 steps;
- ``randomization``: Spearman correlation with the trained model's maps once every layer is
  re-initialised, cascading from the top (Adebayo et al. 2018; below 0.5 passes, lower is
  better), with the whole per-layer curve and the share of constant maps in the JSON;
- ``time``: one batch of maps over one forward pass of the same batch (``tf.function``, XLA
  where :func:`saliency_widgets.auto_jit` would use it), warm medians of alternated runs.

Writes ``benchmarks/results/methods.json`` (read by the docs) and
``benchmarks/results/randomization.png``, and prints a markdown table.

Usage::

    python benchmarks/compare_methods.py [--images 32] [--randomization-images 8]
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


def correct_images(model: keras.Model, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``n`` held-out images the model gets right: images, labels, masks."""
    samples = zoo.load_samples(3 * n)
    x = zoo.preprocess(samples.images)
    keep = np.flatnonzero(np.asarray(model(x)).argmax(-1) == samples.labels)[:n]
    return x[keep], samples.labels[keep], samples.masks[keep]


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


def localisation_and_faithfulness(
    model: keras.Model, x: np.ndarray, labels: np.ndarray, masks: np.ndarray, maps: np.ndarray
) -> dict:
    return {
        "pointing": float(metrics.pointing_game(maps, masks).mean()),
        "energy": float(metrics.energy_in_mask(maps, masks).mean()),
        "deletion": float(metrics.deletion(model, x, maps, labels).auc.mean()),
        "insertion": float(metrics.insertion(model, x, maps, labels).auc.mean()),
    }


def baselines(model, x, labels, masks) -> list[dict]:
    size = x.shape[1]
    grid = (np.arange(size) - (size - 1) / 2) ** 2
    centre = np.exp(-(grid[:, None] + grid[None, :]) / (2 * (size / 4) ** 2))
    rows = {
        "centre (Gaussian blob)": np.broadcast_to(centre, (len(x), size, size)),
        "random (uniform noise)": np.random.default_rng(0).random((len(x), size, size)),
    }
    out = []
    for name, maps in rows.items():
        out.append({"name": name, **localisation_and_faithfulness(model, x, labels, masks, maps)})
    out[0]["pointing"] = float(metrics.centre_baseline(masks).mean())
    out[1]["energy"] = float(masks.mean())  # a uniform map's expected share
    return out


def evaluate(name, model, x, labels, masks, forward, repeats, randomization_images) -> dict:
    spec = sw.methods.get_method(name)
    explain = explainer(name)
    batch = len(x)
    _, maps = explain(model, x, labels, batch_size=batch, verbose=False)
    seconds, forward_s = paired_times(
        lambda: explain(model, x, labels, batch_size=batch, verbose=False), forward, repeats
    )
    row = {"name": name, "label": spec.label, "params": spec.params}
    row.update(localisation_and_faithfulness(model, x, labels, masks, maps[..., 0]))
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
        "| method | pointing ↑ | energy ↑ | deletion ↓ | insertion ↑ | randomization ↓ "
        "| time / forward |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["methods"]:
        lines.append(
            f"| {r['label']} | {r['pointing']:.2f} | {r['energy']:.2f} | {r['deletion']:.3f} "
            f"| {r['insertion']:.3f} | {r['randomization']:.2f} | {r['relative_to_forward']:.1f}× |"
        )
    for r in report["baselines"]:
        lines.append(
            f"| *{r['name']}* | {r['pointing']:.2f} | {r['energy']:.2f} | {r['deletion']:.3f} "
            f"| {r['insertion']:.3f} | | |"
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
    parser.add_argument("--out", type=Path, default=RESULTS / "methods.json")
    args = parser.parse_args()

    model = zoo.load_shapes_model()
    x, labels, masks = correct_images(model, args.images)
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
        "baselines": baselines(model, x, labels, masks),
    }
    for name in tqdm(args.methods, desc="methods", file=sys.stderr):
        report["methods"].append(
            evaluate(
                name, model, x, labels, masks, forward, args.repeats, args.randomization_images
            )
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    plot_randomization(report, args.out.with_name("randomization.png"))
    print(markdown(report))
    print(f"\nwrote {args.out} and {args.out.with_name('randomization.png')}")


if __name__ == "__main__":
    main()
