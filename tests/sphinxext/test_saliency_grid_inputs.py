"""``:model-inputs:``: a model with two inputs in the directives, its hints from a reference."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
from PIL import Image

from saliency_widgets import grid
from saliency_widgets.predict import predict
from saliency_widgets.sources import load_sources


def _grids(html: str) -> list[str]:
    return re.findall(r'<img alt="[^"]*" src="(_images/saliency-grid-\w+\.png)"', html)


def test_a_grid_and_an_explorer_take_the_model_inputs_from_a_reference(project, build) -> None:
    srcdir = project("saliency-grid-inputs")
    app = build(srcdir)
    sys.modules.pop("two_inputs", None)
    warnings = app._warning.getvalue()
    # Only the grid without hints is refused, naming the option to use, with its line.
    (refused,) = [line for line in warnings.splitlines() if "WARNING" in line]
    assert "index.rst:21" in refused
    assert "the model takes 2 inputs ['img', 'hint']; give the ones other than the images" in (
        refused
    )
    assert ":model-inputs: module:callable in a directive" in refused
    html = (app.outdir / "index.html").read_text()
    own, same = _grids(html)
    # The directive's picture is the Python face's, given the same hints by function.
    sys.path.insert(0, str(srcdir))
    try:
        import two_inputs

        model, hints = two_inputs.build_model(), two_inputs.hints
        images = sorted(str(p) for p in (srcdir / "images").glob("a*.png"))
        expected, result = grid.make_grid(
            model=model,
            images=images,
            options=grid.GridOptions.from_strings({"classes": "0, 1"}),
            model_inputs=hints,
        )
    finally:
        sys.path.remove(str(srcdir))
        sys.modules.pop("two_inputs", None)
    assert (app.outdir / own).read_bytes() == expected
    # Each image's own hint moves its probabilities: the titles differ from one shared hint's.
    assert result.titles[1] != result.titles[0]
    a, b = (np.asarray(Image.open(app.outdir / s).convert("RGB")).astype(int) for s in (own, same))
    assert a.shape == b.shape and np.abs(a - b).max() > 60  # hints of images 0 and 1 differ
    # The explorer: its probabilities are the model's on the images with their hints.
    (payload,) = re.findall(
        r'<div class="sw-explorer" data-saliency-explorer><script type="application/json">'
        r"(.*?)</script>",
        html,
        flags=re.S,
    )
    sources = load_sources(model, images, model_inputs=hints)
    scores = predict(model, sources.model_x())
    top = scores.top_k(5)
    shown = json.loads(payload)
    assert shown["predictions"]["top"] == top.tolist()
    np.testing.assert_allclose(
        shown["predictions"]["probabilities"],
        np.take_along_axis(scores.probabilities, top, axis=1),
        atol=1e-5,
    )
