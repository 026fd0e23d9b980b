"""The documentation site, built once per session from ``docs/`` with ``-W`` (a real build)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sphinx.testing.fixtures import make_app, test_params  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


@dataclass
class DocsBuild:
    """One ``sphinx-build`` run of the site."""

    html: Path
    doctrees: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def build_docs(out: Path) -> DocsBuild:
    """Runs ``sphinx-build -W`` on ``docs/`` into ``out`` (in a fresh interpreter, as make does)."""
    html, doctrees = out / "html", out / "doctrees"
    # --no-color: CI may force colour, and escape codes would split the lines tests match.
    flags = ["--no-color", "-W", "--keep-going", "-j", "auto", "-b", "html"]
    command = [sys.executable, "-m", "sphinx", *flags]
    start = time.perf_counter()
    result = subprocess.run(
        [*command, "-d", str(doctrees), str(DOCS), str(html)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
        check=False,
    )
    seconds = time.perf_counter() - start
    return DocsBuild(html, doctrees, result.returncode, result.stdout, result.stderr, seconds)


@pytest.fixture(scope="session")
def docs_builder() -> Callable[[Path], DocsBuild]:
    """:func:`build_docs`, for tests that build again."""
    return build_docs


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> DocsBuild:
    site = build_docs(tmp_path_factory.mktemp("docs"))
    assert site.returncode == 0, f"docs build failed:\n{site.stderr[-6000:]}"
    print(f"docs: cold build in {site.seconds:.0f} s")
    return site
