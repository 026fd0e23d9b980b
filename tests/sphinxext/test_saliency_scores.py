"""The saliency-scores directive, built in a real Sphinx project (``test-saliency-scores``).

The project is copied with the tiny CNN and six images of ``conftest.py``, and a dense model
(``dense.keras``, no convolution) on which Grad-CAM fails.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import keras
import pytest
from sphinx.util.console import strip_colors

from saliency_widgets import score_table
from saliency_widgets.methods import METHODS

COMPUTED = re.compile(r"saliency-scores: computed (saliency-scores-\w+\.json) for (\S+):(\d+)")


def tables(page: str) -> list[list[list[str]]]:
    """Every saliency-scores table of a page: its rows (the header first) as cell texts."""
    found = re.findall(r'<table class="saliency-scores-table.*?</table>', page, re.S)
    return [
        [
            [html.unescape(cell) for cell in re.findall(r"<t[hd][^>]*><p>(.*?)</p></t[hd]>", row)]
            for row in re.findall(r"<tr.*?</tr>", table, re.S)
        ]
        for table in found
    ]


def computed(app) -> set[tuple[str, int]]:
    return {(Path(p).name, int(n)) for _, p, n in COMPUTED.findall(app._status.getvalue())}


@pytest.fixture
def srcdir(project) -> Path:
    folder = project("saliency-scores")
    keras.utils.set_random_seed(0)
    dense = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Flatten(), keras.layers.Dense(5)]
    )
    dense.save(folder / "dense.keras")
    return folder


def test_the_table_ranks_the_methods_with_the_engines_figures(srcdir, build):
    app = build(srcdir)
    page = (app.outdir / "index.html").read_text()
    by_gain, by_completeness = tables(page)
    # The engine's table for the same inputs and options, computed here.
    expected = score_table.make_score_table(
        model=srcdir / "model.keras",
        images=sorted(str(p) for p in (srcdir / "images").glob("*.png")),
        class_names="zero, one, two, three, four",
        options=score_table.ScoreOptions.from_strings(
            {
                "methods": "gradients, input_x_gradient, occlusion, integrated_gradients",
                "sanity": "",
            }
        ),
    )
    assert by_gain[0] == [column.header for column in expected.columns()]
    assert by_gain[1:] == expected.cells()
    assert [row[1] for row in by_gain[1:]] == [row.label for row in expected.rows]
    gains = [float(row[2]) for row in by_gain[1:]]
    assert gains == sorted(gains, reverse=True) and len(set(gains)) == 4
    assert [row[0] for row in by_gain[1:]] == ["1", "2", "3", "4"]
    assert by_gain[0][-2:] == ["sanity ρ ↓", "sanity verdict"]
    assert all(re.fullmatch(r"(passes|fails) \(\d/6 flagged\)", row[-1]) for row in by_gain[1:])
    # By completeness: the two methods that have a gap first, lower first, the others unranked.
    header, *rows = by_completeness
    assert header[-1] == "completeness gap ↓" and "sanity ρ ↓" not in header
    assert {row[1] for row in rows[:2]} == {"Integrated Gradients", "Input × Gradient"}
    gaps = [float(row[-1].rstrip("%")) for row in rows[:2]]
    assert gaps == sorted(gaps) and [row[0] for row in rows] == ["1", "2", "", ""]
    assert {row[-1] for row in rows[2:]} == {"—"}
    # The caption, the random order, the content and the legend.
    assert "4 methods ranked by gain (higher is better) on 6 images (a0, a1, a2, b0, b1, b2)" in (
        html.unescape(page)
    )
    assert "of its logit in 16 steps of 1/16 of the pixels" in page
    assert "A random pixel order scores deletion" in page
    assert "Four methods on six images, ranked by gain." in page
    assert "<strong>gain ↑</strong>: insertion minus deletion AUC" in page


def test_bad_options_and_failed_methods_are_located_warnings(srcdir, build):
    app = build(srcdir)
    warnings = [w for w in strip_colors(app._warning.getvalue()).splitlines() if "WARNING" in w]
    where = srcdir / "errors.rst"
    assert warnings == [
        f"{where}:4: WARNING: saliency-scores: rank-by: 'beauty'; expected one of gain, "
        "deletion-gain, insertion-gain, deletion, insertion, pointing, energy, gini, "
        "completeness, sanity [saliency_grid.error]",
        f"{where}:8: WARNING: saliency-scores: methods: unknown ['magic']; expected names among "
        + ", ".join(METHODS)
        + " [saliency_grid.error]",
        f"{where}:12: WARNING: saliency-scores: gradcam failed: ValueError: layer=None: the "
        "model has no layer with a 4-D (B, h, w, c) or token output [saliency_grid.method]",
    ]
    page = (app.outdir / "errors.html").read_text()
    (table,) = tables(page)  # the two bad directives show nothing, the page goes on
    assert [row[:2] for row in table[1:]] == [["1", "Vanilla gradient"], ["", "Grad-CAM"]]
    assert table[2][2].startswith("failed: ValueError: layer=None")
    assert '<td colspan="4"><p>failed: ValueError' in page
    assert "After the problems." in page


def test_a_rebuild_computes_nothing_and_the_failure_warns_again(srcdir, build):
    first = build(srcdir)
    assert computed(first) == {("index.rst", 4), ("index.rst", 11), ("errors.rst", 12)}
    files = sorted((first.doctreedir / "saliency-grid").glob("saliency-scores-*.json"))
    assert len(files) == 3
    mtimes = [path.stat().st_mtime_ns for path in files]
    again = build(srcdir)
    assert computed(again) == set()
    assert "gradcam failed" in again._warning.getvalue()  # the page with a failure is read again
    fresh = build(srcdir, freshenv=True)
    assert computed(fresh) == set()
    assert [path.stat().st_mtime_ns for path in files] == mtimes
    assert (fresh.outdir / "index.html").read_text().count("saliency-scores-table") == 2
