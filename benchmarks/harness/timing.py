"""Wall-clock timing and peak memory of one process.

Timings are medians of warm runs (the first call, which traces and compiles, is reported apart);
peak memory is the process's high-water mark of resident memory, reset between cases where the
kernel allows it (``/proc/self/clear_refs``), otherwise ``getrusage``'s lifetime maximum.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Timing:
    """Times of one function: the first call and the warm runs after it (seconds)."""

    first_s: float
    runs_s: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        """Median of the warm runs (the first call when there is none)."""
        return statistics.median(self.runs_s) if self.runs_s else self.first_s


def measure(fn: Callable[[], object], repeats: int, *, budget_s: float | None = None) -> Timing:
    """Times ``fn()``: one first call, then ``repeats`` warm runs.

    Args:
        fn: A function that blocks until its result is ready (returns numpy, not a lazy tensor).
        repeats: Number of warm runs (at least 1).
        budget_s: Stop adding warm runs once they have taken this long in total (at least
            ``min(repeats, 3)`` runs are kept), so slow cases fit the run's time.

    Returns:
        The :class:`Timing`.
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    runs: list[float] = []
    for i in range(max(1, repeats)):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
        if budget_s is not None and i + 1 >= min(repeats, 3) and sum(runs) > budget_s:
            break
    return Timing(first, runs)


def measure_paired(
    fn: Callable[[], object],
    reference: Callable[[], object],
    repeats: int,
    *,
    budget_s: float | None = None,
) -> tuple[Timing, Timing]:
    """Times ``fn()`` against ``reference()`` (a forward pass), alternating their warm runs.

    On a shared machine the load drifts during a run; alternating the two keeps their ratio
    honest where timing them one after the other would not.

    Args:
        fn: The function of interest; its first call is timed apart.
        reference: The reference function, already warm.
        repeats: Warm runs of each (at least 1).
        budget_s: Stop once ``fn``'s warm runs have taken this long (at least
            ``min(repeats, 3)`` are kept).

    Returns:
        ``(timing of fn, timing of reference)``.
    """
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    ours: list[float] = []
    theirs: list[float] = []
    for i in range(max(1, repeats)):
        start = time.perf_counter()
        reference()
        theirs.append(time.perf_counter() - start)
        start = time.perf_counter()
        fn()
        ours.append(time.perf_counter() - start)
        if budget_s is not None and i + 1 >= min(repeats, 3) and sum(ours) > budget_s:
            break
    return Timing(first, ours), Timing(theirs[0], theirs)


def reset_peak_rss() -> bool:
    """Resets the process's resident-memory high-water mark (Linux ≥ 4.0).

    Returns:
        Whether it was reset; when not, :func:`peak_rss_mib` reports the lifetime peak.
    """
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """Peak resident memory of this process since the last reset, in MiB.

    Returns:
        ``VmHWM`` from ``/proc/self/status`` when readable, else ``getrusage``'s ``ru_maxrss``.
    """
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
