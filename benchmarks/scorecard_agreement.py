"""Deletion and insertion of :func:`saliency_widgets.metrics.scorecard` against Xplique's.

Xplique's ``Deletion`` and ``Insertion`` (``xplique.metrics``, run in its own virtualenv made by
the benchmark harness from ``benchmarks/requirements.txt``) score the same maps of the same
bundled model (the same ``.keras`` file) on the same images, with the same settings:

- 16 steps over the whole image (``steps=16``, ``max_percentage_perturbed=1.0``): 256 pixels
  per step at 64², where Xplique's ``linspace(..., dtype=int32)`` and our rounding agree;
- deleted pixels set to 0 in the model's input space (``baseline_mode=0.0``, our
  ``deletion_baseline="zeros"``);
- insertion onto zeros (Xplique's default) and onto our blurred canvas (handed to Xplique as
  a ``baseline_mode`` function returning it);
- the class probability: the model's softmax output (``activation=None`` in Xplique; our
  scorecard applies the softmax to the logits of the head it removes);
- the area by the trapezoid rule over equal steps (Xplique's ``mean((s[:-1] + s[1:]) / 2)``).

Xplique averages the curve over its inputs, so each map is scored on its own (one metric object
per image). Pixels of equal relevance are ordered differently (Xplique reverses numpy's
``argsort``; we break ties in a seeded random order), which matters for maps with large flat
regions (Grad-CAM's zeros). The comparison is therefore made twice: on the maps as they are,
and on the same maps with their ties broken in advance (a 1e-9 seeded jitter), where the two
orders are the same and only the implementations differ.

Writes ``benchmarks/results/scorecard-agreement.md`` and ``.json``.

Usage::

    python benchmarks/scorecard_agreement.py [--images 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
STEPS = 16
METHODS = ("gradients", "smoothgrad", "integrated_gradients", "gradcam")
VARIANTS = ("as given", "ties broken")


def worker(directory: Path) -> None:
    """Runs in Xplique's virtualenv: Deletion and Insertion of every saved map, one at a time."""
    import keras
    from xplique.metrics import Deletion, Insertion

    model = keras.models.load_model(directory / "model.keras", safe_mode=True)
    x = np.load(directory / "x.npy")
    canvas = np.load(directory / "canvas.npy")
    image_of = np.load(directory / "image_of.npy")
    labels = np.load(directory / "labels.npy")
    units = int(model.outputs[0].shape[-1])
    out: dict[str, list] = {}
    for variant in VARIANTS:
        maps = np.load(directory / f"maps-{variant.replace(' ', '-')}.npy")
        rows = []
        for m, (i, label) in enumerate(zip(image_of, labels, strict=True)):
            one = x[i : i + 1]
            target = np.eye(units, dtype=np.float32)[[label]]
            settings = {"batch_size": 64, "steps": STEPS, "max_percentage_perturbed": 1.0}
            deletion = Deletion(model, one, target, baseline_mode=0.0, **settings)
            zeros = Insertion(model, one, target, baseline_mode=0.0, **settings)
            blurred = Insertion(
                model, one, target, baseline_mode=lambda inputs, i=i: canvas[i : i + 1], **settings
            )
            row = {}
            for name, metric in (
                ("deletion", deletion),
                ("insertion_zeros", zeros),
                ("insertion_blurred", blurred),
            ):
                curve = metric.detailed_evaluate(maps[m : m + 1])
                scores = np.array(list(curve.values()), np.float64)
                row[name] = {
                    "auc": float(np.mean(scores[:-1] + scores[1:]) * 0.5),
                    "curve": scores.tolist(),
                }
            rows.append(row)
        out[variant] = rows
    (directory / "xplique.json").write_text(json.dumps(out))


