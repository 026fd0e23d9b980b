"""The command line: ``saliency-widgets render`` (the directive's twin) and ``demo``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from builders import small_cnn
from PIL import Image

from saliency_widgets import cli, grid

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "model.keras"
    small_cnn(activation="softmax").save(model)
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        pixels = rng.integers(0, 255, (12, 12, 3)).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"p{i}.png")
    return model, folder


def test_render_writes_the_same_png_as_the_grid_module(inputs, tmp_path, capsys):
    model, folder = inputs
    out = tmp_path / "out" / "grid.png"
    status = cli.main(
        [
            "render",
            "--model",
            str(model),
            "--images",
            str(folder / "p*.png"),
            "--classes",
            "top-2",
            "--class-names",
            "a,b,c,d,e",
            "--panels",
            "image,map,overlay",
            "--overlay",
            "0.8",
            "--blend",
            "mask",
            "--clip",
            "95",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "explained 4 images x 2 class(es) with Vanilla gradient in " in printed
    assert str(out.resolve()) in printed
    options = grid.GridOptions.from_strings(
        {
            "classes": "top-2",
            "panels": "image,map,overlay",
            "overlay": "0.8",
            "blend": "mask",
            "clip": "95",
        }
    )
    assert (options.blend, options.clip) == ("mask", 95.0)
    expected, _ = grid.make_grid(
        model=model, images=str(folder / "p*.png"), options=options, class_names="a,b,c,d,e"
    )
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(_png(expected))))
    assert not list(out.parent.glob(".*tmp"))  # written atomically, nothing left behind


def _png(data: bytes):
    import io

    return io.BytesIO(data)


def test_render_accepts_several_files_and_method_params(inputs, tmp_path):
    model, folder = inputs
    out = tmp_path / "grid.png"
    files = [str(p) for p in sorted(folder.glob("*.png"))[:2]]
    status = cli.main(
        [
            *("render", "--model", str(model), "--images", *files, "--out", str(out)),
            *("--method", "smoothgrad", "--params", "samples=3, noise=0.2", "--cols", "1"),
        ]
    )
    assert status == 0
    # 2 images, one per row, image + overlay: 2 x 2 panels of 1.6 inches at 100 dpi.
    assert Image.open(out).size == (320, 358)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--images", "nothing/*.png"], "no image matches 'nothing/*.png'"),
        (["--classes", "seven"], "classes: 'seven' is a name but no class names were given"),
        (["--method", "magic"], "method: method='magic'"),
        (
            ["--params", "steps=4"],
            "params: gradients() got unexpected parameter steps; it accepts reduce",
        ),
        (["--overlay", "2"], "overlay: alpha must be in [0, 1], got 2.0"),
        (["--blend", "add"], "blend: 'add'; expected one of heat, mask, mask-image"),
    ],
)
def test_render_errors_are_one_line_and_status_1(inputs, tmp_path, capsys, extra, message):
    model, folder = inputs
    out = tmp_path / "grid.png"
    args = ["render", "--model", str(model), "--images", str(folder / "*.png"), "--out", str(out)]
    status = cli.main(args + extra)
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith("saliency-widgets render: error: ")
    assert message in captured.err
    assert captured.err.count("\n") == 1
    assert not out.exists()


def test_render_requires_model_images_and_out(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["render", "--model", "m.keras"])
    assert exit_info.value.code == 2
    assert "--images" in capsys.readouterr().err


def test_demo_still_writes_its_grid(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert cli.main(["demo", "--out", str(out), "--count", "3"]) == 0
    assert "explained 3 images in " in capsys.readouterr().out
    assert Image.open(out).format == "PNG"


def test_the_installed_command_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "saliency_widgets.cli", "render", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "--class-names" in result.stdout


# TensorFlow's C++ log lines: "I0000 00:00:1795805474.815877   28811 cpu_feature_guard.cc:227] ...".
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ \S+:\d+\]")


def test_the_command_prints_no_tensorflow_log_noise(tmp_path):
    out = tmp_path / "grid.png"
    zoo = "saliency_widgets.zoo"
    command = [
        *(sys.executable, "-m", "saliency_widgets.cli", "render"),
        *("--model", f"{zoo}:load_shapes_model", "--images", f"{zoo}:load_samples(2)"),
        *("--preprocess", f"{zoo}:preprocess", "--class-names", f"{zoo}:class_names"),
        *("--out", str(out)),
    ]
    # tests/conftest.py exports TF_CPP_MIN_LOG_LEVEL for this process: the CLI must set it itself.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "explained 2 images x 1 class(es) with Vanilla gradient in " in result.stdout
    # 2 images of one row, image + overlay each: 4 panels and 1 gap of 1.6 in at 100 dpi.
    assert Image.open(out).size == (664, 179)
    # The oneDNN notice is printed by a path TF_CPP_MIN_LOG_LEVEL does not reach (together with
    # absl's "All log messages before absl::InitializeLog()" preamble); everything else must go.
    noise = [
        line
        for line in result.stderr.splitlines()
        if TF_LOG_LINE.match(line) and "oneDNN custom operations are on" not in line
    ]
    assert noise == []
    for text in ("This TensorFlow binary is optimized", "Unable to register", "cuda", "CUDA"):
        assert text not in result.stderr


def test_explore_needs_no_ipywidgets(tmp_path):
    """The static explorer shares the widget's sign recipes without importing the widget."""
    code = (
        "import sys; sys.modules['ipywidgets'] = None\n"
        "from saliency_widgets import cli\n"
        "sys.exit(cli.main(['explore', '--model', 'saliency_widgets.zoo:load_shapes_model',"
        " '--images', 'saliency_widgets.zoo:load_samples(2)',"
        " '--preprocess', 'saliency_widgets.zoo:preprocess', '--methods', 'gradients',"
        f" '--out', {str(tmp_path / 'page.html')!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    page = (tmp_path / "page.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "createImageBitmap" in page


def test_render_metrics_prints_the_figures_and_makes_the_panels_taller(inputs, tmp_path, capsys):
    model, folder = inputs
    args = ["render", "--model", str(model), "--images", str(folder / "p*.png")]
    plain, scored = tmp_path / "plain.png", tmp_path / "scored.png"
    assert cli.main([*args, "--out", str(plain)]) == 0
    assert "del " not in capsys.readouterr().out
    assert cli.main([*args, "--metrics", "--out", str(scored)]) == 0
    printed = capsys.readouterr().out
    # The same figures as the engine side's, one line per map (no masks: no localisation).
    options = grid.GridOptions.from_strings({"metrics": ""})
    _, result = grid.make_grid(model=model, images=str(folder / "p*.png"), options=options)
    assert result.scores is not None
    lines = [line for line in printed.splitlines() if ": del " in line]
    assert lines == cli.figure_lines(result)
    assert len(lines) == 4
    card = result.scores[0][0]
    assert lines[0] == (
        f"p0 · {result.titles[0][0]}: del {card.deletion.auc:.2f} "
        f"(rand {card.deletion.random_auc:.2f}) · ins {card.insertion.auc:.2f} "
        f"(rand {card.insertion.random_auc:.2f}) · gini {card.gini:.2f}"
    )
    before, after = Image.open(plain), Image.open(scored)
    assert after.width == before.width and after.height > before.height


def test_metrics_is_a_switch_and_an_explorer_holds_its_figures_with_it(inputs, tmp_path, capsys):
    model, folder = inputs
    args = ["--model", str(model), "--images", str(folder / "p*.png")]
    status = cli.main(["render", *args, "--metrics", "maybe", "--out", str(tmp_path / "g.png")])
    assert status == 1
    assert "metrics" in capsys.readouterr().err
    page = tmp_path / "e.html"
    status = cli.main(["explore", *args, "--metrics", "--sanity", "--out", str(page)])
    assert status == 0, capsys.readouterr().err
    stored = json.loads(re.search(r'json">(.*?)</script>', page.read_text(), re.S).group(1))
    assert stored["meta"]["metrics"] is True and stored["meta"]["sanity"] is True
    methods = stored["scores"]["methods"]
    assert set(methods) == set(stored["maps"])
    first = methods[next(iter(methods))][0][0]
    assert 0 <= first[0] <= 1 and 0 <= first[2] < 1 and len(first[6]) == 17
    status = cli.main(["explore", *args, "--metrics", "no", "--out", str(page)])
    assert status == 0
    stored = json.loads(re.search(r'json">(.*?)</script>', page.read_text(), re.S).group(1))
    assert stored["scores"] is None


def test_scores_prints_the_ranked_table_of_the_score_table_module(inputs, tmp_path, capsys):
    from saliency_widgets import score_table

    model, images = inputs
    out = tmp_path / "scores.md"
    args = ["--model", str(model), "--images", str(images / "*.png")]
    methods = ["--methods", "gradients,occlusion", "--rank-by", "deletion", "--sanity"]
    assert cli.main(["scores", *args, *methods, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    expected = score_table.make_score_table(
        model=str(model),
        images=str(images / "*.png"),
        options=score_table.ScoreOptions.from_strings(
            {"methods": "gradients,occlusion", "rank-by": "deletion", "sanity": ""}
        ),
    )
    assert expected.markdown() in printed and out.read_text() == expected.markdown() + "\n"
    deletions = [float(cells[3]) for cells in expected.cells()]
    assert deletions == sorted(deletions)  # lower is better
    assert "scored 2 methods on" in printed


def test_scores_errors_are_one_line_and_status_1(inputs, capsys):
    model, images = inputs
    args = ["scores", "--model", str(model), "--images", str(images / "*.png")]
    assert cli.main([*args, "--rank-by", "beauty"]) == 1
    assert "saliency-widgets scores: error: rank-by: 'beauty'; expected one of gain" in (
        capsys.readouterr().err
    )
    assert cli.main([*args, "--methods", "magic"]) == 1
    assert "error: methods: unknown ['magic']; expected names among" in capsys.readouterr().err
    # The scores of a model with several inputs are not computed yet: refused by the option's name.
    assert cli.main([*args, "--model-inputs", "saliency_widgets.zoo:class_names"]) == 1
    assert "error: model-inputs: the scores of a model with several inputs are not computed" in (
        capsys.readouterr().err
    )
