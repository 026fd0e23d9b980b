"""The methods' speed table: rows from run.py's method cases and the agreement scripts' times.

No peer virtualenv is needed and nothing is timed: the documents are made up.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import methods_speed  # noqa: E402
from harness import config, results  # noqa: E402


def _record(
    contender: str,
    case: str,
    status: str = "ok",
    median_s: float = 0.08,
    forward_s: float = 0.02,
    **fields,
):
    if status != "ok":
        return results.record(
            model="shapes", contender=contender, case=case, status=status, batch=32, **fields
        )
    return results.record(
        model="shapes",
        contender=contender,
        case=case,
        status=status,
        batch=32,
        median_s=median_s,
        runs_s=[median_s],
        forward_s=forward_s,
        work=8,
        images=8,
        **fields,
    )


def _cases_document() -> dict:
    records = [
        _record("ours-auto", "layercam", median_s=0.08),
        _record(
            "tf-keras-vis",
            "layercam",
            median_s=0.4,
            forward_s=0.04,  # its process ran on a busier machine
            versions={"tf-keras-vis": "0.8.7"},
        ),
        _record("pytorch-grad-cam", "layercam", median_s=0.16, versions={"grad-cam": "1.5.5"}),
        _record("xplique", "layercam", "unsupported", note="Xplique has no layercam"),
        _record("ours-auto", "rise", median_s=1.6),
        _record("xplique", "rise", "error", note="ValueError: boom"),
        _record("ours-auto", "vanilla"),  # a gradient case: not a method row
        _record("tf-keras-vis", "vanilla"),
    ]
    sizes = vars(config.sizes_for("cpu", "shapes"))
    return {"records": records, "models": {"shapes": {"sizes": sizes}}}


def test_case_rows_put_each_peer_beside_ours_in_milliseconds_per_image():
    rows = methods_speed.case_rows(_cases_document())
    assert [(r["method"], r["peer"]) for r in rows] == [
        ("LayerCAM", "tf-keras-vis 0.8.7"),
        ("LayerCAM", "pytorch-grad-cam 1.5.5"),
        ("RISE", "xplique"),
    ]
    keras_vis, torch_cam, rise = rows
    assert keras_vis["ours_ms"] == 10.0 and keras_vis["peer_ms"] == 50.0
    assert keras_vis["ratio"] == 5.0  # the peer's time over ours: above 1, ours faster
    assert (
        keras_vis["forward_ratio"] == 2.5
    )  # each over its own forward pass: (0.4/0.04)/(0.08/0.02)
    assert torch_cam["ratio"] == 2.0 and torch_cam["images"] == 8
    assert rise["setting"] == "top-1, samples=500"  # no layer: RISE explains the input
    assert keras_vis["setting"] == "top-1, the model's last 4-D layer"
    assert rise["peer_ms"] is None and rise["ratio"] is None and rise["forward_ratio"] is None
    assert rise["note"] == "error: ValueError: boom"  # a failure is shown, not dropped
    assert set(keras_vis) == set(methods_speed.COLUMNS)  # a note only where there is one


def test_agreement_rows_keep_the_rows_with_both_times_and_name_the_method():
    document = {
        "images": 8,
        "rows": [
            {
                "method": "guided_integrated_gradients (steps 200, fraction 0.25, max_dist 0.02)",
                "reference": "PAIR saliency 0.2.1 GuidedIG",
                "seconds": {"ours": 0.5, "reference": 2.0},
            },
            {
                "method": "xrai segmentation and ranking (same base attribution)",
                "reference": "PAIR saliency 0.2.1 XRAI(base_attribution=ours)",
                "seconds": {},
            },
        ],
    }
    stem, methods = methods_speed.AGREEMENT["paths"]
    (only,) = methods_speed.agreement_rows(stem, methods, document)
    assert only["method"] == "Guided Integrated Gradients"
    assert only["setting"] == "steps 200, fraction 0.25, max_dist 0.02"
    assert (only["ours_ms"], only["peer_ms"], only["ratio"]) == (500.0, 2000.0, 4.0)
    assert only["forward_ratio"] is None  # the agreement scripts time no forward pass
    assert only["timing"].startswith("agreement/paths.py")

    stem, methods = methods_speed.AGREEMENT["lrp"]
    lrp = {
        "images": 8,
        "rows": [
            {
                "method": "lrp rule='zplus'",
                "reference": "zennit 0.5.1 ZPlus on every layer",
                "seconds": {"ours": 0.01, "reference": 0.8},
            }
        ],
    }
    (row,) = methods_speed.agreement_rows(stem, methods, lrp)
    assert (row["method"], row["setting"], row["ratio"]) == ("LRP", "rule='zplus'", 80.0)


def test_markdown_states_the_machine_load_and_each_timing_path():
    doc = {
        "machine": {"date": "2026-12-02", "commit": "abc", "dirty": False, "cpu": "x", "cpus": 2},
        "load_average": [{"part": "run.py method cases", "before": [2.0], "after": [3.0]}],
        "model": "bundled shapes CNN",
        "records": methods_speed.case_rows(_cases_document()),
    }
    text = methods_speed.markdown(doc)
    assert "run.py method cases: [2.0] -> [3.0]" in text
    assert "| LayerCAM | tf-keras-vis 0.8.7 |" in text and "| 5.00× | 2.50× |" in text
    assert "| RISE | xplique |" in text and "error: ValueError: boom" in text
    assert text.count("run.py: median of up to") == 1
