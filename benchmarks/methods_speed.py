"""Each method a peer ships, ours against that peer: time per image, side by side.

One command::

    python benchmarks/methods_speed.py               # about half an hour on 2 CPU cores

It gathers what the two existing timing paths measure, on the bundled model, and writes one
table (``benchmarks/results/methods-speed.json`` and ``.md``, shown on the docs' Performance
page):

- the method cases of ``benchmarks/run.py`` (LayerCAM, HiResCAM, XGrad-CAM, Eigen-CAM,
  Ablation-CAM, Score-CAM against tf-keras-vis and pytorch-grad-cam; Occlusion and RISE against
  Xplique): one batch of ``Sizes.method_batch`` images, the median of the warm runs, each library
  in its own process (``--cases FILE`` reads a ``run.py`` result instead of running them);
- ``benchmarks/agreement/paths.py`` (Guided IG, Blur IG, XRAI against PAIR ``saliency``) and
  ``benchmarks/agreement/lrp.py`` (LRP against zennit on the model ported to PyTorch): one warm
  call of each side (tracing excluded) on the agreement's eight images. Running them rewrites
  their ``agreement-*.json`` with the same maps and the new times (and when and under what load
  they were taken: ``timed``); ``--reuse-agreement`` reads the times those files hold instead.

The machine, the date and the load average before and after each part are recorded with the
table: the machine is shared, so a figure means little without them. Nothing is installed: the
peers' virtualenvs (``benchmarks/.venvs/``) are those ``run.py`` and ``method_agreement.py``
make.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(HERE))

from harness import config, machine, results  # noqa: E402

RESULTS = HERE / "results"
PEERS = ("tf-keras-vis", "pytorch-grad-cam", "xplique")
"""The ``run.py`` contenders that ship method cases (in table order)."""
AGREEMENT = {
    # agreement script: (results stem, how the method column starts -> our registry's name)
    "paths": (
        "agreement-paths",
        {
            "guided_integrated_gradients": "guided_integrated_gradients",
            "blur_integrated_gradients": "blur_integrated_gradients",
            "xrai": "xrai",
        },
    ),
    "lrp": ("agreement-lrp", {"lrp": "lrp"}),
}
"""The agreement scripts that time both sides, and the methods their rows are about."""
COLUMNS = (
    "method",
    "peer",
    "setting",
    "images",
    "ours_ms",
    "peer_ms",
    "ratio",
    "forward_ratio",
    "timing",
)


def _label(name: str) -> str:
    """Our registry's label of a method (``"layercam"`` -> ``"LayerCAM"``)."""
    from saliency_widgets.methods import METHODS

    label = METHODS[name].label
    return "LRP" if name == "lrp" else label


def row(
    method: str,
    peer: str,
    setting: str,
    images: int,
    ours_s: float | None,
    peer_s: float | None,
    timing: str,
    note: str = "",
    forward_ratio: float | None = None,
) -> dict:
    """One line of the table: seconds per image in, milliseconds per image out.

    Args:
        method: Our method's label.
        peer: The peer library (and its call).
        setting: What both were asked.
        images: Images each side explained per timed call.
        ours_s: Our seconds per image (``None`` when not measured).
        peer_s: The peer's seconds per image (``None`` when it failed; ``note`` says why).
        timing: How the figures were taken.
        note: Why a figure is missing.
        forward_ratio: The same ratio with each side's time first divided by a forward pass of
            the model timed right before each run in the same process (``run.py``'s paired
            ratio): what is left of the machine's load drifting between the two processes.

    Returns:
        ``ratio`` is the peer's time over ours: above 1, ours is faster; ``note`` only when
        there is one.
    """
    ours_ms = None if ours_s is None else round(ours_s * 1000, 3)
    peer_ms = None if peer_s is None else round(peer_s * 1000, 3)
    ratio = round(peer_ms / ours_ms, 2) if ours_ms and peer_ms else None
    found = {
        "method": method,
        "peer": peer,
        "setting": setting,
        "images": images,
        "ours_ms": ours_ms,
        "peer_ms": peer_ms,
        "ratio": ratio,
        "forward_ratio": None if forward_ratio is None else round(forward_ratio, 2),
        "timing": timing,
    }
    return {**found, "note": note} if note else found  # the docs' table shows notes if any


