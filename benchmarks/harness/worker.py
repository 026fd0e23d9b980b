"""The process that runs one contender on one model (or prepares a model's files).

``run.py`` starts it with the Python of the contender's virtualenv::

    python benchmarks/harness/worker.py prepare --model NAME --dir DIR --count N --classes K
    python benchmarks/harness/worker.py run --job DIR/job.json

``prepare`` (project environment) saves ``model.keras``, the images ``x.npy`` and the top-K
classes ``topk.npy`` of the model. ``run`` loads them, times the forward pass and every case,
saves each case's maps next to the job and writes ``result-<contender>.json``: a list of result
records (see :mod:`harness.results`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from harness import results
from harness.config import METHOD_CASES
from harness.timing import measure, measure_paired, peak_rss_mib, reset_peak_rss

SPREAD = 0.15
"""SmoothGrad noise standard deviation as a fraction of each image's value range."""


def prepare(model_name: str, directory: Path, count: int, classes: int) -> dict:
    """Builds a model, its images and their top-K classes; saves them for the contenders."""
    from harness import models

    model, note = models.build(model_name)
    x = models.inputs(model_name, count)
    probabilities = np.concatenate(
        [model.predict_on_batch(x[i : i + 32]) for i in range(0, len(x), 32)]
    )
    topk = np.argsort(-probabilities, axis=1, kind="stable")[:, :classes].astype(np.int32)
    models.save(model, directory / "model.keras")
    np.save(directory / "x.npy", x)
    np.save(directory / "topk.npy", topk)
    meta = {"model": model_name, "note": note, "images": len(x), "classes": classes}
    (directory / "meta.json").write_text(json.dumps(meta))
    return meta


def _case(adapter, case: str, x, topk, sizes: dict):
    """Returns a no-argument function running ``case`` on the adapter, and its work count."""
    batch, k = sizes["batch"], sizes["classes"]
    xb, top1 = x[:batch], topk[:batch, 0]
    if case == "vanilla":
        return (lambda: adapter.vanilla(xb, top1)), batch
    if case == "classes":
        block = topk[:batch, :k]
        return (lambda: adapter.classes(xb, block)), batch * k
    if case == "smoothgrad":
        return (lambda: adapter.smoothgrad(xb, top1, sizes["samples"], SPREAD)), batch
    if case in METHOD_CASES:
        count = sizes["method_batch"]
        xm, tm = x[:count], topk[:count, 0]
        return (lambda: adapter.method(case, xm, tm, METHOD_CASES[case])), count
    raise ValueError(f"unknown case {case!r}")


def run_job(job: dict) -> list[dict]:
    """Runs every case of one contender on one model; returns the result records."""
    import tensorflow as tf
    from contenders.base import Unsupported

    from harness import models

    directory = Path(job["dir"])
    sizes = job["sizes"]
    contender = job["contender"]
    base = {"model": job["model"], "contender": contender, "batch": sizes["batch"]}

    model = models.load(directory / "model.keras")
    logits_model = models.logits_model(model)
    x = np.load(directory / "x.npy")
    topk = np.load(directory / "topk.npy")
    xb = tf.constant(x[: sizes["batch"]])

    forward_fn = tf.function(lambda t: model(t, training=False))
    forward_fn(xb)

    def forward() -> None:
        forward_fn(xb).numpy()

    forward_s = measure(forward, sizes["repeats"]).median_s

    module = importlib.import_module(f"contenders.{job['module']}")
    try:
        adapter = module.Adapter(model, logits_model, job["mode"])
    except Exception as error:  # a library that cannot even start: every case says why
        reason = f"{type(error).__name__}: {error}"
        return [
            results.record(**base, case=c, status="error", forward_s=forward_s, note=reason)
            for c in job["cases"]
        ]
    versions = adapter.versions()
    records = []
    for case in job["cases"]:
        reset_peak_rss()
        fields = dict(base, case=case, versions=versions)
        try:
            if case == "stream":
                before = measure(forward, 3)
                start = time.perf_counter()
                deadline = start + sizes["stream_budget_s"]
                count = sizes["stream"]
                maps = adapter.stream(x[:count], topk[:count, 0], sizes["batch"], deadline)
                elapsed = time.perf_counter() - start
                after = measure(forward, 3)
                record = results.record(
                    **fields,
                    status="ok",
                    median_s=elapsed,
                    runs_s=[elapsed],
                    forward_s=statistics.median(before.runs_s + after.runs_s),
                    forward_min_s=min(before.runs_s + after.runs_s),
                    work=len(maps),
                    images=len(maps),
                )
            else:
                fn, work = _case(adapter, case, x, topk, sizes)
                kept: dict = {}
                timing, reference = measure_paired(
                    lambda fn=fn, kept=kept: kept.update(maps=fn()),
                    forward,
                    sizes["repeats"],
                    budget_s=sizes["budget_s"],
                )
                maps = kept["maps"]
                record = results.record(
                    **fields,
                    status="ok",
                    median_s=timing.median_s,
                    runs_s=timing.runs_s,
                    first_s=timing.first_s,
                    forward_s=reference.median_s,
                    forward_min_s=min(reference.runs_s),
                    ratios=[a / b for a, b in zip(timing.runs_s, reference.runs_s, strict=True)],
                    work=work,
                    images=sizes["method_batch"] if case in METHOD_CASES else sizes["batch"],
                )
            np.save(directory / f"maps-{contender}-{case}.npy", np.asarray(maps, np.float32))
        except Unsupported as reason:
            record = results.record(
                **fields, status="unsupported", forward_s=forward_s, note=str(reason)
            )
        except Exception as error:  # recorded, not raised: one broken case must not stop a run
            lines = traceback.format_exception_only(type(error), error)
            note = lines[-1].strip()[:300]
            record = results.record(**fields, status="error", forward_s=forward_s, note=note)
        record["peak_rss_mib"] = round(peak_rss_mib(), 1)
        records.append(record)
        print(results.one_line(record), flush=True)
    return records


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="benchmark worker")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--model", required=True)
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--classes", type=int, default=5)
    r = sub.add_parser("run")
    r.add_argument("--job", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        print(json.dumps(prepare(args.model, args.dir, args.count, args.classes)))
        return
    job = json.loads(args.job.read_text())
    records = run_job(job)
    out = Path(job["dir"]) / f"result-{job['contender']}.json"
    out.write_text(json.dumps(records))


if __name__ == "__main__":
    main()
