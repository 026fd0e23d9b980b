"""How long the scorecard's figures take on the bundled model, 64², on this machine's CPUs.

Two figures (issue 20's goals):

- **panel**: the figures beside one map (deletion and insertion at 16 steps with their random
  order, Gini, localisation), warm, after the map is computed: goal ≤ 300 ms;
- **explorer**: the figures of the explorer's default precompute (16 images × top-5 classes ×
  4 methods: gradients, smoothgrad, integrated_gradients, gradcam) against the time of the
  maps themselves: goal ≤ 1×.

Also prints the images scored per map (counted by a model that counts them, padding included),
the machine's load average (the machine is shared: read the times with it), and writes
``benchmarks/results/scorecard-speed.json``.

Usage::

    python benchmarks/scorecard_speed.py [--repeats 7] [--batch-size 64]
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

import saliency_widgets as sw
from saliency_widgets import metrics, zoo
from saliency_widgets.explorer import DEFAULT_METHODS, explain_top_k

RESULTS = Path(__file__).resolve().parent / "results"


class Counting(keras.Model):
    """The model's logits, counting the images that go through it (a subclassed wrapper)."""

    def __init__(self, inner: keras.Model) -> None:
        super().__init__()
        self.inner = inner
        self.seen = tf.Variable(0, dtype=tf.int64, trainable=False)

    def call(self, images: tf.Tensor) -> tf.Tensor:
        self.seen.assign_add(tf.cast(tf.shape(images)[0], tf.int64))
        return self.inner(images)


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """First-call time, median warm wall time and median warm CPU time of ``fn``, in seconds.

    The CPU time (all threads of this process) barely depends on what else runs on the
    machine; on an idle machine the wall time lies between it and itself over the core count.
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return first, statistics.median(walls), statistics.median(cpus)


def images_scored(model: keras.Model, *args: object, **kwargs: object) -> int:
    """How many images :func:`metrics.scorecard` puts through the model (padding included)."""
    counting = Counting(sw.inspection.explained_model(model).model)
    metrics.scorecard(counting, *args, **kwargs)
    return int(counting.seen.numpy())


def panel(model: keras.Model, repeats: int, batch_size: int) -> dict:
    samples = zoo.load_samples(1)
    x = zoo.preprocess(samples.images)
    labels = samples.labels
    _, map_s, map_cpu_s = median_time(lambda: sw.gradients(model, x, labels), repeats)
    _, maps = sw.gradients(model, x, labels)

    def figures() -> object:
        return metrics.scorecard(model, x, maps, labels, masks=samples.masks, batch_size=batch_size)

    first, warm, cpu = median_time(figures, repeats)
    count = images_scored(model, x, maps, labels, masks=samples.masks, batch_size=batch_size)
    return {
        "map_s": map_s,
        "map_cpu_s": map_cpu_s,
        "first_s": first,
        "warm_s": warm,
        "cpu_s": cpu,
        "images_per_map": count,
        "goal_s": 0.3,
    }


def explorer(model: keras.Model, repeats: int, batch_size: int) -> dict:
    samples = zoo.load_samples(16)
    x = zoo.preprocess(samples.images)

    def maps() -> object:
        return explain_top_k(model, samples.images, x, top_k=5, class_names=zoo.class_names())

    maps_first, maps_s, maps_cpu_s = median_time(maps, max(1, repeats // 3))
    data = maps()
    stacked = np.concatenate([np.moveaxis(m.maps, 1, -1) for m in data.methods], axis=-1)
    indices = np.tile(data.indices, (1, len(data.methods)))

    def figures() -> object:
        return metrics.scorecard(
            model, x, stacked, indices, masks=samples.masks, batch_size=batch_size
        )

    first, warm, cpu = median_time(figures, max(1, repeats // 3))
    count = images_scored(model, x, stacked, indices, masks=samples.masks, batch_size=batch_size)
    return {
        "methods": list(DEFAULT_METHODS),
        "maps": int(stacked.shape[0] * stacked.shape[-1]),
        "maps_s": maps_s,
        "maps_first_s": maps_first,
        "maps_cpu_s": maps_cpu_s,
        "metrics_s": warm,
        "metrics_cpu_s": cpu,
        "metrics_first_s": first,
        "ratio": warm / maps_s,
        "cpu_ratio": cpu / maps_cpu_s,
        "images_scored": count,
        "images_per_map": count / (stacked.shape[0] * stacked.shape[-1]),
        "goal_ratio": 1.0,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    model = zoo.load_shapes_model()
    load_before = os.getloadavg()
    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "tensorflow": tf.__version__,
            "load_average_before": load_before,
        },
        "batch_size": args.batch_size,
        "panel": panel(model, args.repeats, args.batch_size),
        "explorer": explorer(model, args.repeats, args.batch_size),
    }
    result["machine"]["load_average_after"] = os.getloadavg()
    p, e = result["panel"], result["explorer"]
    print(f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after")
    print(
        f"panel, one map: {1000 * p['warm_s']:.0f} ms warm (goal ≤ 300 ms; CPU time "
        f"{1000 * p['cpu_s']:.0f} ms; first call {1000 * p['first_s']:.0f} ms; the map itself "
        f"{1000 * p['map_s']:.0f} ms), {p['images_per_map']} images through the model"
    )
    print(
        f"explorer, {e['maps']} maps: figures {e['metrics_s']:.2f} s against the maps' "
        f"{e['maps_s']:.2f} s = {e['ratio']:.2f}× (goal ≤ 1×; in CPU time "
        f"{e['metrics_cpu_s']:.1f} s against {e['maps_cpu_s']:.1f} s = {e['cpu_ratio']:.2f}×), "
        f"{e['images_per_map']:.1f} images through the model per map"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scorecard-speed.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