def _has_layer(name: str) -> bool:
    """Whether a method explains at a layer (the CAM family) rather than at the input."""
    from saliency_widgets.methods import METHODS

    return "layer" in METHODS[name].params


def _per_image(record: dict) -> float | None:
    if record["status"] != "ok" or not record["median_s"] or not record["work"]:
        return None
    return record["median_s"] / record["work"]


def _paired(ours: dict, theirs: dict) -> float | None:
    """The peer's time over ours, each as a multiple of its own forward pass (same batch)."""
    if ours["status"] != "ok" or theirs["status"] != "ok":
        return None
    if not ours["ratio"] or not theirs["ratio"] or ours["batch"] != theirs["batch"]:
        return None
    return theirs["ratio"] / ours["ratio"]


def case_rows(document: dict, model: str = "shapes") -> list[dict]:
    """Rows of ``run.py``'s method cases: ours (``ours-auto``) against each peer that has one.

    A peer whose adapter says it has no such method is left out; one that failed is kept, with
    its error as the note.
    """
    records = [r for r in document["records"] if r["model"] == model]
    by_key = {(r["contender"], r["case"]): r for r in records}
    sizes = document["models"][model]["sizes"]
    timing = (
        f"run.py: median of up to {sizes['repeats']} warm runs of one batch of "
        f"{sizes['method_batch']}, each library in its own process"
    )
    rows = []
    for case, params in config.METHOD_CASES.items():
        ours = by_key.get((config.REFERENCE, case))
        if ours is None:
            continue
        setting = ", ".join(
            ["top-1", *(["the model's last 4-D layer"] if _has_layer(case) else [])]
            + [f"{k}={v}" for k, v in params.items()]
        )
        for peer in PEERS:
            theirs = by_key.get((peer, case))
            if theirs is None or theirs["status"] in ("unsupported", "skipped"):
                continue
            version = theirs["versions"].get(
                {"tf-keras-vis": "tf-keras-vis", "xplique": "xplique"}.get(peer, "grad-cam"), ""
            )
            rows.append(
                row(
                    _label(case),
                    f"{peer} {version}".strip(),
                    setting,
                    theirs["work"] or sizes["method_batch"],
                    _per_image(ours),
                    _per_image(theirs),
                    timing,
                    "" if theirs["status"] == "ok" else f"{theirs['status']}: {theirs['note']}",
                    _paired(ours, theirs),
                )
            )
    return rows


def agreement_rows(stem: str, methods: dict[str, str], document: dict) -> list[dict]:
    """Rows of an agreement script's results: those that carry both sides' seconds."""
    timing = (
        f"agreement/{stem.removeprefix('agreement-')}.py: one warm call of each side "
        "(tracing excluded); ours batched"
    )
    rows = []
    for item in document["rows"]:
        seconds = item.get("seconds") or {}
        if "ours" not in seconds or "reference" not in seconds:
            continue
        name = next((n for prefix, n in methods.items() if item["method"].startswith(prefix)), None)
        if name is None:
            continue
        setting = item["method"].removeprefix(name).strip(" ()")
        rows.append(
            row(
                _label(name),
                item["reference"],
                setting,
                document["images"],
                seconds["ours"],
                seconds["reference"],
                timing,
            )
        )
    return rows


