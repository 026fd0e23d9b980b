"""A bar chart of a run's results, for the documentation's "Performance" page.

The docs build renders ``benchmarks/results/latest.json`` with :func:`ratio_chart`; the
benchmark itself never runs at docs build.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from harness import results
from harness.config import CASES, CONTENDERS


def ratio_chart(doc: dict, model: str) -> Any:
    """Grouped bars: each contender's time as a multiple of a forward pass, per case.

    Args:
        doc: A run document (``latest.json``).
        model: The model to draw.

    Returns:
        A matplotlib ``Figure`` (log-scale y axis; missing figures are left out). The caller
        closes it.
    """
    from matplotlib.figure import Figure

    records = [r for r in doc["records"] if r["model"] == model and r["status"] == "ok"]
    contenders = [c for c in CONTENDERS if any(r["contender"] == c for r in records)]
    cases = [c for c in CASES if any(r["case"] == c for r in records)]
    figure = Figure(figsize=(1.6 + 1.5 * len(cases), 3.4), layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / max(len(contenders), 1)
    for i, contender in enumerate(contenders):
        heights = []
        for case in cases:
            item = results.find(records, model, contender, case)
            heights.append(item["ratio"] if item and item["ratio"] else np.nan)
        positions = np.arange(len(cases)) + (i - (len(contenders) - 1) / 2) * width
        axes.bar(positions, heights, width, label=contender)
    axes.set_xticks(np.arange(len(cases)), cases)
    axes.set_yscale("log")
    axes.set_ylabel("time / forward pass")
    axes.set_title(doc["models"].get(model, {}).get("label", model))
    axes.legend(fontsize="small", ncols=2)
    return figure
