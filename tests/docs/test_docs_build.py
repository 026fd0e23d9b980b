"""The documentation site builds offline with -W, and its pages hold what they promise."""

from __future__ import annotations

import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]

PAGES = [
    "index",
    "quickstart",
    "gradient_backprop",
    "widget",
    "directive",
    "methods",
    "bundled_model",
    "performance",
    "api",
]


def page(site, name: str) -> str:
    return (site.html / f"{name}.html").read_text(encoding="utf-8")


def grid_images(html: str) -> list[str]:
    figures = re.findall(r'<figure class="saliency-grid[^"]*".*?</figure>', html, re.S)
    return [re.search(r'src="(_images/saliency-grid-\w+\.png)"', f).group(1) for f in figures]


def test_the_site_builds_warning_free(docs_site):
    output = docs_site.stdout + docs_site.stderr
    # -W makes any Sphinx warning fail the build; the kernels' native logging (absl's notice,
    # oneDNN's) goes to the build log, never into a cell, so it is not a warning.
    sphinx_warnings = [
        line
        for line in output.splitlines()
        if re.search(r"(^|: )WARNING: ", line) and "absl::InitializeLog" not in line
    ]
    assert sphinx_warnings == []
    assert "Cell printed to stderr" not in output
    # oneDNN stays on: nothing in the build turns it off. (TensorFlow prints its "oneDNN custom
    # operations are on" notice only on CPUs where it enables them, e.g. with AVX-512, so the
    # notice itself is not asserted: on an AVX2 machine it never appears.)
    assert os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0"
    assert "TF_ENABLE_ONEDNN_OPTS" not in (REPO / "docs" / "conf.py").read_text()
    assert "build succeeded" in docs_site.stdout
    for name in PAGES:
        assert (docs_site.html / f"{name}.html").is_file(), name


def test_pages_load_nothing_from_the_network(docs_site):
    external = re.compile(
        r'<(?:script|img|iframe)[^>]+src="(?:https?:)?//|<link[^>]+href="https?://'
    )
    for path in docs_site.html.glob("*.html"):
        assert not external.search(path.read_text(encoding="utf-8")), path.name


def test_grids_are_embedded_as_figures(docs_site):
    counts = {"index": 1, "quickstart": 1, "directive": 10}  # directive: 6 + 4 blend examples
    for name, count in counts.items():
        sources = grid_images(page(docs_site, name))
        assert len(sources) == count, name
        for source in sources:
            with Image.open(docs_site.html / source) as picture:
                assert picture.format == "PNG" and picture.size[0] >= 400
    directive = page(docs_site, "directive")
    reference = re.search(r'<span class="std std-numref">(Fig\. \d+)</span>', directive)
    assert reference is not None  # :name: made it a target of :numref:
    assert f'<span class="caption-number">{reference.group(1)} </span>' in directive


def test_the_methods_page_shows_every_registered_method(docs_site):
    from saliency_widgets.methods import METHODS

    html = page(docs_site, "methods")
    source = (REPO / "docs" / "methods.rst").read_text()
    # Each grid's option lines (up to its first blank line): its method, and whether it is scored.
    heads = re.findall(r"^\.\. saliency-grid::\n((?:   :.*\n)*)", source, re.M)
    # Grids of another model (the bundled ViT, ``:model:``) come on top of one grid per method.
    others = [h for h in heads if ":model:" in h]
    heads = [h for h in heads if ":model:" not in h]
    methods = [(re.search(r":method: (\w+)", h).group(1), ":metrics:" in h) for h in heads]
    shown = [name for name, metrics in methods if not metrics]
    scored = [name for name, metrics in methods if metrics]
    assert sorted(shown) == sorted(METHODS)
    assert len(others) == 1 and "saliency_widgets.zoo:load_vit_model" in others[0]
    assert len(grid_images(html)) == len(METHODS) + len(scored) + len(others)
    for spec in METHODS.values():
        assert f'alt="{spec.label or spec.name} saliency maps of 8 images' in html
    # The Scores section compares methods by the figures printed under each map (and in the alt).
    assert len(scored) >= 3
    for name in scored:
        label = METHODS[name].label or name
        alt = re.search(rf'alt="{re.escape(label)} saliency maps of 4 images \(([^"]*)\)"', html)
        assert alt is not None, name
        assert alt.group(1).count(" · hit ") == 4 and alt.group(1).count("del 0.") == 4
    # ... and ranks every registered method by them, computed when the page was built: one row
    # per method, numbered in order, the gain column falling, every method with a sanity verdict.
    section = html[html.index('id="scores"') :]
    table = section[: section.index("</table>")]
    rows = [re.findall(r"<td.*?</td>", r, re.S) for r in re.findall(r"<tr.*?</tr>", table, re.S)]
    cells = [
        [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in row] for row in rows if row
    ]
    labels = {spec.label or spec.name for spec in METHODS.values()}
    assert sorted(c[1] for c in cells) == sorted(labels)
    assert [c[0] for c in cells] == [str(i + 1) for i in range(len(METHODS))]
    gains = [float(c[2]) for c in cells]
    assert gains == sorted(gains, reverse=True) and all(-1 < g < 1 for g in gains)
    assert all(re.match(r"(passes|fails) \(\d/4 flagged\)", c[-1]) for c in cells)


