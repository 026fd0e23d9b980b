"""Our engine against tf-keras-vis, Xplique, PAIR saliency and hand-written tapes, side by side.

One command::

    python benchmarks/run.py            # full run (about a quarter of an hour on 2 CPU cores)
    python benchmarks/run.py --quick    # smoke check of the whole pipeline, under a minute

Each contender library gets its own virtualenv (``benchmarks/.venvs/<name>``, created from the
sections of ``benchmarks/requirements.txt``; ``--quick`` installs nothing and uses those that
exist). Every (model, contender) pair runs in its own process on the same saved model and images;
see :mod:`harness.worker` for what is measured. The table is printed and written as JSON and
markdown (``benchmarks/results/latest.json`` and ``latest.md``) with the machine, the library
versions and the date. ``BENCHMARK_REQUIREMENTS`` and ``BENCHMARK_VENVS`` name another
requirements file and virtualenv folder (``benchmarks/gpu.sh`` uses them for GPU builds).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from harness import compare, config, machine, report, results, venvs  # noqa: E402
from harness.models import MODELS  # noqa: E402
from tqdm.auto import tqdm  # noqa: E402

WORKER = HERE / "harness" / "worker.py"
IMPORTS = {
    "tf-keras-vis": "tf_keras_vis",
    "xplique": "xplique",
    "pair-saliency": "saliency.core",
    "pytorch-grad-cam": "torch",  # pytorch_grad_cam needs harness.torch_port's import
}
"""The module whose import proves a contender's environment works."""
WORKER_TIMEOUT_S = 1800


def _run(command: list[str], log: Path, timeout: float) -> int:
    """Runs a worker, echoing its progress lines (stdout) and logging its stderr."""
    with log.open("w") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        for line in process.stdout:
            tqdm.write("  " + line.rstrip())
            if time.monotonic() > deadline:
                process.kill()
                break
        return process.wait()


def _tail(log: Path) -> str:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _failed(model: str, contender: str, cases: list[str], batch: int, status: str, note: str):
    return [
        results.record(
            model=model, contender=contender, case=c, status=status, batch=batch, note=note
        )
        for c in cases
    ]


def _add_differences(records: list[dict], directory: Path) -> None:
    """Fills ``max_diff``/``mean_diff`` of each record from the saved maps, against ours."""
    for item in records:
        if item["status"] != "ok":
            continue
        path = directory / f"maps-{item['contender']}-{item['case']}.npy"
        reference = directory / f"maps-{config.REFERENCE}-{item['case']}.npy"
        if not path.exists() or not reference.exists():
            continue
        try:
            item["max_diff"], item["mean_diff"] = compare.differences(
                np.load(path), np.load(reference)
            )
        except ValueError as error:
            item["note"] = (item["note"] + f"; cannot compare maps: {error}").strip("; ")
        if item["case"] == "smoothgrad" and item["contender"] != config.REFERENCE:
            item["note"] = (item["note"] + "; different noise draws").strip("; ")


