"""The run's report: the JSON document and its markdown rendering."""

from __future__ import annotations

from collections.abc import Sequence

from harness import results
from harness.config import CASES, CONTENDERS

NOTES = """\
How to read this: each cell is the median of the warm runs and, in brackets, that time as a
multiple of one forward pass of the same batch in the same process (the physical floor of a
vanilla gradient is about 2×). The stream column is throughput (maps/s) over a stream of images
in batches; the first call, which traces and compiles, is reported apart. Every contender runs
in its own process (and its own virtualenv), on the same saved weights and images. "max diff" is
the largest difference between the contender's maps and ours after the same normalisation (max
over channels of |gradient|, then per-map min-max); about 1e-5 means the same computation.
SmoothGrad maps differ by their random noise. Peak RSS is the process's resident-memory
high-water mark during the case (reset between cases), model and TensorFlow included."""


def document(
    *,
    machine: dict,
    plan: str,
    command: str,
    duration_s: float,
    environments: dict,
    models: dict,
    records: list[dict],
    goals: list[dict],
) -> dict:
    """The JSON document of a run (``benchmarks/results/latest.json``).

    Args:
        machine: :func:`harness.machine.machine_info`.
        plan: The size plan's name.
        command: The command line.
        duration_s: Wall time of the whole run.
        environments: Install outcome per virtualenv.
        models: Per model: label, note, sizes.
        records: Every result record.
        goals: :func:`harness.results.goals`.

    Returns:
        The document; records are validated first.
    """
    for item in records:
        results.validate(item)
    return {
        "schema": results.SCHEMA_VERSION,
        "machine": machine,
        "plan": plan,
        "command": command,
        "duration_s": round(duration_s, 1),
        "environments": environments,
        "models": models,
        "contenders": {c.name: c.label for c in CONTENDERS.values()},
        "cases": CASES,
        "records": records,
        "goals": goals,
    }


def _versions(records: Sequence[dict]) -> list[list[str]]:
    rows = [["contender", "versions"]]
    seen = set()
    for item in records:
        if item["versions"] and item["contender"] not in seen:
            seen.add(item["contender"])
            text = ", ".join(f"{k} {v}" for k, v in item["versions"].items())
            rows.append([item["contender"], text])
    return rows


def markdown(doc: dict) -> str:
    """The markdown report (``benchmarks/results/latest.md``) of a run document."""
    m = doc["machine"]
    gpu = ", ".join(m["gpus"]) or "none"
    lines = [
        "# Benchmark results",
        "",
        f"`{doc['command']}` — plan `{doc['plan']}`, {doc['duration_s'] / 60:.1f} min, "
        f"{m['date']}, commit {m['commit']}{' (dirty)' if m['dirty'] else ''}.",
        "",
        f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, GPU: {gpu}; "
        f"{m['platform']}, Python {m['python']}; load average at start "
        f"{', '.join(str(v) for v in m['load_average'])}.",
        "",
        NOTES,
        "",
        "## Environments",
        "",
    ]
    env_rows = [["environment", "status", "detail"]]
    for name, env in doc["environments"].items():
        env_rows.append([name, env["status"], env.get("detail", "")])
    lines += [
        results.markdown_table(env_rows),
        "",
        results.markdown_table(_versions(doc["records"])),
    ]
    for model, info in doc["models"].items():
        sizes = info["sizes"]
        lines += [
            "",
            f"## {info['label']}",
            "",
            f"{info['note']}. Batch {sizes['batch']}, K={sizes['classes']}, SmoothGrad "
            f"n={sizes['samples']}, stream of {sizes['stream']} images, {sizes['repeats']} warm "
            "runs per case.",
            "",
            results.markdown_table(results.summary_table(doc["records"], model)),
            "",
        ]
        goal_rows = [["goal", "status", "figure"]]
        goal_rows += [
            [g["goal"].split(": ", 1)[1], g["status"], g["detail"]]
            for g in doc["goals"]
            if g["goal"].startswith(f"{model}: ")
        ]
        lines += [results.markdown_table(goal_rows), "", "<details><summary>All figures</summary>"]
        lines += ["", results.markdown_table(results.detail_table(doc["records"], model)), ""]
        lines += ["</details>"]
    return "\n".join(lines) + "\n"
