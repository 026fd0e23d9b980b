"""Our methods against their reference implementations, on the same weights and images.

One command::

    python benchmarks/method_agreement.py                  # every group (about 20 min here)
    python benchmarks/method_agreement.py --groups cam     # one group
    python benchmarks/method_agreement.py --only rise-xplique-same-masks

Every comparison registered in ``benchmarks/agreement/`` (one module per group, see
:mod:`agreement`) runs its reference in the reference's virtualenv (``benchmarks/.venvs/<name>``,
from ``benchmarks/requirements.txt``, installed on first use) and ours in this environment, on the
bundled model and its first held-out samples, explaining each image's own class. Each pair of maps
is scaled to ``[0, 1]`` per map; the table gives the Spearman rank correlation (lowest and mean
over the images) and the largest and mean absolute differences, and whether a deterministic
method reaches the target (0.99). Per group it writes ``benchmarks/results/agreement-<group>.json``
and ``.md`` (the docs' Methods page shows the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from agreement import TARGET, Comparison, Inputs, agree, groups, save_maps  # noqa: E402
from harness import machine, results, venvs  # noqa: E402

WORKER = HERE / "agreement" / "worker.py"
IMPORTS = {
    "tf-keras-vis": "tf_keras_vis",
    "xplique": "xplique",
    "pytorch-grad-cam": "torch",  # pytorch_grad_cam needs harness.torch_port's import
}
"""The module whose import proves a reference's environment works."""
COLUMNS = (
    "method",
    "reference",
    "setting",
    "spearman_min",
    "spearman_mean",
    "max_abs_diff",
    "verdict",
)


def prepare(directory: Path, count: int) -> dict:
    """Saves the bundled model, ``count`` held-out samples and their classes for both sides."""
    from harness import models

    from saliency_widgets import zoo

    model, note = models.build("shapes")
    models.save(model, directory / "model.keras")
    samples = zoo.load_samples(count)
    np.save(directory / "x.npy", zoo.preprocess(samples.images))
    np.save(directory / "labels.npy", np.asarray(samples.labels, np.int64))
    return {"model": note, "images": count, "classes": "each image's own class"}


def run_references(
    comparisons: list[Comparison], environments: dict[str, dict], directory: Path
) -> None:
    """Runs the references, one worker process per virtualenv, and logs their output."""
    for venv in sorted({c.reference for c in comparisons}):
        names = [c.name for c in comparisons if c.reference == venv]
        env = environments[venv]
        if env["status"] in ("not-installed", "failed"):
            for name in names:
                notes = {"status": "error", "error": f"{venv}: {env['status']}: {env['detail']}"}
                save_maps(directory, name, "theirs", [], notes)
            continue
        print(f"{venv}: {', '.join(names)}", flush=True)
        with (directory / f"worker-{venv}.log").open("w") as log:
            command = [env["python"], str(WORKER), "--dir", str(directory), *names]
            subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
        for name in names:
            if not (directory / f"{name}-theirs.json").exists():
                tail = (directory / f"worker-{venv}.log").read_text().strip().splitlines()[-1:]
                notes = {"status": "error", "error": f"worker died: {' '.join(tail)[:300]}"}
                save_maps(directory, name, "theirs", [], notes)


def compare(comparison: Comparison, directory: Path) -> dict:
    """Runs ours and measures the agreement with the reference's saved maps."""
    record = {
        "name": comparison.name,
        "method": comparison.method,
        "reference": comparison.reference,
        "setting": comparison.setting,
        "deterministic": comparison.deterministic,
        "note": comparison.note,
    }
    theirs_notes = json.loads((directory / f"{comparison.name}-theirs.json").read_text())
    record["reference_run"] = theirs_notes
    if theirs_notes["status"] != "ok":
        return {
            **record,
            "status": "error",
            "verdict": f"reference failed: {theirs_notes['error']}",
        }
    theirs = np.load(directory / f"{comparison.name}-theirs.npy")
    start = time.perf_counter()
    ours = comparison.ours(Inputs(directory))
    record["ours_seconds"] = round(time.perf_counter() - start, 2)
    record.update(agree(ours, theirs), status="ok")
    if not comparison.deterministic:
        verdict = "random: statistical agreement"
    elif record["spearman_min"] >= TARGET:
        verdict = "meets"
    else:
        verdict = "explained miss" if comparison.note else "MISS"
    record["verdict"] = verdict
    return record


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def markdown(doc: dict) -> str:
    """The ``agreement-<group>.md`` report."""
    m = doc["machine"]
    rows = [list(COLUMNS)] + [[_cell(r.get(c, "—")) for c in COLUMNS] for r in doc["records"]]
    lines = [
        f"# Method agreement: {doc['group']}",
        "",
        f"{doc['inputs']['images']} held-out images of the bundled model "
        f"({doc['inputs']['model']}), {doc['inputs']['classes']}; maps scaled to [0, 1] per map. "
        f"Target: Spearman ≥ {TARGET} on every image for deterministic methods. {m['date']}, "
        f"commit {m['commit']}{' (dirty)' if m['dirty'] else ''}, {m['cpu']}.",
        "",
        results.markdown_table(rows),
        "",
    ]
    for record in doc["records"]:
        if record.get("note"):
            lines.append(f"- **{record['method']} / {record['reference']}**: {record['note']}")
        extra = {
            k: v
            for k, v in record.get("reference_run", {}).items()
            if k not in ("status", "seconds", "versions")
        }
        if extra:
            lines.append(f"- {record['name']}: {extra}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    found = groups()
    parser.add_argument("--groups", help=f"comma-separated, from {sorted(found)}")
    parser.add_argument("--only", help="comma-separated comparison names")
    parser.add_argument("--images", type=int, default=8, help="held-out samples (default 8)")
    parser.add_argument("--no-install", action="store_true", help="use existing venvs only")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    chosen = args.groups.split(",") if args.groups else sorted(found)
    only = set(args.only.split(",")) if args.only else None
    selected = {
        group: [c for c in found[group] if only is None or c.name in only] for group in chosen
    }
    selected = {group: items for group, items in selected.items() if items}
    everything = [c for items in selected.values() for c in items]
    if not everything:
        parser.error("no comparison selected")
    requirements = Path(os.environ.get("BENCHMARK_REQUIREMENTS", HERE / "requirements.txt"))
    venv_root = Path(os.environ.get("BENCHMARK_VENVS", HERE / ".venvs"))
    needed = sorted({c.reference for c in everything})
    environments = venvs.environments(needed, not args.no_install, venv_root, requirements, IMPORTS)
    info = machine.machine_info()
    documents = {}
    with tempfile.TemporaryDirectory(prefix="saliency-agreement-") as tmp:
        directory = Path(tmp)
        inputs = prepare(directory, args.images)
        run_references(everything, environments, directory)
        args.out.mkdir(parents=True, exist_ok=True)
        for group, items in selected.items():
            records = [compare(c, directory) for c in items]
            doc = {
                "group": group,
                "machine": info,
                "inputs": inputs,
                "target": TARGET,
                "environments": {v: environments[v] for v in sorted({c.reference for c in items})},
                "records": records,
            }
            stem = f"agreement-{group}" if only is None else f"agreement-{group}-partial"
            (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False))
            (args.out / f"{stem}.md").write_text(markdown(doc))
            rows = [list(COLUMNS)] + [[_cell(r.get(c, "—")) for c in COLUMNS] for r in records]
            print(f"\n{group}\n{results.text_table(rows)}")
            documents[group] = doc
    return documents


if __name__ == "__main__":
    main()
