"""The ``results-table`` directive of the docs (``docs/_ext/results_table.py``)."""

from __future__ import annotations

import json
import re
import shutil
from io import StringIO
from pathlib import Path

import pytest
from PIL import Image
from sphinx.util.console import strip_colors

REPO = Path(__file__).resolve().parents[2]
RESULTS = {
    "machine": {"cpu": "test CPU", "cpus": 2},
    "plan": "quick",
    "records": [
        {
            "model": "m1",
            "case": "fast",
            "contender": "ours",
            "median_s": 0.0123456,
            "ratio": 2.0,
            "note": "",
        },
        {
            "model": "m1",
            "case": "fast",
            "contender": "theirs",
            "median_s": 0.5,
            "ratio": 8.25,
            "note": "slow",
        },
        {
            "model": "m1",
            "case": "slow",
            "contender": "ours",
            "median_s": 9.0,
            "ratio": 1.0,
            "note": "",
        },
        {
            "model": "m2",
            "case": "fast",
            "contender": "ours",
            "median_s": None,
            "ratio": None,
            "note": "unsupported",
        },
    ],
}


@pytest.fixture
def srcdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.syspath_prepend(str(REPO / "docs" / "_ext"))
    target = tmp_path / "results"
    shutil.copytree(REPO / "tests" / "roots" / "test-results-table", target)
    return target


def build(make_app, srcdir: Path):
    app = make_app("html", srcdir=srcdir, status=StringIO(), warning=StringIO())
    try:
        app.build()
    finally:
        app.cleanup()
    return app


def test_a_missing_file_shows_the_content_without_warning(make_app, srcdir):
    app = build(make_app, srcdir)
    assert app._warning.getvalue() == ""
    html = (app.outdir / "index.html").read_text()
    assert "No results yet: <em>run the benchmark</em>." in html
    assert "After the table." in html


def test_tables_and_chart_once_the_file_appears(make_app, srcdir):
    build(make_app, srcdir)
    (srcdir / "data").mkdir()
    (srcdir / "data" / "results.json").write_text(json.dumps(RESULTS))
    app = build(make_app, srcdir)  # the page waits for the file: it is read again
    assert app._warning.getvalue() == ""
    html = (app.outdir / "index.html").read_text()
    assert "No results yet" not in html
    assert "model: m1" in html and "model: m2" in html
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    cells = [re.findall(r"<p>(.*?)</p>", row) for row in rows]
    assert ["contender", "median_s", "ratio", "note"] in cells
    assert ["ours", "0.0123", "2", ""] in cells
    assert ["theirs", "0.5", "8.25", "slow"] in cells
    assert ["ours", "—", "—", "unsupported"] in cells
    assert all("9" not in row for row in cells if row and row[0] == "ours")  # case=slow filtered
    assert "cpu: test CPU, cpus: 2" in html
    alts = re.findall(
        r'<img alt="(ratio by contender[^"]*)" class="results-chart" src="([^"]+)"', html
    )
    assert alts == [(alts[0][0], alts[0][1])]  # m2 has no ratio: no chart for it
    assert alts[0][0] == "ratio by contender (m1): ours 2; theirs 8.25"
    with Image.open(app.outdir / alts[0][1]) as chart:
        assert chart.format == "PNG" and chart.size[0] > 500


def test_an_unreadable_file_is_a_located_warning(make_app, srcdir):
    (srcdir / "data").mkdir()
    (srcdir / "data" / "results.json").write_text("{not json")
    app = build(make_app, srcdir)
    warnings = strip_colors(app._warning.getvalue()).strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{srcdir / 'index.rst'}:4: WARNING: results-table: cannot read")
    assert "After the table." in (app.outdir / "index.html").read_text()