def _run_contender(
    args: argparse.Namespace,
    model: str,
    sizes: config.Sizes,
    contender: config.Contender,
    env: dict,
    directory: Path,
) -> list[dict]:
    """Runs one contender's cases on one model in its own process; returns its records."""
    if env["status"] in ("not-installed", "failed"):
        status = "not-installed" if env["status"] == "not-installed" else "error"
        return _failed(model, contender.name, args.cases, sizes.batch, status, env["detail"])
    records = []
    cases = []
    for case in args.cases:
        reason = config.skip_reason(args.plan, model, contender.name, case)
        if reason is None:
            cases.append(case)
        else:
            records += _failed(model, contender.name, [case], sizes.batch, "skipped", reason)
    if not cases:
        return records
    job = {
        "dir": str(directory),
        "model": model,
        "contender": contender.name,
        "module": contender.module,
        "mode": contender.mode,
        "cases": cases,
        "sizes": asdict(sizes),
    }
    job_path = directory / f"job-{contender.name}.json"
    job_path.write_text(json.dumps(job))
    log = directory / f"worker-{contender.name}.log"
    command = [env["python"], str(WORKER), "run", "--job", str(job_path)]
    code = _run(command, log, WORKER_TIMEOUT_S)
    result = directory / f"result-{contender.name}.json"
    if code == 0 and result.exists():
        return records + json.loads(result.read_text())
    note = f"worker exited {code}: {_tail(log)}"
    return records + _failed(model, contender.name, cases, sizes.batch, "error", note)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke check in under a minute")
    parser.add_argument("--plan", choices=sorted(config.SIZES), help="size plan (default: cpu)")
    parser.add_argument("--models", help=f"comma-separated, from {sorted(MODELS)}")
    parser.add_argument("--contenders", help=f"comma-separated, from {list(config.CONTENDERS)}")
    parser.add_argument("--cases", help=f"comma-separated, from {list(config.CASES)}")
    parser.add_argument("--no-install", action="store_true", help="use existing venvs only")
    parser.add_argument(
        "--out",
        type=Path,
        help="results folder (default: benchmarks/results; --quick: a temporary folder, since a "
        "smoke check's figures are not worth keeping)",
    )
    parser.add_argument("--name", help="results file stem (default: latest, quick: quick)")
    args = parser.parse_args(argv)
    args.plan = args.plan or ("quick" if args.quick else "cpu")
    plan_models = list(config.SIZES[args.plan])
    args.models = args.models.split(",") if args.models else plan_models
    default_contenders = config.QUICK_CONTENDERS if args.quick else tuple(config.CONTENDERS)
    args.contenders = args.contenders.split(",") if args.contenders else list(default_contenders)
    if config.REFERENCE not in args.contenders:
        args.contenders.insert(0, config.REFERENCE)
    default_cases = config.QUICK_CASES if args.quick else tuple(config.CASES)
    args.cases = args.cases.split(",") if args.cases else list(default_cases)
    args.name = args.name or ("quick" if args.quick else "latest")
    if args.out is None:
        quick_out = Path(tempfile.gettempdir()) / "saliency-widgets-benchmarks"
        args.out = quick_out if args.quick else HERE / "results"
    for kind, chosen, known in (
        ("model", args.models, config.SIZES[args.plan]),
        ("contender", args.contenders, config.CONTENDERS),
        ("case", args.cases, config.CASES),
    ):
        unknown = [c for c in chosen if c not in known]
        if unknown:
            parser.error(
                f"unknown {kind}(s) {unknown} for plan {args.plan}: expected {list(known)}"
            )
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    start = time.perf_counter()
    info = machine.machine_info()
    contenders = [config.CONTENDERS[name] for name in args.contenders]
    needed = sorted({c.venv for c in contenders} - {"project"})
    requirements = Path(os.environ.get("BENCHMARK_REQUIREMENTS", HERE / "requirements.txt"))
    venv_root = Path(os.environ.get("BENCHMARK_VENVS", HERE / ".venvs"))
    environments = venvs.environments(
        needed, not (args.quick or args.no_install), venv_root, requirements, IMPORTS
    )
    records: list[dict] = []
    models_info: dict[str, dict] = {}
    jobs = [(m, c) for m in args.models for c in contenders]
    with (
        tempfile.TemporaryDirectory(prefix="saliency-bench-") as tmp,
        tqdm(total=len(jobs), desc="benchmark", unit="job", disable=None) as bar,
    ):
        for model in args.models:
            sizes = config.sizes_for(args.plan, model)
            directory = Path(tmp) / model
            directory.mkdir()
            bar.set_postfix_str(f"{model}: preparing")
            prepare = [
                sys.executable,
                str(WORKER),
                "prepare",
                "--model",
                model,
                "--dir",
                str(directory),
                "--count",
                str(max(sizes.batch, sizes.stream)),
                "--classes",
                str(sizes.classes),
            ]
            if _run(prepare, directory / "prepare.log", WORKER_TIMEOUT_S) != 0:
                raise SystemExit(f"preparing {model} failed: {_tail(directory / 'prepare.log')}")
            meta = json.loads((directory / "meta.json").read_text())
            models_info[model] = {
                "label": MODELS[model].label,
                "note": meta["note"],
                "sizes": asdict(sizes),
            }
            model_records: list[dict] = []
            for contender in contenders:
                bar.set_postfix_str(f"{model}: {contender.name}")
                env = environments[contender.venv]
                model_records += _run_contender(args, model, sizes, contender, env, directory)
                bar.update()
            order = {name: i for i, name in enumerate(config.CONTENDERS)}
            cases = list(config.CASES)
            model_records.sort(key=lambda r: (order[r["contender"]], cases.index(r["case"])))
            _add_differences(model_records, directory)
            records += model_records

    samples = {m: config.sizes_for(args.plan, m).samples for m in args.models}
    goals = results.goals(records, args.models, samples)
    doc = report.document(
        machine=info,
        plan=args.plan,
        command=shlex.join(
            ["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        duration_s=time.perf_counter() - start,
        environments={
            k: {"status": v["status"], "detail": v.get("detail", "")}
            for k, v in environments.items()
        },
        models=models_info,
        records=records,
        goals=goals,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    )
    (args.out / f"{args.name}.md").write_text(report.markdown(doc))
    for model in args.models:
        print(f"\n{models_info[model]['label']} — median ms (× forward); stream in maps/s")
        print(results.text_table(results.summary_table(records, model)))
    print("\nGoals")
    print(
        results.text_table(
            [["goal", "status", "figure"]] + [[g["goal"], g["status"], g["detail"]] for g in goals]
        )
    )
    print(f"\nwrote {args.out / (args.name + '.json')} and .md in {doc['duration_s']:.0f} s")
    return doc


if __name__ == "__main__":
    main()
