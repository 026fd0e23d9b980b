"""benchmarks/widget_latency.py: it starts from anywhere, and its arithmetic is right.

The benchmark itself drives JupyterLab in chromium and prints figures (never asserted); here,
its script is started as a user would from a clean clone (it once failed at its first import),
its breakdowns are checked on synthetic timestamps, and its kernel-side wrappers on a widget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
SCRIPT = BENCHMARKS / "widget_latency.py"
sys.path.insert(0, str(BENCHMARKS))

from latency import analysis  # noqa: E402


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_script_starts_and_parses_its_arguments_from_outside_the_repository(tmp_path):
    done = _run([str(SCRIPT), "--help"], tmp_path)
    assert done.returncode == 0, done.stderr
    for option in (
        "--trials",
        "--uncached",
        "--quick",
        "--skip-224",
        "--model",
        "--out",
        "--render",
    ):
        assert option in done.stdout
    refused = _run([str(SCRIPT), "--trials", "0"], tmp_path)
    assert refused.returncode == 2
    assert "--trials, --uncached and --images must be at least 1" in refused.stderr


def test_quick_sets_small_counts_and_its_own_results_file():
    sys.path.insert(0, str(BENCHMARKS))
    import widget_latency

    quick = widget_latency.parse_args(["--quick"])
    assert (quick.trials, quick.uncached, quick.images) == (5, 3, 2)
    assert quick.out == BENCHMARKS / "results" / "widget-latency-quick"
    full = widget_latency.parse_args(["--trials", "30"])
    assert (full.trials, full.out.name) == (30, "widget-latency")


def test_stats_are_numpy_percentiles_and_ignore_missing_values():
    found = analysis.stats([10.0, None, 20.0, 30.0, 40.0, 50.0])
    assert found == {"n": 5, "p50": 30.0, "p90": 46.0, "mean": 30.0, "min": 10.0, "max": 50.0}
    assert analysis.stats([None])["p90"] is None


def _mark(name: str, t: float, end: float | None = None, thread: str = "worker", **fields):
    return {"name": name, "t": t, "end": t if end is None else end, "thread": thread, **fields}


def test_an_uncached_click_splits_into_engine_and_the_rest_segment_by_segment():
    page = {
        "click": 1000.0,
        "selectionSent": 1002.0,
        "mapsReceived": 1105.0,
        "shown": 1111.0,
        "frame": 1118.0,
        "painted": 1125.0,
    }
    marks = [
        _mark("job", 990, 999, image=4, background=False),  # before the click: not this one
        _mark("selection", 1010, 1011, thread="main", widget="w"),
        _mark("job", 1013, 1100, image=7, background=True),  # a prefetch
        _mark("job", 1012, 1099, image=4, background=False),
        _mark("explain", 1016, 1091),
        _mark("send", 1095, 1097, widget="w", kind="maps", image=4),
    ]
    trial = analysis.uncached(page, marks, "w", image=4)
    assert (trial["total"], trial["engine"], trial["rest"]) == (118.0, 75.0, 43.0)
    assert list(trial["segments"].values()) == [2.0, 8.0, 2.0, 4.0, 75.0, 4.0, 2.0, 8.0, 6.0, 7.0]
    assert sum(trial["segments"].values()) == trial["total"]
    summary = analysis.uncached_summary([trial, {**trial, "total": 218.0, "rest": 143.0}])
    assert summary["rest"]["p50"] == 93.0


def test_the_cold_start_timeline_is_counted_from_the_cell_run():
    page = {
        "run": 5000.0,
        "commOpen": 5400.0,
        "output": 6100.0,
        "root": 6180.0,
        "imageSent": 6190.0,
        "imageReceived": 6230.0,
        "wantSent": 6195.0,
        "mapsReceived": 6240.0,
        "predictionsReceived": 5700.0,
        "shown": 6250.0,
        "frame": 6260.0,
    }
    marks = [
        _mark("cell_start", 5020, thread="main"),
        _mark("constructor", 5021, 5390, thread="main"),
        _mark("startup", 5395, 5690),
        _mark("predict_pictures", 5396, 5680),
        _mark("job", 5691, 5900, image=0, background=False),
        _mark("explain", 5692, 5890),
        _mark("send", 5895, 5896, widget="w", kind="maps", image=0),
        _mark("send", 5897, 5898, widget="other", kind="maps", image=0),
        _mark("mimebundle", 5391, 6090, thread="main"),
        _mark("snapshot_html", 5900, 6089, thread="main"),
    ]
    found = analysis.cold_start(page, marks, "w")
    assert found["total_ms"] == 1260.0
    segments = found["segments"]
    assert segments["constructor"] == 369.0
    assert segments["first maps: engine, incl. tracing"] == 198.0
    assert segments["static fallback (snapshot_html)"] == 189.0
    assert segments["front end: output received -> first map on screen"] == 160.0
    timeline = {label: (start, end) for label, start, end in found["timeline"]}
    assert timeline["kernel: first maps sent"] == (895.0, 896.0)
    assert timeline["page: next frame"] == (1260.0, 1260.0)
    assert [row[1] for row in found["timeline"]] == sorted(row[1] for row in found["timeline"])


@pytest.mark.slow
def test_the_kernel_marks_time_a_widget_without_changing_it(tmp_path):
    """The wrappers record the constructor, the start-up pass, each job and engine call, and the
    bytes of every message; the widget still sends the same 64 x 64 int8 maps."""
    code = textwrap.dedent(
        f"""
        import json, sys
        sys.path[:0] = [{str(REPO)!r}, {str(BENCHMARKS)!r}]  # this checkout's package
        from latency import kernel_marks
        kernel_marks.install()
        kernel_marks.install()  # idempotent: nothing is wrapped twice
        import saliency_widgets
        from saliency_widgets import zoo
        from saliency_widgets.widget import SaliencyWidget
        from saliency_widgets.widget.testing import View
        samples = zoo.load_samples(3)
        widget = SaliencyWidget(zoo.load_shapes_model(), samples.images, preprocess=zoo.preprocess,
                                prefetch=False)
        view = View(widget)
        widget.wait(300)
        view.click(image=2)
        widget.wait(300)
        maps = view.messages("maps")
        print(json.dumps({{"marks": kernel_marks.MARKS, "model_id": widget.model_id,
                          "package": saliency_widgets.__file__,
                          "sent": [[len(b) for b in buffers] for _, buffers in maps],
                          "maps": view.maps(2, "gradients")[maps[-1][0]["classes"][0]].shape}}))
        """
    )
    done = _run(["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["package"]).is_relative_to(REPO)
    names = [m["name"] for m in found["marks"]]
    assert names.count("constructor") == 1 and names.count("startup") == 1
    jobs = [m for m in found["marks"] if m["name"] == "job"]
    assert [(j["image"], j["background"]) for j in jobs] == [(0, False), (2, False)]
    explains = [m for m in found["marks"] if m["name"] == "explain"]
    assert [(e["classes"], e["input_shape"]) for e in explains] == [(6, [64, 64, 3])] * 2
    for job, explain in zip(jobs, explains, strict=True):
        assert job["t"] <= explain["t"] <= explain["end"] <= job["end"]
    sends = [m for m in found["marks"] if m["name"] == "send" and m["kind"] == "maps"]
    assert [s["widget"] for s in sends] == [found["model_id"]] * 2
    assert [s["buffer_bytes"] for s in sends] == found["sent"]
    assert all(s["buffer_bytes"] == [s["classes"] * 64 * 64] for s in sends)
    assert found["maps"] == [64, 64]