def _summary(ours: np.ndarray, theirs: np.ndarray) -> dict:
    difference = np.abs(ours - theirs)
    correlation = float(np.corrcoef(ours, theirs)[0, 1]) if ours.std() > 0 else 1.0
    return {
        "max_abs_difference": float(difference.max()),
        "mean_abs_difference": float(difference.mean()),
        "median_abs_difference": float(np.median(difference)),
        "pearson": correlation,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        worker(args.worker)
        return {}

    sys.path.insert(0, str(HERE))
    from harness import venvs

    import saliency_widgets as sw
    from saliency_widgets import metrics, zoo

    install = venvs.ensure(
        "xplique",
        venvs.parse_sections((HERE / "requirements.txt").read_text())["xplique"],
        HERE / ".venvs",
    )
    model = zoo.load_shapes_model()
    samples = zoo.load_samples(args.images)
    x = zoo.preprocess(samples.images)
    labels = samples.labels.astype(np.int64)
    per_method = []
    for name in METHODS:
        spec = sw.methods.get_method(name)
        explain = sw.partial_explain(spec.function, postprocessing=spec.postprocessing)
        per_method.append(explain(model, x, labels, verbose=False, **spec.params)[1][..., 0])
    maps = np.stack(per_method, axis=1)  # (N, methods, H, W)
    n, k = maps.shape[:2]
    jitter = 1e-9 * np.random.default_rng(0).random(maps.shape)
    given = {"as given": maps, "ties broken": maps + jitter}
    canvas = sw.methods.integrated.gaussian_blur(x, x.shape[1] / 10).numpy()

    ours: dict[str, dict[str, np.ndarray]] = {}
    for variant, stack in given.items():
        cards = {
            canvas_name: metrics.scorecard(
                model,
                x,
                np.moveaxis(stack, 1, -1),
                np.repeat(labels[:, None], k, 1),
                steps=STEPS,
                deletion_baseline="zeros",
                insertion_baseline=canvas_name,
            )
            for canvas_name in ("zeros", "blurred")
        }
        flat = {key: [card for row in value for card in row] for key, value in cards.items()}
        ours[variant] = {
            "deletion": np.array([c.deletion.auc for c in flat["zeros"]]),
            "insertion_zeros": np.array([c.insertion.auc for c in flat["zeros"]]),
            "insertion_blurred": np.array([c.insertion.auc for c in flat["blurred"]]),
            "deletion_curves": np.array([c.deletion.curve for c in flat["zeros"]]),
        }

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        model.save(directory / "model.keras")
        np.save(directory / "x.npy", x)
        np.save(directory / "canvas.npy", canvas)
        np.save(directory / "image_of.npy", np.repeat(np.arange(n), k))
        np.save(directory / "labels.npy", np.repeat(labels, k))
        for variant, stack in given.items():
            np.save(
                directory / f"maps-{variant.replace(' ', '-')}.npy",
                stack.reshape(n * k, *stack.shape[2:]),
            )
        subprocess.run(
            [
                str(venvs.python_of(HERE / ".venvs" / "xplique")),
                str(Path(__file__).resolve()),
                "--worker",
                str(directory),
            ],
            check=True,
        )
        theirs = json.loads((directory / "xplique.json").read_text())

    report: dict = {
        "settings": {
            "images": n,
            "methods": list(METHODS),
            "maps": n * k,
            "steps": STEPS,
            "deletion_baseline": "zeros (model input space)",
            "insertion_canvas": ["zeros", "blurred (sigma = side / 10)"],
            "score": "softmax probability of the true class",
            "xplique": install.status,
        },
        "variants": {},
    }
    method_of = np.tile(np.arange(k), n)
    for variant in VARIANTS:
        rows = theirs[variant]
        entry = {}
        for figure in ("deletion", "insertion_zeros", "insertion_blurred"):
            reference = np.array([row[figure]["auc"] for row in rows])
            mine = ours[variant][figure]
            entry[figure] = {
                "all": _summary(mine, reference),
                **{
                    METHODS[j]: _summary(mine[method_of == j], reference[method_of == j])
                    for j in range(k)
                },
            }
        curves = np.array([row["deletion"]["curve"] for row in rows])
        entry["deletion_curve_max_abs_difference"] = float(
            np.abs(curves - ours[variant]["deletion_curves"]).max()
        )
        report["variants"][variant] = entry
    flat_maps = maps.reshape(n * k, -1)
    tied = np.array([1 - len(np.unique(row)) / row.size for row in flat_maps])
    report["tied_pixel_share"] = {METHODS[j]: float(tied[method_of == j].mean()) for j in range(k)}
    write(report)
    return report


def write(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scorecard-agreement.json").write_text(json.dumps(report, indent=2) + "\n")
    s = report["settings"]
    lines = [
        "# Deletion and insertion: saliency-widgets against Xplique",
        "",
        f"{s['maps']} maps ({s['images']} bundled held-out images × {', '.join(s['methods'])}), "
        f"true class, {s['steps']} steps, deletion to {s['deletion_baseline']}, "
        f"{s['score']}. Xplique {s['xplique']}. Written by `benchmarks/scorecard_agreement.py`.",
        "",
        "Per-map area differences |ours − Xplique| and the Pearson correlation of the areas:",
        "",
        "| maps | figure | method | max | mean | median | correlation |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant, entry in report["variants"].items():
        for figure in ("deletion", "insertion_zeros", "insertion_blurred"):
            for method, row in entry[figure].items():
                lines.append(
                    f"| {variant} | {figure.replace('_', ' onto ')} | {method} | "
                    f"{row['max_abs_difference']:.2e} | {row['mean_abs_difference']:.2e} | "
                    f"{row['median_abs_difference']:.2e} | {row['pearson']:.6f} |"
                )
    untied = report["variants"]["ties broken"]
    worst = max(
        untied[figure]["all"]["max_abs_difference"]
        for figure in ("deletion", "insertion_zeros", "insertion_blurred")
    )
    lines += [
        "",
        f"With the ties broken in advance (the same pixel order for both), the largest area "
        f"difference is {worst:.1e}: float32 rounding. On the maps as they are, the differences "
        "come from pixels of equal relevance, which we order at random (seeded) and Xplique "
        "in reverse pixel order (`argsort(...)[::-1]`), i.e. from the bottom right.",
        "",
        "Largest difference between the deletion curves, step by step: "
        + ", ".join(
            f"{variant} {entry['deletion_curve_max_abs_difference']:.2e}"
            for variant, entry in report["variants"].items()
        )
        + ".",
        "",
        "Share of a map's pixels that tie with another (the orders differ only there): "
        + ", ".join(f"{m} {100 * v:.1f} %" for m, v in report["tied_pixel_share"].items())
        + ".",
        "",
    ]
    (RESULTS / "scorecard-agreement.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
