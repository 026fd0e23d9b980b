"""Result records, the goals they are judged against, and the printed/markdown reports.

A record is a flat dict (one contender, one model, one case) so that the JSON stays easy to read
and to plot; :data:`FIELDS` is its schema.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence

from harness.config import CASES, CONTENDERS, GRADIENT_CASES, REFERENCE

SCHEMA_VERSION = 1

FIELDS: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "contender": (str,),
    "case": (str,),
    "status": (str,),
    "batch": (int,),
    "images": (int, type(None)),
    "work": (int, type(None)),
    "median_s": (float, type(None)),
    "min_s": (float, type(None)),
    "runs_s": (list,),
    "first_s": (float, type(None)),
    "forward_s": (float, type(None)),
    "ratio": (float, type(None)),
    "min_ratio": (float, type(None)),
    "maps_per_s": (float, type(None)),
    "peak_rss_mib": (float, type(None)),
    "max_diff": (float, type(None)),
    "mean_diff": (float, type(None)),
    "versions": (dict,),
    "note": (str,),
}
"""Every record has exactly these keys, with values of these types."""

STATUSES = ("ok", "unsupported", "skipped", "error", "not-installed")


def ratio(median_s: float | None, forward_s: float | None, batches: float = 1.0) -> float | None:
    """Time per batch as a multiple of one forward pass of the same batch.

    Args:
        median_s: Time of the case.
        forward_s: Time of one forward pass of one batch.
        batches: How many batches the case processed (a stream processes several).

    Returns:
        ``median_s / batches / forward_s``, or ``None`` when a time is missing or not positive.
    """
    if not median_s or not forward_s or median_s <= 0 or forward_s <= 0 or batches <= 0:
        return None
    return median_s / batches / forward_s


def record(
    *,
    model: str,
    contender: str,
    case: str,
    status: str,
    batch: int,
    median_s: float | None = None,
    runs_s: Sequence[float] = (),
    first_s: float | None = None,
    forward_s: float | None = None,
    forward_min_s: float | None = None,
    ratios: Sequence[float] = (),
    work: int | None = None,
    images: int | None = None,
    versions: dict | None = None,
    note: str = "",
) -> dict:
    """Builds a result record, deriving the ratio to the forward pass and the throughput.

    Args:
        model: Model name.
        contender: Contender name.
        case: A key of :data:`harness.config.CASES`.
        status: One of :data:`STATUSES`.
        batch: Batch size of the case.
        median_s: Median of the warm runs (the single timed pass of a stream).
        runs_s: Every warm run.
        first_s: First call (trace/compile included).
        forward_s: Forward pass of one batch, in the same process (median).
        forward_min_s: The fastest forward pass; ``min_ratio`` is the fastest run over it (the
            two runs least disturbed by other processes).
        ratios: Per-run ratios to a forward pass timed right before each run. When given,
            ``ratio`` is their median: on a shared machine whose load drifts, adjacent pairs
            compare like with like.
        work: Maps produced per run (images × classes).
        images: Images per run.
        versions: Library versions where it ran.
        note: Why a case did not run, or what to know about it.

    Returns:
        The record (see :data:`FIELDS`); ``max_diff``/``mean_diff`` are filled in later.

    Raises:
        ValueError: For an unknown status or case.
    """
    if status not in STATUSES:
        raise ValueError(f"status={status!r}: expected one of {STATUSES}")
    if case not in CASES:
        raise ValueError(f"case={case!r}: expected one of {tuple(CASES)}")
    batches = (images / batch) if (case == "stream" and images) else 1.0
    maps_per_s = work / median_s if work and median_s and median_s > 0 else None
    min_s = min(runs_s) if runs_s else None
    return {
        "model": model,
        "contender": contender,
        "case": case,
        "status": status,
        "batch": int(batch),
        "images": None if images is None else int(images),
        "work": None if work is None else int(work),
        "median_s": None if median_s is None else float(median_s),
        "min_s": None if min_s is None else float(min_s),
        "runs_s": [float(r) for r in runs_s],
        "first_s": None if first_s is None else float(first_s),
        "forward_s": None if forward_s is None else float(forward_s),
        "ratio": statistics.median(ratios) if ratios else ratio(median_s, forward_s, batches),
        "min_ratio": ratio(min_s, forward_min_s, batches),
        "maps_per_s": maps_per_s,
        "peak_rss_mib": None,
        "max_diff": None,
        "mean_diff": None,
        "versions": dict(versions or {}),
        "note": note,
    }


def validate(item: dict) -> None:
    """Checks a record against :data:`FIELDS`.

    Args:
        item: A record.

    Raises:
        ValueError: If a key is missing or extra, a value has the wrong type, or a number is not
            finite.
    """
    if set(item) != set(FIELDS):
        missing, extra = set(FIELDS) - set(item), set(item) - set(FIELDS)
        raise ValueError(f"record keys differ: missing {sorted(missing)}, extra {sorted(extra)}")
    for key, types in FIELDS.items():
        value = item[key]
        if not isinstance(value, types) or isinstance(value, bool):
            raise ValueError(f"record[{key!r}] = {value!r}: expected {types}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"record[{key!r}] is not finite")
    if item["status"] not in STATUSES:
        raise ValueError(f"record status {item['status']!r} unknown")


def find(records: Iterable[dict], model: str, contender: str, case: str) -> dict | None:
    """The record of one (model, contender, case), or ``None``."""
    for item in records:
        if (item["model"], item["contender"], item["case"]) == (model, contender, case):
            return item
    return None


def _ok(item: dict | None) -> bool:
    return item is not None and item["status"] == "ok" and item["median_s"] is not None


def speedup(ours: dict | None, other: dict | None) -> float | None:
    """How many times faster ours is than another contender on the same case.

    Compared as ratios to each process's own forward pass of the same batch (the forward pass is
    the same computation everywhere, so it calibrates each process for the load it ran under);
    per batch for streams, so a contender that stopped its stream early compares fairly.

    Args:
        ours: Our record.
        other: The other contender's record of the same model and case.

    Returns:
        ``other.ratio / ours.ratio``, or ``None`` when either is missing.
    """
    if not (_ok(ours) and _ok(other)) or not ours["ratio"] or not other["ratio"]:
        return None
    return other["ratio"] / ours["ratio"]


def _goal(name: str, status: str, detail: str) -> dict:
    return {"goal": name, "status": status, "detail": detail}


def _classes_floor(classes: dict, vanilla: dict | None) -> str:
    """The K-class case's floor set by this run's vanilla ratio, as a note for its goal.

    K maps need one forward pass and K backward passes; a vanilla map (one of each) costs
    ``r`` forward passes, so a backward pass costs ``r - 1`` and K classes at least about
    ``1 + K (r - 1)`` unless the K backward passes can be batched into fewer.
    """
    if not _ok(vanilla) or not vanilla.get("ratio") or not classes.get("batch"):
        return ""
    k = classes["work"] // classes["batch"]
    floor = 1 + k * (vanilla["ratio"] - 1)
    return f" (K={k} separate backward passes at this run's vanilla cost: {floor:.2f}×)"


def goals(
    records: Sequence[dict], models: Sequence[str], samples: dict[str, int] | None = None
) -> list[dict]:
    """Judges the issue's goals on a run's records (reported, never asserted).

    Args:
        records: Every record of the run.
        models: The models of the run.
        samples: SmoothGrad samples per model (for "within 5% of n vanilla calls").

    Returns:
        One ``{"goal", "status", "detail"}`` per goal and model; ``status`` is ``"met"``,
        ``"missed"`` or ``"n/a"`` (the figures needed are missing).
    """
    out = []
    for model in models:
        for case, limit in (("vanilla", 2.2), ("classes", 4.5)):
            item = find(records, model, REFERENCE, case)
            name = f"{model}: {case} ≤ {limit}× forward"
            if _ok(item) and item["ratio"] is not None:
                met = item["ratio"] <= limit
                detail = f"{item['ratio']:.2f}×"
                if case == "classes":
                    detail += _classes_floor(item, find(records, model, REFERENCE, "vanilla"))
                out.append(_goal(name, "met" if met else "missed", detail))
            else:
                out.append(_goal(name, "n/a", "not measured"))

        vanilla = find(records, model, REFERENCE, "vanilla")
        smooth = find(records, model, REFERENCE, "smoothgrad")
        n = (samples or {}).get(model, 16)
        name = f"{model}: SmoothGrad n={n} within 5% of {n} vanilla calls"
        if _ok(vanilla) and _ok(smooth) and vanilla["ratio"] and smooth["ratio"]:
            share = smooth["ratio"] / (n * vanilla["ratio"])
            out.append(_goal(name, "met" if share <= 1.05 else "missed", f"{share:.2f}×"))
        else:
            out.append(_goal(name, "n/a", smooth["note"] if smooth else "not measured"))

        for case in GRADIENT_CASES:
            ours = find(records, model, REFERENCE, case)
            other = find(records, model, "tf-keras-vis", case)
            name = f"{model}: {case} ≥ 2× faster than tf-keras-vis"
            factor = speedup(ours, other)
            if factor is None:
                out.append(_goal(name, "n/a", "not measured on both"))
            else:
                out.append(_goal(name, "met" if factor >= 2 else "missed", f"{factor:.1f}×"))

        faster = []
        compared = 0
        for case in GRADIENT_CASES:
            ours = find(records, model, REFERENCE, case)
            for contender in CONTENDERS:
                if contender.startswith("ours"):
                    continue
                factor = speedup(ours, find(records, model, contender, case))
                if factor is None:
                    continue
                compared += 1
                if factor < 1:
                    faster.append(f"{contender}/{case} {1 / factor:.2f}×")
        name = f"{model}: no contender faster than ours"
        if compared == 0:
            out.append(_goal(name, "n/a", "nothing to compare"))
        else:
            detail = ", ".join(faster) if faster else f"{compared} comparisons"
            out.append(_goal(name, "missed" if faster else "met", detail))
    return out


def _ms(seconds: float | None) -> str:
    return (
        "–"
        if seconds is None
        else f"{1e3 * seconds:,.0f}"
        if seconds >= 1
        else f"{1e3 * seconds:.1f}"
    )


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def one_line(item: dict) -> str:
    """A one-line summary of a record (progress output)."""
    head = f"{item['model']:<12} {item['contender']:<14} {item['case']:<10}"
    if item["status"] != "ok":
        return f"{head} {item['status']}: {item['note']}"
    return (
        f"{head} "
        f"{_ms(item['median_s']):>8} ms  {_num(item['ratio'], '.2f'):>6}× fwd  "
        f"{_num(item['maps_per_s'], ',.0f'):>7} maps/s  first {_ms(item['first_s'])} ms"
    )


def _cell(item: dict | None) -> str:
    if item is None:
        return ""
    if item["status"] != "ok":
        return item["status"]
    if item["case"] == "stream":
        return f"{item['maps_per_s']:,.0f}/s ({_num(item['ratio'], '.1f')}×)"
    return f"{_ms(item['median_s'])} ms ({_num(item['ratio'], '.1f')}×)"


def summary_table(records: Sequence[dict], model: str) -> list[list[str]]:
    """Rows (header first) of the per-model summary: one row per contender, one column per case.

    Cells read ``median ms (× forward)``; the stream column is throughput in maps/s.
    """
    contenders = [
        c for c in CONTENDERS if any(r["contender"] == c and r["model"] == model for r in records)
    ]
    # The gradient cases always, the method cases when they were run on this model.
    cases = [
        case
        for case in CASES
        if case in GRADIENT_CASES or any(r["case"] == case and r["model"] == model for r in records)
    ]
    rows = [["contender", *cases]]
    for name in contenders:
        rows.append([name, *(_cell(find(records, model, name, case)) for case in cases)])
    return rows


def detail_table(records: Sequence[dict], model: str) -> list[list[str]]:
    """Rows (header first) with every figure of every record of one model."""
    rows = [
        [
            "contender",
            "case",
            "median ms",
            "× fwd",
            "× fwd (min)",
            "first call ms",
            "maps/s",
            "peak RSS MiB",
            "max diff",
            "runs",
            "note",
        ]
    ]
    for item in records:
        if item["model"] != model:
            continue
        rows.append(
            [
                item["contender"],
                item["case"],
                _ms(item["median_s"]),
                _num(item["ratio"], ".2f"),
                _num(item["min_ratio"], ".2f"),
                _ms(item["first_s"]),
                _num(item["maps_per_s"], ",.0f"),
                _num(item["peak_rss_mib"], ",.0f"),
                _num(item["max_diff"], ".1e"),
                str(len(item["runs_s"])),
                item["note"] if item["status"] == "ok" else f"{item['status']}: {item['note']}",
            ]
        )
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table from rows (header first); ``|`` in cells escaped."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(rows[0]), "|" + "---|" * len(rows[0]), *(line(r) for r in rows[1:])])


def text_table(rows: list[list[str]]) -> str:
    """A fixed-width text table from rows (header first), for the terminal."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
