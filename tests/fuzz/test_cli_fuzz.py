"""Property-based fuzz of ``saliency-widgets render``'s arguments.

Generated command lines mix real and broken models, image patterns, option values of every
grid option (numbers out of range, unknown names, wrong types) and stray flags. Each run ends
with exit status 0 and a PNG, or 1/2 with a one-line ``error:`` message on stderr naming the
option: never a traceback.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from builders import small_cnn
from hypothesis import event, given, settings
from hypothesis import strategies as st
from PIL import Image

from saliency_widgets import cli

VALUES = {
    "--method": ["gradients", "gradcam", "smoothgrad", "nope", ""],
    "--params": ["samples=2", "samples=0", "steps=2", "n=3", "samples=", "=", "samples=2, noise=x"],
    "--classes": ["top-1", "top-2", "top-0", "top-99", "zero", "0,1", "seven", "-1", ","],
    "--postprocessing": ["none", "default", "normalize", "absolute_normalize", "bogus"],
    "--panels": ["image,map", "overlay", "image, map, overlay", "heat", ""],
    "--cols": ["1", "3", "0", "-2", "x", "1.5"],
    "--overlay": ["0", "0.5", "1", "1.5", "-0.1", "nan", "x"],
    "--cmap": ["inferno", "viridis", "not_a_cmap", ""],
    "--blend": ["heat", "mask", "mask-image", "screen", ""],
    "--clip": ["99", "100", "1", "0", "101", "nan", "x"],
    "--dpi": ["50", "0", "-5", "x", "100000"],
    "--batch-size": ["1", "2", "0", "-1", "x"],
    "--class-names": [
        "zero,one,two,three,four",
        "a,b",
        "missing.json",
        "saliency_widgets.zoo:nope",
    ],
    "--preprocess": ["saliency_widgets.zoo:preprocess", "numpy:asarray", "nope:nothing", "x"],
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-fuzz")
    small_cnn().save(folder / "model.keras")
    (folder / "broken.keras").write_bytes(b"not a zip")
    images = folder / "images"
    images.mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(images / f"{i}.png")
    (images / "corrupt.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (folder / "empty").mkdir()
    return {"folder": folder, "images": images}


@st.composite
def command_lines(draw: st.DrawFn, folder: Path) -> list[str]:
    model = draw(st.sampled_from(["model.keras", "model.keras", "broken.keras", "missing.keras"]))
    images = draw(
        st.sampled_from(["images/0.png", "images/*.png", "images", "empty", "images/*.gif"])
    )
    argv = ["render", "--model", str(folder / model), "--images", str(folder / images)]
    argv += ["--out", str(folder / "out" / "grid.png")]
    for flag in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=3, unique=True)):
        argv += [flag, draw(st.sampled_from(VALUES[flag]))]
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--unknown", "extra", "--model"])))
    return argv


@settings(max_examples=200)
@given(data=st.data())
def test_render_exits_with_a_message_or_writes_a_png(inputs, data):
    argv = data.draw(command_lines(inputs["folder"]))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exit_:  # argparse: usage errors exit 2
            status = exit_.code
    captured = SimpleNamespace(out=out.getvalue(), err=err.getvalue())
    event(f"exit {status}")
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    if status == 0:
        png = inputs["folder"] / "out" / "grid.png"
        assert Image.open(png).size[0] > 50
    else:
        assert status in (1, 2), status
        lines = [line for line in captured.err.splitlines() if "error:" in line]
        assert lines, captured.err
        assert "in user code" not in captured.err
