"""Peak memory of SmoothGrad with n = 64 noisy samples against n = 1, at the same batch size.

SmoothGrad in saliency-widgets draws its noisy copies one batch at a time inside a
``tf.while_loop`` (``parallel_iterations=1``), so memory should not grow with ``n``. This script
measures it: every case runs in a fresh process (so peaks do not mix) and reports the process's
peak resident memory above what the loaded model and one forward pass already took, and the wall
time. For contrast, ``naive`` builds all ``n`` noisy copies at once and differentiates them in one
call (Xplique #137's design); it is run with fewer samples unless ``--naive-samples`` says
otherwise, since at n = 64 it needs gigabytes.

On a GPU the figures are the device allocator's peak (``tf.config.experimental.get_memory_info``).

Usage::

    python benchmarks/smoothgrad_memory.py [--batch-size 16] [--samples 64] [--naive-samples 16]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _peak_mib() -> float:
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _model():
    from saliency_widgets import zoo
    from saliency_widgets.zoo import train

    # The architecture decides memory, not the weights: fall back on an untrained copy.
    return zoo.load_shapes_model() if zoo.model_path().is_file() else train.build_model()


def _naive(model, x, indices, samples: int, noise: float):
    """All ``samples`` noisy copies in one gradient call: memory grows with ``samples``."""
    import tensorflow as tf

    from saliency_widgets.methods import gradient, smooth

    x = tf.convert_to_tensor(x)
    scale = smooth.noise_scale(x, noise)
    copies = x[None] + scale[None] * tf.random.normal((samples, *x.shape))
    flat = tf.reshape(copies, (-1, *x.shape[1:]))
    _, grads = gradient.class_gradients(model, flat, tf.tile(indices, [samples, 1]))
    grads = tf.reshape(grads, (samples, -1, *grads.shape[1:]))
    return tf.reduce_max(tf.abs(tf.reduce_mean(grads, 0)), -1)


def child(case: str, samples: int, batch_size: int, noise: float) -> dict:
    """Runs one case in this process and returns its figures."""
    import numpy as np
    import tensorflow as tf

    import saliency_widgets as sw

    model = _model()
    logits_model = sw.inspection.explained_model(model).model
    x = np.random.default_rng(0).uniform(-1, 1, (batch_size, 64, 64, 3)).astype(np.float32)
    indices = np.zeros((batch_size, 1), np.int32)
    forward = tf.function(lambda t: logits_model(t, training=False))
    forward(tf.constant(x)).numpy()
    before = _peak_mib()
    start = time.perf_counter()
    if case == "forward":
        forward(tf.constant(x)).numpy()
    elif case == "smoothgrad":
        sw.smoothgrad(model, x, indices, batch_size=batch_size, samples=samples, noise=noise)
    elif case == "naive":
        tf.function(lambda t, i: _naive(logits_model, t, i, samples, noise))(
            tf.constant(x), tf.constant(indices)
        ).numpy()
    else:
        raise ValueError(case)
    seconds = time.perf_counter() - start
    after = _peak_mib()
    return {
        "case": case,
        "samples": samples,
        "batch_size": batch_size,
        "peak_mib": round(after, 1),
        "above_forward_mib": round(after - before, 1),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--naive-samples", type=int, default=16)
    parser.add_argument("--noise", type=float, default=0.15)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, samples = args.child.split(":")
        print(json.dumps(child(case, int(samples), args.batch_size, args.noise)))
        return

    cases = [
        ("forward", 1),
        ("smoothgrad", 1),
        ("smoothgrad", args.samples),
        ("naive", 1),
        ("naive", args.naive_samples),
    ]
    rows = []
    for case, samples in cases:
        command = [sys.executable, __file__, "--child", f"{case}:{samples}"]
        command += ["--batch-size", str(args.batch_size), "--noise", str(args.noise)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(f"  measured {case} n={samples}", file=sys.stderr, flush=True)

    print(f"\nSmoothGrad peak memory, bundled shapes model, batch {args.batch_size}, 64x64x3")
    print("| case | samples | peak (MiB) | above forward (MiB) | time (s) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['case']} | {row['samples']} | {row['peak_mib']:.0f} | "
            f"{row['above_forward_mib']:.0f} | {row['seconds']:.2f} |"
        )
    one, many = rows[1]["above_forward_mib"], rows[2]["above_forward_mib"]
    print(
        f"\nsmoothgrad: n={args.samples} uses {many:.0f} MiB above the forward pass, "
        f"n=1 {one:.0f} MiB (ratio {many / max(one, 1):.2f}; all copies at once would be "
        f"about {args.samples}x)"
    )


if __name__ == "__main__":
    main()
