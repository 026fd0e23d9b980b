"""The saliency-explorer directive, built in a real Sphinx project (``test-saliency-explorer``).

The project is copied to a temporary folder with a tiny CNN (``model.keras``) and six images
(see ``conftest.py``); its index page holds two explorers, its problems page two wrong ones.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

from PIL import Image
from sphinx.util.console import strip_colors

COMPUTED = re.compile(r"saliency-explorer: computed (saliency-explorer-\w+\.html) for (\S+):(\d+)")


def payloads(html: str) -> list[dict]:
    """The data objects of the explorers of a page, in page order."""
    found = re.findall(
        r'<div class="sw-explorer" data-saliency-explorer><script type="application/json">'
        r"(.*?)</script>",
        html,
        flags=re.S,
    )
    return [json.loads(text) for text in found]


def strip_shape(url: str) -> tuple[int, int]:
    """The (height, width) of a map strip sent as a PNG data URL."""
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as strip:
        return strip.height, strip.width


def cache_files(srcdir: Path) -> dict[str, int]:
    folder = srcdir / "_build" / "doctrees" / "saliency-grid"
    return {path.name: path.stat().st_mtime_ns for path in folder.glob("saliency-explorer-*")}


def test_two_explorers_with_their_options_and_a_cached_rebuild(project, build):
    srcdir = project("saliency-explorer")
    app = build(srcdir)
    status = app._status.getvalue()
    assert {(Path(p).name, int(line)) for _, p, line in COMPUTED.findall(status)} == {
        ("index.rst", 10),
        ("index.rst", 17),
    }
    html = (app.outdir / "index.html").read_text()
    first, second = payloads(html)
    assert [m["name"] for m in first["meta"]["methods"]] == ["gradients", "gradcam"]
    assert first["meta"]["count"] == 6 and {len(row) for row in first["predictions"]["top"]} == {3}
    assert second["meta"]["names"] == ["a0", "a1", "a2"]
    assert second["meta"]["view"]["cmap"] == "viridis" and second["meta"]["view"]["alpha"] == 0.45
    assert {len(row) for row in second["predictions"]["top"]} == {2}
    # each image's strip stacks its top-3 maps of the model's 12 x 12 feature grid
    assert strip_shape(first["maps"]["gradcam"]["strips"][0]) == (3 * 12, 12)
    assert first["meta"]["classNames"] == ["zero", "one", "two", "three", "four"]
    assert html.count('<script type="module">') == 2
    assert "Every image, top-3 classes, two methods." in html  # the caption
    files = cache_files(srcdir)
    assert len(files) == 2

    # Every page read again (-E): the explorers come from the cache, nothing is written.
    again = build(srcdir, freshenv=True)
    assert "saliency-explorer: computed" not in again._status.getvalue()
    assert cache_files(srcdir) == files
    assert payloads((again.outdir / "index.html").read_text()) == [first, second]


def test_each_problem_is_one_located_warning(project, build):
    srcdir = project("saliency-explorer")
    app = build(srcdir)
    output = strip_colors(app._warning.getvalue())
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, output
    assert re.search(
        r"problems\.rst:6: WARNING: saliency-explorer: panels: a grid option that an "
        r"explorer does not use",
        output,
    )
    assert re.search(
        r"problems\.rst:12: WARNING: saliency-explorer: methods: unknown method "
        r"'no_such_method'",
        output,
    )
    assert payloads((app.outdir / "problems.html").read_text()) == []


def test_unused_explorer_files_are_pruned(project, build):
    srcdir = project("saliency-explorer")
    (srcdir / "problems.rst").unlink()  # pruning follows builds without warnings only
    index = srcdir / "index.rst"
    index.write_text(index.read_text().replace(".. toctree::\n\n   problems\n", ""))
    build(srcdir)
    before = set(cache_files(srcdir))
    index.write_text(index.read_text().replace(":overlay: 0.45", ":overlay: 0.5"))
    build(srcdir)
    after = set(cache_files(srcdir))
    assert len(after) == 2 and len(before & after) == 1  # the changed one replaced, not added


CACHED_BUILD = """
import sys
from sphinx.cmd.build import build_main
status = build_main(sys.argv[1:])
print("tensorflow loaded:", "tensorflow" in sys.modules)
sys.exit(status)
"""


def test_parallel_build_then_a_cached_one_without_tensorflow(project, sphinx_build):
    import os
    import subprocess
    import sys

    srcdir = project("saliency-explorer")
    (srcdir / "problems.rst").unlink()
    index = srcdir / "index.rst"
    index.write_text(index.read_text().replace(".. toctree::\n\n   problems\n", ""))
    (srcdir / "second.rst").write_text(
        "Second\n======\n\n.. saliency-explorer::\n   :images: images/b*.png\n"
        "   :methods: gradients\n"
    )
    index.write_text(index.read_text() + "\n.. toctree::\n\n   second\n")
    out = srcdir / "_build" / "html"
    doctrees = srcdir / "_build" / "doctrees"
    result = sphinx_build("-j", "2", "-W", "-b", "html", "-d", str(doctrees), str(srcdir), str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(COMPUTED.findall(result.stdout)) == 3
    assert len(payloads((out / "second.html").read_text())) == 1
    files = cache_files(srcdir)
    repo = Path(__file__).resolve().parents[2]
    again = subprocess.run(
        [
            sys.executable,
            "-c",
            CACHED_BUILD,
            "-E",
            "-b",
            "html",
            "-d",
            str(doctrees),
            str(srcdir),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert "saliency-explorer: computed" not in again.stdout
    assert "tensorflow loaded: False" in again.stdout
    assert cache_files(srcdir) == files


def test_metrics_and_sanity_are_switches_of_the_directive():
    """``:metrics:`` and ``:sanity:`` may be given alone (on), and both are part of the hash
    (a page that asks for figures is not served a cached page without them)."""
    from docutils.parsers.rst import directives

    from sphinxext.saliency_grid._explorer import SaliencyExplorer

    for name in ("metrics", "sanity"):
        assert SaliencyExplorer.option_spec[name] is directives.unchanged
        assert name in SaliencyExplorer.computed_options