def markdown(doc: dict) -> str:
    """The ``methods-speed.md`` report."""
    m = doc["machine"]
    lines = [
        "# Methods: time per image, ours and the peer's",
        "",
        f"{doc['model']}. {m['date']}, commit {m['commit']}{' (dirty)' if m['dirty'] else ''}, "
        f"{m['cpu']}, {m['cpus']} CPUs. Ratio: the peer's time over ours (above 1: ours faster); "
        "paired: the same, each time first divided by a forward pass timed beside it.",
        "",
        "Load average (1, 5, 15 min) before and after each part:",
        "",
    ]
    lines += [
        f"- {part['part']}: {part['before']} -> {part['after']}" for part in doc["load_average"]
    ]
    table = [
        ["method", "peer", "setting", "ours ms/image", "peer ms/image", "peer / ours", "paired"]
    ]
    for r in doc["records"]:
        table.append(
            [
                r["method"],
                r["peer"],
                r["setting"],
                "—" if r["ours_ms"] is None else f"{r['ours_ms']:.1f}",
                "—" if r["peer_ms"] is None else f"{r['peer_ms']:.1f}",
                "—" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                "—" if r["forward_ratio"] is None else f"{r['forward_ratio']:.2f}×",
            ]
        )
    lines += ["", results.markdown_table(table), ""]
    timings = sorted({r["timing"] for r in doc["records"]})
    lines += [f"- {t}" for t in timings]
    lines += [f"- {r['method']} / {r['peer']}: {r['note']}" for r in doc["records"] if "note" in r]
    return "\n".join(lines) + "\n"


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, help="a run.py result holding the method cases")
    parser.add_argument(
        "--reuse-agreement",
        action="store_true",
        help="read the agreement scripts' saved times instead of running them",
    )
    parser.add_argument("--images", type=int, default=8, help="agreement scripts' images")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--name", default="methods-speed")
    args = parser.parse_args(argv)

    info = machine.machine_info()
    loads = []
    before = _load()
    if args.cases is None:
        import run

        cases = run.main(
            [
                "--plan",
                "cpu",
                "--models",
                "shapes",
                "--contenders",
                ",".join((config.REFERENCE, *PEERS)),
                "--cases",
                ",".join(config.METHOD_CASES),
                "--out",
                str(args.out),
                "--name",
                f"{args.name}-cases",
                "--no-install",
            ]
        )
        source = f"python benchmarks/run.py (written as {args.name}-cases.json)"
        path = args.out / f"{args.name}-cases.json"
        cases["load_average_after"] = _load()
        path.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    else:
        cases = json.loads(args.cases.read_text())
        source = f"{cases['command']} ({cases['machine']['date']})"
        info, before = cases["machine"], cases["machine"]["load_average"]
    # run.py records the load when it starts; the one when it ends is kept beside it.
    cases.setdefault("load_average_after", _load())
    loads.append(
        {"part": "run.py method cases", "before": before, "after": cases["load_average_after"]}
    )
    sources = {"run.py method cases": source}
    records = case_rows(cases)

    for script, (stem, methods) in AGREEMENT.items():
        path = RESULTS / f"{stem}.json"
        if not args.reuse_agreement:
            from agreement import lrp, paths

            started, before = time.strftime("%Y-%m-%dT%H:%M:%S%z"), _load()
            {"paths": paths, "lrp": lrp}[script].main(["--images", str(args.images)])
            document = json.loads(path.read_text())
            # When and under what load the times were taken, for a later --reuse-agreement.
            document["timed"] = {"date": started, "load_average": [before, _load()]}
            path.write_text(json.dumps(document, indent=2) + "\n")
            sources[script] = f"python benchmarks/agreement/{script}.py"
        else:
            document = json.loads(path.read_text())
            sources[script] = f"saved times of benchmarks/results/{stem}.json"
        timed = document.get("timed", {"date": "not recorded", "load_average": [None, None]})
        sources[script] += f" ({timed['date']})"
        loads.append(
            {
                "part": f"agreement/{script}.py",
                "before": timed["load_average"][0],
                "after": timed["load_average"][1],
            }
        )
        records += agreement_rows(stem, methods, document)

    doc = {
        "machine": info,
        "load_average": loads,
        "model": "bundled shapes CNN (64×64), top-1 class",
        "sources": sources,
        "records": records,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    )
    (args.out / f"{args.name}.md").write_text(markdown(doc))
    print(markdown(doc))
    return doc


if __name__ == "__main__":
    main()
