"""The agreement table's rows: one normalisation, one rank correlation, one file format."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
BENCHMARKS = HERE.parent
RESULTS = BENCHMARKS / "results"


@dataclass
class Row:
    """One comparison: our method against a reference implementation.

    Attributes:
        method: Our method (and its options).
        reference: The peer library and its call.
        rank_correlation: Spearman correlation of the normalised maps, over pixels, the lowest
            over the images (``mean_rank_correlation``: their mean).
        max_abs_diff: Largest absolute difference of the normalised maps over all images.
        note: What explains a miss, or what was compared.
        seconds: Time per image of ours and of the reference (warm), when measured.
    """

    method: str
    reference: str
    rank_correlation: float
    max_abs_diff: float
    note: str = ""
    mean_rank_correlation: float = float("nan")
    seconds: dict[str, float] = field(default_factory=dict)


def normalise(maps: np.ndarray) -> np.ndarray:
    """``(N, H, W[, C])`` maps → ``(N, H, W)``: channels summed (signed), divided by the max |·|.

    The same for every library, so a difference means the attributions differ, not their scale.
    """
    array = np.asarray(maps, np.float64)
    if array.ndim == 4:
        array = array.sum(axis=-1)
    peak = np.abs(array).max(axis=(1, 2), keepdims=True)
    return array / np.where(peak > 0, peak, 1.0)


def compare(
    method: str, reference: str, ours: np.ndarray, theirs: np.ndarray, note: str = ""
) -> Row:
    """A :class:`Row` from two sets of maps of the same images."""
    a, b = normalise(ours), normalise(theirs)
    if a.shape != b.shape:
        raise ValueError(f"{method}: maps shaped {a.shape} and {b.shape}")
    rhos = [stats.spearmanr(x.ravel(), y.ravel())[0] for x, y in zip(a, b, strict=True)]
    return Row(
        method,
        reference,
        float(np.min(rhos)),
        float(np.abs(a - b).max()),
        note,
        float(np.mean(rhos)),
    )


def bundled(images: int) -> tuple:
    """The bundled model, its logits model, ``images`` held-out images and their top class."""
    import saliency_widgets as sw

    full = sw.zoo.load_shapes_model()
    model = sw.inspection.explained_model(full).model
    x = sw.zoo.preprocess(sw.zoo.load_samples(images).images).astype(np.float32)
    top = np.asarray(model(x)).argmax(axis=1).astype(np.int32)
    return full, model, x, top


def reference_run(venv: str, worker: str, model, arrays: dict) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """Runs a reference's worker in its virtualenv on saved weights and arrays.

    The worker gets a folder holding ``model.keras`` and ``<name>.npy`` per array, and writes
    ``maps.npz`` and ``seconds.json`` there.

    Returns:
        The maps and the seconds (and whatever else the worker reports).

    Raises:
        RuntimeError: With the worker's error output, if it fails.
    """
    from harness import venvs

    python = venvs.python_of(BENCHMARKS / ".venvs" / venv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        model.save(directory / "model.keras")
        for name, array in arrays.items():
            np.save(directory / f"{name}.npy", array)
        command = [str(python), str(HERE / worker), str(directory)]
        process = subprocess.run(command, capture_output=True, text=True, check=False)
        if process.returncode != 0:
            raise RuntimeError(f"{worker} failed:\n{process.stderr[-3000:]}")
        maps = dict(np.load(directory / "maps.npz"))
        return maps, json.loads((directory / "seconds.json").read_text())


def timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    """``(result, seconds)`` of a warm call (one untimed call first: tracing is not timed)."""
    function(*args, **kwargs)
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def write(rows: list[Row], stem: str, context: dict) -> Path:
    """Writes ``benchmarks/results/<stem>.json`` and ``.md``; prints the table."""
    RESULTS.mkdir(exist_ok=True)
    payload = {**context, "rows": [asdict(r) for r in rows]}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    lines = [
        "| method | reference | rank correlation (min / mean) | max abs diff | note |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.method} | {r.reference} | {r.rank_correlation:.4f} / "
            f"{r.mean_rank_correlation:.4f} | {r.max_abs_diff:.2e} | {r.note} |"
        )
    speed = [r for r in rows if r.seconds]
    if speed:
        lines += [
            "",
            "| method | ours (s/image) | reference (s/image) | reference / ours |",
            "|---|---|---|---|",
        ]
        for r in speed:
            ours, theirs = r.seconds["ours"], r.seconds["reference"]
            lines.append(f"| {r.method} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}× |")
    text = "\n".join(lines) + "\n"
    header = ", ".join(f"{k}: {v}" for k, v in context.items())
    (RESULTS / f"{stem}.md").write_text(f"{header}\n\n{text}")
    sys.stdout.write(text)
    return RESULTS / f"{stem}.md"
