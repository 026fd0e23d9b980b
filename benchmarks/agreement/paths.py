"""Guided IG, Blur IG and XRAI against PAIR ``saliency``, on the bundled model and images.

Run from the repository root with the project's environment::

    python benchmarks/agreement/paths.py [--images 8]

The bundled model's logits model and held-out images are saved once; PAIR runs in its own
virtualenv (``benchmarks/.venvs/pair-saliency``, made by ``benchmarks/run.py`` or
``harness.venvs``) through its ``call_model_function`` interface, one image at a time as its API
goes, and ours batched. Rows go to ``benchmarks/results/agreement-paths.{json,md}``, with the
time per image of both (warm: tracing excluded).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from agreement.rows import Row, bundled, compare, reference_run, timed, write
from saliency_widgets.methods import paths, xrai

PAIR = "PAIR saliency 0.2.1"


def ours(model, x: np.ndarray, top: np.ndarray) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """Our maps (per channel where the method has channels) and seconds per image."""
    import tensorflow as tf

    indices = top[:, None]
    calls = {
        "guided_ig": lambda m, a, i: paths.guided_integrated_gradients(m, a, i, reduce=None),
        "blur_ig": lambda m, a, i: paths.blur_integrated_gradients(m, a, i, reduce=None),
        "xrai": lambda m, a, i: xrai.xrai(m, a, i),
        "attribution": lambda m, a, i: xrai.black_and_white_ig(m, a, i, reduce=None),
    }
    maps, seconds = {}, {}
    for name, call in calls.items():
        function = tf.function(lambda a, i, call=call: call(model, a, i))
        (_, found), elapsed = timed(function, tf.constant(x), tf.constant(indices))
        maps[name] = np.asarray(found)[..., 0]
        seconds[name] = elapsed / len(x)
    return maps, seconds


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="bundled held-out images")
    args = parser.parse_args(argv)

    _, model, x, top = bundled(args.images)
    mine, my_seconds = ours(model, x, top)
    attribution = mine["attribution"]  # (N, H, W, C): PAIR takes the image's shape
    theirs, their_seconds = reference_run(
        "pair-saliency", "pair_worker.py", model, {"x": x, "top": top, "attribution": attribution}
    )

    rows = [
        compare(
            "guided_integrated_gradients (steps 200, fraction 0.25, max_dist 0.02)",
            f"{PAIR} GuidedIG",
            mine["guided_ig"],
            theirs["guided_ig"],
            "same path: float64 bookkeeping as PAIR's numpy",
        ),
        compare(
            "blur_integrated_gradients (steps 100, max_sigma 50, grad_step 0.01)",
            f"{PAIR} BlurIG",
            mine["blur_ig"],
            theirs["blur_ig"],
            "scipy's blur as Toeplitz products (float64)",
        ),
        compare(
            "xrai (its own IG: black and white baselines, 100 steps)",
            f"{PAIR} XRAI",
            mine["xrai"],
            theirs["xrai"],
            "IG differs by quadrature: ours the midpoint rule, PAIR's both ends "
            "(linspace); near-equal region gains can then swap",
        ),
        compare(
            "xrai segmentation and ranking (same base attribution)",
            f"{PAIR} XRAI(base_attribution=ours)",
            _xrai_on(model, x, top, attribution.max(axis=-1)),  # PAIR's channel merge
            theirs["xrai_same_attribution"],
            "identical segments (Felzenszwalb ×6, dilation) and greedy gains",
        ),
    ]
    for row, name in zip(rows, ("guided_ig", "blur_ig", "xrai"), strict=False):
        row.seconds = {"ours": my_seconds[name], "reference": their_seconds[name]}
    context = {
        "model": "bundled shapes CNN (64x64)",
        "images": len(x),
        "classes": "predicted class",
        "normalisation": "channels summed, divided by max |map|",
    }
    write(rows, "agreement-paths", context)
    return rows


def _xrai_on(model, x, top, attribution):  # type: ignore[no-untyped-def]
    """Our XRAI given a fixed base attribution (PAIR's ``base_attribution``)."""
    import tensorflow as tf

    def given(model, inputs, indices):  # type: ignore[no-untyped-def]
        logits = model(inputs)
        return logits, tf.constant(attribution[..., None], tf.float32)  # (B, H, W, 1)

    _, maps = xrai.xrai(model, x, top[:, None], method=given)
    return np.asarray(maps)[..., 0]


if __name__ == "__main__":
    main()
