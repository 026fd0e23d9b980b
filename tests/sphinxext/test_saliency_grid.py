"""The saliency-grid directive, built in real Sphinx projects (``tests/roots/test-saliency-grid*``).

The projects are copied to a temporary folder with a tiny CNN (``model.keras``) and six images;
see ``conftest.py``. In-process builds share this pytest process (TensorFlow already loaded);
the ``-j 2`` build and the "no TensorFlow when cached" check run ``sphinx-build`` in fresh
interpreters, as a user would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sphinx.errors import ExtensionError
from sphinx.util.console import strip_colors

from saliency_widgets import grid

REPO = Path(__file__).resolve().parents[2]
COMPUTED = re.compile(r"saliency-grid: computed (saliency-grid-\w+\.png) for (\S+):(\d+)")
GRIDS = {  # location -> (images, classes per image); one entry per directive of the root
    ("index.rst", 10): (6, 1),
    ("grids.rst", 4): (3, 2),
    ("methods.rst", 4): (6, 1),
    ("methods.rst", 9): (6, 1),
    ("pagedefaults.rst", 9): (3, 2),
    ("pagedefaults.rst", 11): (3, 1),
}


def computed(app) -> set[tuple[str, int]]:
    """Locations of the grids a build computed (from its status log)."""
    found = COMPUTED.findall(app._status.getvalue())
    return {(Path(path).name, int(line)) for _, path, line in found}


def pictures(html: str) -> list[str]:
    return re.findall(r'<img alt="[^"]*" src="(_images/saliency-grid-\w+\.png)"', html)


def png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def test_html_has_a_figure_with_the_grid(project, build):
    app = build(project("saliency-grid"))
    assert app._warning.getvalue() == ""
    assert computed(app) == set(GRIDS)
    html = (app.outdir / "index.html").read_text()
    figure = re.search(
        r'<figure class="saliency-grid align-center" id="fig-all">.*?</figure>', html, re.S
    )
    assert figure is not None
    figure = figure.group(0)
    (source,) = pictures(figure)
    assert 'style="width: 80%;"' in figure
    assert "Every image, top class. <em>Caption</em> with markup." in figure
    assert '<div class="legend">\n<p>A legend paragraph.</p>' in figure
    assert 'alt="Vanilla gradient saliency maps of 6 images (a0: ' in figure
    assert '<span class="std std-numref">Fig. 1</span>' in html  # :name: is referencable
    # 6 images x (image + overlay), 4 images per row: 8 x 2 panels of 1.6 in at 100 dpi, and
    # 3 gaps of 0.15 panel between images; 1.12 leaves room for titles.
    assert Image.open(app.outdir / source).size == (int(160 * (8 + 3 * 0.15)), int(160 * 2 * 1.12))


def test_options_shape_the_picture(project, build):
    app = build(project("saliency-grid"))
    html = (app.outdir / "grids.html").read_text()
    assert '<img alt="two images, two classes each"' in html
    (source,) = pictures(html)
    # 3 images, one per row, each image + (map, overlay) for 2 classes = 5 panels.
    assert Image.open(app.outdir / source).size == (800, 537)
    viridis_dark = np.array([68, 1, 84])  # viridis(0): the cmap option reached the renderer
    pixels = png(app.outdir / source).reshape(-1, 3)
    assert (np.abs(pixels - viridis_dark).sum(axis=1) < 12).sum() > 1000


def test_page_defaults_apply_to_the_following_grids(project, build):
    app = build(project("saliency-grid"))
    html = (app.outdir / "pagedefaults.html").read_text()
    alts = re.findall(r'<img alt="([^"]*)"', html)
    assert len(alts) == 2
    assert alts[0].startswith("Vanilla gradient saliency maps of 3 images (a0: one, three; a1:")
    assert alts[1] == ("Vanilla gradient saliency maps of 3 images (a0: zero; a1: zero; a2: zero)")
    sizes = [Image.open(app.outdir / s).size for s in pictures(html)]
    assert sizes == [(int(160 * 6.15), int(160 * 2 * 1.12)), (int(160 * 6.3), int(160 * 1.12))]


def test_two_methods_draw_different_maps_of_the_same_images(project, build):
    app = build(project("saliency-grid"))
    first, second = pictures((app.outdir / "methods.html").read_text())
    assert first != second
    a, b = png(app.outdir / first), png(app.outdir / second)
    assert a.shape == b.shape
    panel = 160  # 1.6 in at 100 dpi
    assert np.array_equal(a[:, :panel], b[:, :panel])  # the image panels are the same
    overlay = np.abs(a[:, panel : 2 * panel] - b[:, panel : 2 * panel])
    assert overlay.max() > 60 and overlay.mean() > 1.0  # the maps are not


def test_a_rebuild_recomputes_nothing_and_an_image_change_only_its_grids(project, build):
    srcdir = project("saliency-grid")
    first = build(srcdir)
    assert computed(first) == set(GRIDS)
    cache_dir = first.doctreedir / "saliency-grid"
    outputs = sorted(cache_dir.glob("*.png")) + sorted((first.outdir / "_images").glob("*.png"))
    assert len(outputs) == 2 * len(GRIDS)
    mtimes = {path: path.stat().st_mtime_ns for path in outputs}

    again = build(srcdir)
    assert "0 added, 0 changed, 0 removed" in again._status.getvalue()
    assert computed(again) == set()
    assert {path: path.stat().st_mtime_ns for path in outputs} == mtimes

    # Every page read again from scratch: the grids are found by their hash, not recomputed.
    fresh = build(srcdir, freshenv=True)
    assert computed(fresh) == set()
    assert "saliency-grid" not in fresh._warning.getvalue()

    # Touching an image re-reads its pages, but its bytes did not change: still nothing to do.
    image = srcdir / "images" / "b1.png"
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    touched = build(srcdir)
    assert "reading sources" in touched._status.getvalue()
    assert computed(touched) == set()

    # New pixels: exactly the grids that show b1 are recomputed.
    pixels = np.asarray(Image.open(image)).copy()
    pixels[:4, :4] = 255
    Image.fromarray(pixels).save(image)
    changed = build(srcdir)
    assert computed(changed) == {
        ("index.rst", 10),
        ("grids.rst", 4),
        ("methods.rst", 4),
        ("methods.rst", 9),
    }
    # Their four old cache files are pruned; the other files are untouched, output copies included.
    gone = [path for path in outputs if not path.exists()]
    assert len(gone) == 4 and all(path.parent == cache_dir for path in gone)
    assert {path: path.stat().st_mtime_ns for path in outputs if path.exists()} == {
        path: mtime for path, mtime in mtimes.items() if path not in gone
    }


def test_a_new_image_matching_the_glob_is_picked_up(project, build):
    srcdir = project("saliency-grid")
    build(srcdir)
    Image.new("RGB", (24, 24), (200, 30, 30)).save(srcdir / "images" / "b3.png")
    app = build(srcdir)
    assert computed(app) == {
        ("index.rst", 10),
        ("grids.rst", 4),
        ("methods.rst", 4),
        ("methods.rst", 9),
    }
    assert "Vanilla gradient saliency maps of 7 images" in (app.outdir / "index.html").read_text()


def test_a_model_is_loaded_once_per_process(project, build):
    grid.MODELS.clear()
    before = grid.MODELS.loads
    build(project("saliency-grid"))
    assert grid.MODELS.loads - before == 1  # six grids, one model file


def test_latex_builder_includes_the_grid(project, build):
    app = build(project("saliency-grid"), "latex")
    assert app._warning.getvalue() == ""
    tex = next(app.outdir.glob("*.tex")).read_text()
    names = re.findall(
        r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{(saliency-grid-\w+)\}\.png\}", tex
    )
    assert len(names) == len(GRIDS)
    assert all((app.outdir / f"{name}.png").is_file() for name in names)
    assert r"\caption{Every image, top class. \sphinxstyleemphasis{Caption} with markup.}" in tex


ERRORS = [  # (line, message) of each failing directive in test-saliency-grid-errors/index.rst
    (4, "model file not found: "),
    (7, "no image matches 'nothing/*.png'"),
    (10, "overlay: alpha must be in [0, 1], got 1.5"),
    (13, "model 'raising_models:unreachable' raised RuntimeError: weights server unreachable"),
    (16, "the model failed on the images: ValueError: "),
    (19, "classes: 'seven' is not a class name; known: zero, one, two, three, four"),
    (22, "method: method='no_such_method': expected one of"),
    (25, "width: "),
]


def test_each_error_is_one_located_warning_and_the_page_goes_on(project, build):
    srcdir = project("saliency-grid-errors")
    app = build(srcdir)
    output = strip_colors(app._warning.getvalue())
    warnings = [w for w in output.splitlines() if "WARNING" in w]
    assert len(warnings) == len(ERRORS)
    for warning, (line, message) in zip(warnings, ERRORS, strict=True):
        assert warning.startswith(f"{srcdir / 'index.rst'}:{line}: WARNING: saliency-grid: ")
        assert message in warning
        assert warning.endswith("[saliency_grid.error]")
    assert "exploded on purpose" in warnings[4]
    html = (app.outdir / "index.html").read_text()
    assert "Still here after the errors." in html
    assert len(pictures(html)) == 1
    assert "The one grid that works." in html

    # A page with a failed grid is read again next time, so the warning does not go away.
    again = build(srcdir)
    assert len([w for w in again._warning.getvalue().splitlines() if "WARNING" in w]) == 8


def test_raise_errors_turns_the_first_error_into_an_exception(project, build):
    srcdir = project("saliency-grid-errors")
    with pytest.raises(ExtensionError, match=r"index\.rst:4: saliency-grid: model file not found"):
        build(srcdir, confoverrides={"saliency_grid_raise_errors": True})


def test_minus_w_fails_with_the_messages(project, sphinx_build):
    srcdir = project("saliency-grid-errors")
    result = sphinx_build("-W", "-q", "-b", "html", str(srcdir), str(srcdir / "_build"))
    assert result.returncode == 1
    for line, message in ERRORS:
        assert f"index.rst:{line}: WARNING: saliency-grid: {message}" in result.stderr


def test_parallel_build_with_two_processes(project, sphinx_build):
    srcdir = project("saliency-grid")
    out = srcdir / "_build" / "html"
    result = sphinx_build("-j", "2", "-W", "-b", "html", str(srcdir), str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    # Parallel reading reports chunks of documents ("grids .. index") instead of single names.
    assert re.search(r"reading sources\.\.\. \[\s*\d+%\] \w+ \.\. \w+", result.stdout)
    assert len(COMPUTED.findall(result.stdout)) == len(GRIDS)
    for page, count in [("index", 1), ("grids", 1), ("methods", 2), ("pagedefaults", 2)]:
        found = pictures((out / f"{page}.html").read_text())
        assert len(found) == count
        for source in found:
            assert Image.open(out / source).format == "PNG"


CACHED_BUILD = """
import sys
from sphinx.cmd.build import build_main
status = build_main(sys.argv[1:])
print("tensorflow loaded:", "tensorflow" in sys.modules)
sys.exit(status)
"""


def test_setup_and_cached_builds_never_import_tensorflow(project):
    srcdir = project("saliency-grid")
    out = str(srcdir / "_build" / "html")
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", CACHED_BUILD, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    assert "tensorflow loaded: True" in run("-b", "html", srcdir.as_posix(), out)
    # -E: every page is read again and every directive runs, but all grids are cached.
    second = run("-E", "-b", "html", srcdir.as_posix(), out)
    assert "saliency-grid: computed" not in second
    assert "tensorflow loaded: False" in second


def test_grid_png_matches_the_command_line_twin(project, build, tmp_path):
    from saliency_widgets import cli

    srcdir = project("saliency-grid")
    app = build(srcdir)
    (source,) = pictures((app.outdir / "grids.html").read_text())
    out = tmp_path / "grid.png"
    status = cli.main(
        [
            "render",
            "--model",
            str(srcdir / "model.keras"),
            "--images",
            str(srcdir / "images" / "b*.png"),
            "--class-names",
            "zero, one, two, three, four",
            "--classes",
            "top-2",
            "--panels",
            "image, map, overlay",
            "--cols",
            "1",
            "--cmap",
            "viridis",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    assert np.array_equal(png(out), png(app.outdir / source))


def test_metrics_prints_the_figures_in_the_picture_sidecar_and_alt(project, build):
    import json

    srcdir = project("saliency-grid-metrics")
    app = build(srcdir)
    warnings = [w for w in strip_colors(app._warning.getvalue()).splitlines() if "WARNING" in w]
    assert len(warnings) == 1
    assert f"{srcdir / 'index.rst'}:15: WARNING: saliency-grid: metrics: 'maybe': " in warnings[0]
    html = (app.outdir / "index.html").read_text()
    scored, plain = pictures(html)  # the switch is in the cache key: two files
    assert scored != plain
    sidecar = srcdir / "_build" / "doctrees" / "saliency-grid" / Path(scored).name
    info = json.loads(sidecar.with_suffix(".json").read_text())
    # The figures are the engine's for the same options (the command line's twin).
    _, result = grid.make_grid(
        model=srcdir / "model.keras",
        images=str(srcdir / "images" / "b*.png"),
        class_names="zero, one, two, three, four",
        options=grid.GridOptions.from_strings({"metrics": ""}),
    )
    assert result.scores is not None
    assert info["captions"] == [[list(c) for c in row] for row in result.captions() or ()]
    first = info["scores"][0][0]
    assert first["deletion"]["auc"] == pytest.approx(result.scores[0][0].deletion.auc, abs=1e-6)
    assert first["gini"] == pytest.approx(result.scores[0][0].gini, abs=1e-6)
    assert "curve" not in first["deletion"] and "localisation" in first
    alt = re.search(r'<img alt="([^"]*)" src="' + re.escape(scored), html)
    assert alt is not None
    line = " · ".join(result.captions()[0][0])  # type: ignore[index]
    assert f"b0: {result.titles[0][0]} ({line})" in alt.group(1).replace("&#8217;", "'")
    high, low = Image.open(app.outdir / scored), Image.open(app.outdir / plain)
    assert high.width == low.width and high.height > low.height
    assert (srcdir / "_build" / "doctrees" / "saliency-grid" / Path(plain).name).is_file()
