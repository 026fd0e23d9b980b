"""Time of one batch of saliency maps against one forward pass of the same batch.

``make bench`` runs this. For the bundled shapes model (64², batch 32) and ResNet50V2
(``weights=None``, 224², batch 32, or ``--resnet-batch``), it prints the median of warm runs of

- ``forward``: ``model(x, training=False)`` in a ``tf.function`` (XLA when the engine's
  :func:`saliency_widgets.auto_jit` policy would use it), and
- ``maps``: ``saliency_widgets.gradients(model, x, top1)``, the user's call, top-1 class per image,

their ratio (the physical floor is about 2: one forward and one backward pass; ``min`` is the
ratio of the fastest runs, the one least disturbed by other processes), and the first call
(trace/compile) time. The two are timed alternately so that a drifting machine load affects both.
``benchmarks/run.py`` is the full comparison with other libraries.

Usage::

    python benchmarks/engine_vs_forward.py [--repeats 5] [--resnet-batch 32] [--jit auto|on|off]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import tensorflow as tf
from harness import models
from harness.timing import measure_paired, peak_rss_mib, reset_peak_rss

import saliency_widgets as sw

JIT = {"auto": None, "on": True, "off": False}


def bench_model(name: str, batch: int, repeats: int, jit: bool | None) -> dict:
    """Times maps and forward pass of one model; returns a row of the printed table."""
    model, note = models.build(name)
    x = models.inputs(name, batch)
    forward_jit = sw.auto_jit() if jit is None else jit
    forward = tf.function(lambda t: model(t, training=False), jit_compile=forward_jit)
    probabilities = forward(tf.constant(x)).numpy()
    top1 = sw.top_k(probabilities, 1)[:, 0]

    def maps_call() -> None:
        sw.gradients(model, x, top1, batch_size=batch, jit_compile=jit, verbose=False)

    def forward_call() -> None:
        forward(tf.constant(x)).numpy()

    reset_peak_rss()
    maps, fwd = measure_paired(maps_call, forward_call, repeats)
    _, out = sw.gradients(model, x, top1, batch_size=batch, jit_compile=jit, verbose=False)
    assert out.shape == (batch, x.shape[1], x.shape[2], 1) and np.isfinite(out).all()
    return {
        "model": name,
        "batch": batch,
        "forward_ms": 1e3 * fwd.median_s,
        "maps_ms": 1e3 * maps.median_s,
        "ratio": maps.median_s / fwd.median_s,
        "min_ratio": min(maps.runs_s) / min(fwd.runs_s),
        "first_ms": 1e3 * maps.first_s,
        "peak_rss_mib": peak_rss_mib(),
        "note": note,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="warm runs per figure (median)")
    parser.add_argument("--batch", type=int, default=32, help="batch of the bundled model")
    parser.add_argument("--resnet-batch", type=int, default=32, help="batch of ResNet50V2")
    parser.add_argument("--jit", choices=sorted(JIT), default="auto", help="engine jit_compile")
    parser.add_argument("--models", default="shapes,resnet50v2", help="comma-separated models")
    args = parser.parse_args(argv)

    jit = JIT[args.jit]
    resolved = sw.auto_jit() if jit is None else jit
    devices = ", ".join(d.name for d in tf.config.list_logical_devices())
    print(f"tensorflow {tf.__version__}, devices: {devices}; jit={args.jit} → XLA {resolved}")
    header = (
        f"{'model':<12} {'batch':>5} {'forward ms':>11} {'maps ms':>9} {'ratio':>6} {'min':>6} "
    )
    header += f"{'first ms':>9} {'peak MiB':>9}  note"
    print(header)
    for name in args.models.split(","):
        batch = args.resnet_batch if name == "resnet50v2" else args.batch
        row = bench_model(name, batch, args.repeats, jit)
        print(
            f"{row['model']:<12} {row['batch']:>5} {row['forward_ms']:>11.1f} "
            f"{row['maps_ms']:>9.1f} {row['ratio']:>5.2f}× {row['min_ratio']:>5.2f}× "
            f"{row['first_ms']:>9.0f} "
            f"{row['peak_rss_mib']:>9.0f}  {row['note']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
