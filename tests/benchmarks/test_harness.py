"""The benchmark harness's own logic: normalisation, records, goals, environments, reports.

No timing is asserted: the figures are the benchmark's output, not its tests.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from contenders.base import Adapter, noise_sigma  # noqa: E402
from harness import compare, config, report, results, timing, venvs  # noqa: E402

# ---------------------------------------------------------------- normalisation and differences


def test_canonical_takes_max_abs_over_channels_then_min_max_per_map():
    grads = np.zeros((1, 1, 2, 2, 3))
    grads[0, 0, 0, 0] = [1.0, -3.0, 2.0]  # max |.| = 3
    grads[0, 0, 0, 1] = [1.0, 1.0, 1.0]  # 1
    grads[0, 0, 1, 0] = [-2.0, 0.0, 0.0]  # 2
    grads[0, 0, 1, 1] = [0.5, 0.0, -1.0]  # 1
    out = compare.canonical(grads)
    assert out.shape == (1, 1, 2, 2)
    np.testing.assert_allclose(out[0, 0], [[1.0, 0.0], [0.5, 0.0]])


def test_canonical_scales_each_map_on_its_own_and_zeroes_constant_maps():
    maps = np.stack([np.arange(4.0).reshape(2, 2), 10 + 2 * np.arange(4.0).reshape(2, 2)])
    maps = np.stack([maps, np.full((2, 2, 2), 7.0)])  # (N=2, K=2, 2, 2)
    out = compare.canonical(maps)
    np.testing.assert_allclose(out[0, 0], [[0, 1 / 3], [2 / 3, 1]])
    np.testing.assert_allclose(out[0, 1], out[0, 0])  # affine rescaling does not matter
    assert not out[1].any() and np.isfinite(out).all()


def test_canonical_undoes_tf_keras_vis_epsilon_normalisation_of_tiny_gradients():
    # tf-keras-vis divides by (max - min + 1e-7): with random-weight models' 1e-8 gradients its
    # maps are far from [0, 1], yet they are an affine function of the true ones.
    rng = np.random.default_rng(0)
    grads = 1e-8 * rng.random((3, 1, 5, 5))
    theirs = (grads - grads.min(axis=(2, 3), keepdims=True)) / (
        np.ptp(grads, axis=(2, 3), keepdims=True) + 1e-7
    )
    assert theirs.max() < 0.2
    max_diff, mean_diff = compare.differences(theirs, grads)
    assert max_diff < 1e-9 and mean_diff < 1e-10


def test_differences_compare_the_images_both_cover():
    ours = np.zeros((4, 1, 2, 2))
    ours[:, 0, 0, 0] = 1.0
    theirs = ours[:2].copy()
    theirs[1, 0, 1, 1] = 0.5  # one pixel at half the range
    max_diff, mean_diff = compare.differences(theirs, ours)
    assert max_diff == pytest.approx(0.5)
    assert mean_diff == pytest.approx(0.5 / 8)


def test_differences_refuse_maps_of_different_sizes_and_bad_ranks():
    with pytest.raises(ValueError, match="cannot compare"):
        compare.differences(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="maps must be"):
        compare.canonical(np.ones((2, 2)))


# ---------------------------------------------------------------- records and goals


def _record(contender, case, median_s, forward_s=0.1, work=32, model="m", **kw):
    return results.record(
        model=model,
        contender=contender,
        case=case,
        status="ok",
        batch=32,
        median_s=median_s,
        runs_s=[median_s] * 5,
        first_s=2 * median_s,
        forward_s=forward_s,
        work=work,
        images=kw.pop("images", 32),
        **kw,
    )


def test_ratio_is_time_per_batch_over_forward_pass():
    assert results.ratio(0.3, 0.1) == pytest.approx(3.0)
    assert results.ratio(3.2, 0.1, batches=32) == pytest.approx(1.0)
    assert results.ratio(None, 0.1) is None
    assert results.ratio(0.3, 0.0) is None


def test_record_derives_ratio_and_throughput():
    item = _record("ours-auto", "vanilla", 0.25, forward_s=0.1, work=32)
    assert item["ratio"] == pytest.approx(2.5)
    assert item["maps_per_s"] == pytest.approx(128.0)
    stream = _record("ours-auto", "stream", 8.0, forward_s=0.1, work=1024, images=1024)
    assert stream["ratio"] == pytest.approx(8.0 / 32 / 0.1)  # per batch of 32
    assert stream["maps_per_s"] == pytest.approx(128.0)
    results.validate(item)
    results.validate(stream)
    json.dumps(item)  # JSON-serialisable as it is


def test_paired_ratios_give_the_median_ratio():
    item = results.record(
        model="m",
        contender="c",
        case="vanilla",
        status="ok",
        batch=8,
        median_s=0.5,
        runs_s=[0.4, 0.5, 0.9],
        forward_s=0.2,
        forward_min_s=0.1,
        ratios=[2.0, 2.2, 3.0],  # the load drifted: raw medians would say 0.5 / 0.2 = 2.5
        work=8,
    )
    assert item["ratio"] == 2.2
    assert item["min_ratio"] == pytest.approx(4.0)  # fastest run over fastest forward


def test_speedup_compares_ratios_not_raw_times():
    ours = _record("ours-auto", "vanilla", 0.2, forward_s=0.1)  # ran on a busy machine: 2×
    theirs = _record("xplique", "vanilla", 0.15, forward_s=0.05)  # faster in ms, but 3×
    assert results.speedup(ours, theirs) == pytest.approx(1.5)
    assert results.speedup(ours, None) is None


def test_min_ratio_uses_the_fastest_runs_of_both():
    item = results.record(
        model="m",
        contender="c",
        case="vanilla",
        status="ok",
        batch=8,
        median_s=0.5,
        runs_s=[0.5, 0.3, 0.9],
        forward_s=0.2,
        forward_min_s=0.1,
        work=8,
    )
    assert item["min_s"] == 0.3
    assert item["min_ratio"] == pytest.approx(3.0)
    assert item["ratio"] == pytest.approx(2.5)


def test_record_and_validate_reject_malformed_records():
    with pytest.raises(ValueError, match="status"):
        results.record(model="m", contender="c", case="vanilla", status="great", batch=1)
    with pytest.raises(ValueError, match="case"):
        results.record(model="m", contender="c", case="fast", status="ok", batch=1)
    item = _record("ours-auto", "vanilla", 0.2)
    with pytest.raises(ValueError, match="missing"):
        results.validate({k: v for k, v in item.items() if k != "ratio"})
    with pytest.raises(ValueError, match="median_s"):
        results.validate({**item, "median_s": "fast"})
    with pytest.raises(ValueError, match="not finite"):
        results.validate({**item, "max_diff": float("nan")})


def _statuses(goals):
    return {g["goal"].split(": ", 1)[1]: (g["status"], g["detail"]) for g in goals}


def test_goals_judge_ratios_smoothgrad_share_and_speedups():
    records = [
        _record("ours-auto", "vanilla", 0.20),  # 2.0× forward
        _record("ours-auto", "classes", 0.50, work=160),  # 5.0× forward
        _record("ours-auto", "smoothgrad", 3.30),  # 3.3 / (16 × 0.2) = 1.03
        _record("ours-auto", "stream", 6.4, work=1024, images=1024),  # 160 maps/s
        _record("tf-keras-vis", "vanilla", 0.50),  # 2.5× slower
        _record("tf-keras-vis", "classes", 0.80, work=160),  # 1.6× slower
        _record("tf-keras-vis", "stream", 6.4, work=1024, images=1024),  # as fast
        _record("xplique", "vanilla", 0.10),  # twice as fast as ours
    ]
    goals = _statuses(results.goals(records, ["m"], {"m": 16}))
    assert goals["vanilla ≤ 2.2× forward"] == ("met", "2.00×")
    # One forward and 5 backward passes that each cost what vanilla's did (2.0 - 1): 6.00×.
    assert goals["classes ≤ 4.5× forward"] == (
        "missed",
        "5.00× (K=5 separate backward passes at this run's vanilla cost: 6.00×)",
    )
    assert goals["SmoothGrad n=16 within 5% of 16 vanilla calls"] == ("met", "1.03×")
    assert goals["vanilla ≥ 2× faster than tf-keras-vis"] == ("met", "2.5×")
    assert goals["classes ≥ 2× faster than tf-keras-vis"] == ("missed", "1.6×")
    assert goals["smoothgrad ≥ 2× faster than tf-keras-vis"][0] == "n/a"
    assert goals["stream ≥ 2× faster than tf-keras-vis"] == ("missed", "1.0×")
    status, detail = goals["no contender faster than ours"]
    assert status == "missed" and detail == "xplique/vanilla 2.00×"


def test_goals_are_not_applicable_without_figures():
    broken = results.record(
        model="m", contender="ours-auto", case="vanilla", status="error", batch=8, note="boom"
    )
    goals = _statuses(results.goals([broken], ["m"]))
    assert goals["vanilla ≤ 2.2× forward"] == ("n/a", "not measured")
    assert goals["no contender faster than ours"][0] == "n/a"


# ---------------------------------------------------------------- tables and report


def test_markdown_and_text_tables():
    rows = [["a", "b"], ["x|y", "1"], ["long cell", "22"]]
    md = results.markdown_table(rows).splitlines()
    assert md == ["| a | b |", "|---|---|", "| x\\|y | 1 |", "| long cell | 22 |"]
    text = results.text_table(rows).splitlines()
    assert text[0] == "a          b" and text[2] == "long cell  22"


def test_summary_cells_show_milliseconds_ratio_and_throughput():
    records = [
        _record("ours-auto", "vanilla", 0.25),
        _record("ours-auto", "stream", 8.0, work=1024, images=1024),
        results.record(
            model="m", contender="xplique", case="vanilla", status="error", batch=32, note="x"
        ),
    ]
    rows = results.summary_table(records, "m")
    assert rows[0] == ["contender", *config.GRADIENT_CASES]  # method cases only when run
    assert rows[1] == ["ours-auto", "250.0 ms (2.5×)", "", "", "128/s (2.5×)"]
    assert rows[2][:2] == ["xplique", "error"]
    records.append(_record("ours-auto", "rise", 2.0))
    rows = results.summary_table(records, "m")
    assert rows[0] == ["contender", *config.GRADIENT_CASES, "rise"]
    assert rows[1][-1] == "2,000 ms (20.0×)"


def test_report_document_and_markdown():
    records = [_record("ours-auto", "vanilla", 0.25), _record("tf-keras-vis", "vanilla", 0.6)]
    records[1]["versions"] = {"tf-keras-vis": "0.8.7"}
    machine = {
        "date": "2026-01-01T00:00:00+00:00",
        "platform": "Linux",
        "python": "3.11",
        "cpu": "CPU",
        "cpus": 2,
        "memory_gib": 24.0,
        "gpus": [],
        "load_average": [1.0, 1.0, 1.0],
        "commit": "abc",
        "dirty": False,
    }
    sizes = {"batch": 32, "classes": 5, "samples": 16, "stream": 1024, "repeats": 5}
    doc = report.document(
        machine=machine,
        plan="cpu",
        command="python benchmarks/run.py",
        duration_s=61.0,
        environments={"xplique": {"status": "installed --no-deps", "detail": "why"}},
        models={"m": {"label": "Model M", "note": "random weights", "sizes": sizes}},
        records=records,
        goals=results.goals(records, ["m"]),
    )
    assert doc["schema"] == results.SCHEMA_VERSION and len(doc["records"]) == 2
    text = report.markdown(json.loads(json.dumps(doc)))
    assert "## Model M" in text and "installed --no-deps" in text
    assert "| ours-auto | 250.0 ms (2.5×) |" in text
    assert "| vanilla ≥ 2× faster than tf-keras-vis | met | 2.4× |" in text
    assert "tf-keras-vis 0.8.7" in text
    with pytest.raises(ValueError):
        report.document(**{**doc_kwargs(machine, sizes), "records": [{"bad": 1}]})


def doc_kwargs(machine, sizes):
    return {
        "machine": machine,
        "plan": "cpu",
        "command": "c",
        "duration_s": 1.0,
        "environments": {},
        "models": {"m": {"label": "M", "note": "", "sizes": sizes}},
        "goals": [],
    }


# ---------------------------------------------------------------- plans and command line


def test_cpu_plan_skips_are_explained_and_keep_the_reference_cases():
    for model in config.SIZES["cpu"]:
        for case in ("vanilla", "classes", "stream"):
            assert config.skip_reason("cpu", model, config.REFERENCE, case) is None
    for contender in config.CONTENDERS:
        assert config.skip_reason("cpu", "resnet50v2", contender, "smoothgrad")
    assert "time" in config.skip_reason("cpu", "resnet50v2", "tf-keras-vis", "smoothgrad")
    assert config.skip_reason("cpu", "shapes", "ours-jit", "smoothgrad") is None
    assert "identical" in config.skip_reason("cpu", "resnet50v2", "ours-nojit", "vanilla")
    assert all(
        config.skip_reason(plan, m, c, case) is None
        for plan in ("issue", "quick")
        for m in config.SIZES[plan]
        for c in config.CONTENDERS
        for case in config.CASES
    )


def _run_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmarks_run", BENCHMARKS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_command_line_defaults_and_errors():
    run = _run_module()
    quick = run.parse_args(["--quick"])
    assert (quick.plan, quick.name, quick.models) == ("quick", "quick", ["shapes"])
    assert quick.contenders == list(config.QUICK_CONTENDERS)
    assert quick.out.parent == Path(tempfile.gettempdir())  # a smoke check is not kept
    full = run.parse_args(["--contenders", "xplique"])
    assert full.plan == "cpu" and full.name == "latest"
    assert full.out == BENCHMARKS / "results"
    assert full.contenders == [config.REFERENCE, "xplique"]  # the reference always runs
    assert full.models == ["shapes", "mobilenetv2", "resnet50v2"]
    with pytest.raises(SystemExit):
        run.parse_args(["--quick", "--models", "resnet50v2"])  # not in the quick plan


# ---------------------------------------------------------------- environments


def test_requirements_file_has_one_section_per_contender_venv():
    sections = venvs.parse_sections((BENCHMARKS / "requirements.txt").read_text())
    import agreement  # benchmarks/method_agreement.py's references have sections too

    # zennit: the reference of benchmarks/agreement/lrp.py (on the same PyTorch port)
    references = {c.reference for group in agreement.groups().values() for c in group} | {"zennit"}
    wanted = ({c.venv for c in config.CONTENDERS.values()} | references) - {"project"}
    assert set(sections) == wanted
    for requirements in sections.values():
        assert "tensorflow-cpu==2.21.0" in [r.line for r in requirements]
    markers = {r.line: r.marker for r in sections["xplique"]}
    assert markers["xplique==2.0.2"] == "no-deps-fallback"
    assert markers["tf-keras==2.21.0"] == "no-deps"
    torch = {r.line: r.marker for r in sections["pytorch-grad-cam"]}
    assert torch["torch==2.13.0"] == "cpu-only"


def test_a_cpu_only_line_that_would_bring_cuda_fails_before_installing(tmp_path, monkeypatch):
    python = venvs.python_of(tmp_path / "torchy")
    python.parent.mkdir(parents=True)
    python.touch()  # an existing virtualenv: nothing is created
    installs = []
    monkeypatch.setattr(
        venvs, "_dry_run", lambda python, lines: (None, ["nvidia-cublas-cu12==12.9"])
    )
    monkeypatch.setattr(venvs, "_install", lambda *args: installs.append(args))
    requirements = venvs.parse_sections("# [torchy]\ntorch==2.13.0  # cpu-only\n")["torchy"]
    result = venvs.ensure("torchy", requirements, tmp_path)
    assert result.status == "failed" and installs == []
    assert "torch==2.13.0 would bring CUDA wheels (nvidia-cublas-cu12==12.9)" in result.detail
    # A CPU build resolves without CUDA wheels: the section installs.
    monkeypatch.setattr(venvs, "_dry_run", lambda python, lines: (None, []))
    assert venvs.ensure("torchy", requirements, tmp_path).status == "installed"
    assert installs and installs[0][1] == ["torch==2.13.0"]


def test_parse_sections_errors():
    with pytest.raises(ValueError, match="outside a section"):
        venvs.parse_sections("numpy\n# [a]\n")
    with pytest.raises(ValueError, match="twice"):
        venvs.parse_sections("# [a]\nnumpy\n# [a]\nscipy\n")


def _report(*pairs):
    return {"install": [{"metadata": {"name": n, "version": v}} for n, v in pairs]}


def test_conflicts_spot_another_tensorflow_and_cuda_wheels():
    pinned = ["tensorflow-cpu==2.21.0", "xplique==2.0.2"]
    fine = _report(("tensorflow-cpu", "2.21.0"), ("tf-keras-vis", "0.8.7"), ("scipy", "1.15"))
    assert venvs.conflicts(fine, pinned) == []
    # With tensorflow-cpu already installed, pip lists only what it adds: TF 2.20 and CUDA.
    clash = _report(("xplique", "2.0.2"), ("tensorflow", "2.20.0"), ("nvidia-cublas-cu12", "12.9"))
    assert venvs.conflicts(clash, pinned) == ["tensorflow==2.20.0", "nvidia-cublas-cu12==12.9"]
    downgrade = _report(("Tensorflow_CPU", "2.20.0"))
    assert venvs.conflicts(downgrade, pinned) == ["tensorflow-cpu==2.20.0"]
    gpu = _report(("tensorflow", "2.21.0"), ("nvidia-cudnn-cu12", "9"))
    assert venvs.conflicts(gpu, ["tensorflow[and-cuda]==2.21.0"], cuda=True) == []


def test_digest_changes_with_lines_and_markers():
    a = [venvs.Requirement("xplique==2.0.2", "no-deps-fallback")]
    b = [venvs.Requirement("xplique==2.0.2", "no-deps")]
    assert venvs.digest(a) == venvs.digest(list(a)) and venvs.digest(a) != venvs.digest(b)


# ---------------------------------------------------------------- timing and adapters


def test_measure_counts_first_call_apart_and_stops_at_budget():
    calls = []
    out = timing.measure(lambda: calls.append(1), repeats=5)
    assert len(calls) == 6 and len(out.runs_s) == 5
    assert out.median_s == sorted(out.runs_s)[2]
    slow = timing.measure(lambda: time.sleep(0.002), repeats=50, budget_s=0.0)
    assert len(slow.runs_s) == 3  # at least three warm runs are kept


def test_measure_paired_alternates_reference_and_function():
    calls = []
    ours, reference = timing.measure_paired(
        lambda: calls.append("f"), lambda: calls.append("r"), repeats=3
    )
    assert calls == ["f", "r", "f", "r", "f", "r", "f"]
    assert len(ours.runs_s) == len(reference.runs_s) == 3


def test_peak_rss_is_positive_megabytes():
    timing.reset_peak_rss()
    assert 1 < timing.peak_rss_mib() < 1e6


class _Constant(Adapter):
    """Maps whose value is the class index: shows how the default cases assemble them."""

    def vanilla(self, x, top1):
        return np.broadcast_to(top1[:, None, None, None], (len(x), 1, *x.shape[1:3])).copy()


def test_default_classes_stack_one_vanilla_call_per_class():
    x = np.zeros((2, 4, 4, 3), np.float32)
    maps = _Constant(None, None, "").classes(x, np.array([[1, 2, 3], [4, 5, 6]]))
    assert maps.shape == (2, 3, 4, 4)
    assert maps[:, :, 0, 0].tolist() == [[1, 2, 3], [4, 5, 6]]


def test_default_stream_batches_and_stops_at_the_deadline():
    x = np.zeros((10, 4, 4, 3), np.float32)
    top1 = np.arange(10)
    adapter = _Constant(None, None, "")
    everything = adapter.stream(x, top1, batch=4, deadline=time.perf_counter() + 60)
    assert everything[:, 0, 0, 0].tolist() == list(range(10))
    first_batch = adapter.stream(x, top1, batch=4, deadline=0.0)
    assert len(first_batch) == 4  # one batch always runs


def test_noise_sigma_is_a_fraction_of_each_image_range():
    x = np.stack([np.full((2, 2, 3), 0.0), np.full((2, 2, 3), 0.0)]).astype(np.float32)
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 2.0, -4.0
    np.testing.assert_allclose(noise_sigma(x, 0.15).ravel(), [0.3, 0.6])


# ---------------------------------------------------------------- one worker job, in process


@pytest.fixture
def job_dir(tmp_path):
    from builders import small_cnn
    from harness import models

    model = small_cnn(classes=6, activation="softmax")
    models.save(model, tmp_path / "model.keras")
    x = np.random.default_rng(1).normal(size=(6, 12, 12, 3)).astype(np.float32)
    topk = np.argsort(-model.predict(x, verbose=0), axis=1)[:, :3].astype(np.int32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "topk.npy", topk)
    return tmp_path


def test_logits_model_is_the_same_model_without_its_softmax(job_dir):
    import keras
    from harness import models

    model = models.load(job_dir / "model.keras")
    x = np.load(job_dir / "x.npy")
    logits = np.asarray(models.logits_model(model)(x))
    np.testing.assert_allclose(keras.ops.softmax(logits), model(x), atol=1e-6)
    assert model.layers[-1].get_config()["activation"] == "softmax"  # not modified


def _job(directory, contender):
    spec = config.CONTENDERS[contender]
    sizes = config.Sizes(batch=4, classes=3, samples=2, stream=6, repeats=1, method_batch=3)
    job = {
        "dir": str(directory),
        "model": "tiny",
        "contender": contender,
        "module": spec.module,
        "mode": spec.mode,
        "cases": list(config.CASES),
        "sizes": vars(sizes),
    }
    from harness import worker

    return worker.run_job(job)


def test_worker_runs_every_case_and_tapes_match_the_engine(job_dir):
    ours = _job(job_dir, "ours-auto")
    tape = _job(job_dir, "tape-function")
    assert [r["status"] for r in ours] == ["ok"] * len(config.CASES)  # the methods too
    assert {r["case"]: r["status"] for r in tape} == {
        case: "ok" if case in config.GRADIENT_CASES else "unsupported" for case in config.CASES
    }
    for item in ours + tape:
        results.validate(item)
        if item["status"] == "ok":
            assert item["ratio"] > 0 and item["peak_rss_mib"] > 0
    assert np.load(job_dir / "maps-ours-auto-rise.npy").shape == (3, 1, 12, 12)
    assert np.load(job_dir / "maps-ours-auto-layercam.npy").shape[:2] == (3, 1)
    by_case = {r["case"]: r for r in ours}
    assert by_case["classes"]["work"] == 4 * 3 and by_case["stream"]["images"] == 6
    assert by_case["rise"]["images"] == by_case["rise"]["work"] == 3  # method_batch, not batch
    for case in ("vanilla", "classes", "stream"):
        a = np.load(job_dir / f"maps-tape-function-{case}.npy")
        b = np.load(job_dir / f"maps-ours-auto-{case}.npy")
        max_diff, _ = compare.differences(a, b)
        assert max_diff < 1e-4, case
    assert np.load(job_dir / "maps-ours-auto-classes.npy").shape == (4, 3, 12, 12)


def test_ratio_chart_draws_one_bar_per_measured_contender_and_case():
    from harness import chart

    records = [
        _record("ours-auto", "vanilla", 0.2),
        _record("ours-auto", "classes", 0.6, work=160),
        _record("xplique", "vanilla", 0.3),
    ]
    doc = {"records": records, "models": {"m": {"label": "Model M"}}}
    figure = chart.ratio_chart(doc, "m")
    axes = figure.axes[0]
    heights = [patch.get_height() for patch in axes.patches]
    assert heights[:2] == pytest.approx([2.0, 6.0])  # ours: vanilla, classes
    assert heights[2] == pytest.approx(3.0) and np.isnan(heights[3])  # xplique: no classes
    assert [t.get_text() for t in axes.get_xticklabels()] == ["vanilla", "classes"]
    assert axes.get_title() == "Model M"