def test_the_gradient_page_runs_an_honest_equivalence_check(docs_site):
    html = page(docs_site, "gradient_backprop")
    agree = re.search(r"direct XLA call agree: largest difference ([\d.e+-]+)", html)
    assert agree is not None and float(agree.group(1)) <= 1e-5
    other = re.search(r"against reduce=(?:'|&#39;)mean\S* maps: largest difference ([\d.]+)", html)
    assert other is not None and float(other.group(1)) > 0.05  # the check can fail
    mean = re.search(r"mean: ([\d.]+)% on ([\d.]+)%", html)
    assert mean is not None and float(mean.group(1)) > 1.5 * float(mean.group(2))


def test_figures_are_drawn_not_printed(docs_site):
    for name in ("quickstart", "gradient_backprop", "bundled_model", "widget"):
        html = page(docs_site, name)
        assert "&lt;Figure size" not in html, name
        outputs = re.findall(r'<img[^>]+src="(_images/[\w-]+\.png)"', html)
        assert outputs, name
        assert all((docs_site.html / source).is_file() for source in outputs)


def test_the_widget_page_shows_the_widgets_own_explorer_and_no_renderer(docs_site):
    html = page(docs_site, "widget")
    # The widget's output is its static explorer (text/html first), and the directive's below.
    payloads = re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert len(payloads) == 2
    snapshot = json.loads(payloads[0])
    meta = snapshot["meta"]
    assert meta["start"] == {
        "image": 3,
        "classIndex": meta["start"]["classIndex"],
        "method": "gradients",
    }
    assert meta["view"]["compare"] == "methods" and meta["masks"] is True
    held = {
        name: [s is not None for s in entry["strips"]] for name, entry in snapshot["maps"].items()
    }
    assert set(held) == {"gradients", "smoothgrad", "integrated_gradients", "gradcam", "scorecam"}
    assert all(flags[3] and sum(flags) == 1 for flags in held.values())  # image 3, every method
    # No widget state and no widget renderer: nothing for require.js to load.
    assert "application/vnd.jupyter.widget-state+json" not in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and not [s for s in scripts if re.search(r"require|embed-amd|thebe", s)]


def test_the_api_reference_documents_the_package(docs_site):
    html = page(docs_site, "api")
    for name in (
        "saliency_widgets.engine.explain",
        "saliency_widgets.gradients",
        "saliency_widgets.methods.gradient.gradients",
        "saliency_widgets.filters.absolute_normalize",
        "saliency_widgets.grid.make_grid",
        "saliency_widgets.widget.SaliencyWidget",
    ):
        assert f'id="{name}"' in html, name


def test_the_bundled_model_page_shows_the_training_report(docs_site):
    import json

    report = json.loads((REPO / "saliency_widgets/zoo/data/shapes_cnn.json").read_text())
    html = page(docs_site, "bundled_model")
    for family, figures in report["families"].items():  # the per-family accuracy table
        assert f"<td>{family}</td>" in html and f"<td>{figures['accuracy']:.1%}</td>" in html
    assert f"{report['parameters']:,} parameters" in html and "last_conv" in html


@pytest.mark.parametrize(
    ("name", "results", "missing"),
    [
        ("performance", "latest.json", "No benchmark results yet"),
        ("methods", "randomization.json", "No randomisation curves yet"),
    ],
)
def test_result_pages_show_results_or_say_they_are_missing(docs_site, name, results, missing):
    html = page(docs_site, name)
    if (REPO / "benchmarks" / "results" / results).is_file():
        assert 'class="results-table' in html and missing not in html
    else:
        assert missing in html and "results-table" not in html


def test_a_warm_rebuild_reads_and_recomputes_nothing(docs_site, docs_builder):
    images = sorted((docs_site.html / "_images").glob("*.png"))
    mtimes = {path: path.stat().st_mtime_ns for path in images}
    warm = docs_builder(docs_site.html.parent)
    assert warm.returncode == 0, warm.stderr[-3000:]
    print(f"docs: warm rebuild in {warm.seconds:.1f} s (cold {docs_site.seconds:.0f} s)")
    assert "0 added, 0 changed, 0 removed" in warm.stdout
    assert "saliency-grid: computed" not in warm.stdout
    assert "executing" not in warm.stdout
    assert {path: path.stat().st_mtime_ns for path in images} == mtimes
