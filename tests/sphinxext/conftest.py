"""Fixtures that build copies of the ``tests/roots/test-*`` Sphinx projects.

Each root is copied to a temporary folder together with a tiny trained-free CNN saved as
``model.keras`` (12x12x3 inputs, 5 classes) and six 24x24 PNG images (``a0..a2``, ``b0..b2``),
each a bright square on a dark noisy background at a different place.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from builders import small_cnn
from PIL import Image
from sphinx.testing.fixtures import make_app, test_params  # noqa: F401  (fixtures)
from sphinx.testing.util import SphinxTestApp

REPO = Path(__file__).resolve().parents[2]
ROOTS = REPO / "tests" / "roots"


def write_images(folder: Path) -> list[Path]:
    """Six 24x24 RGB images with a bright 8x8 square at different positions."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, name in enumerate(["a0", "a1", "a2", "b0", "b1", "b2"]):
        pixels = rng.integers(0, 60, (24, 24, 3)).astype(np.uint8)
        y, x = (i * 3) % 16, (i * 5) % 16
        pixels[y : y + 8, x : x + 8] = [230, 200, 40]
        path = folder / f"{name}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.keras"
    small_cnn().save(path)
    return path


@pytest.fixture
def project(tmp_path: Path, tiny_model_file: Path) -> Callable:
    """``project("saliency-grid")`` copies ``tests/roots/test-saliency-grid`` and its inputs.

    The extension is imported as installed (``sphinxext.saliency_grid`` from the package), never
    from the repository on ``sys.path``.
    """

    def make(root: str) -> Path:
        srcdir = tmp_path / root
        shutil.copytree(ROOTS / f"test-{root}", srcdir)
        shutil.copy(tiny_model_file, srcdir / "model.keras")
        write_images(srcdir / "images")
        return srcdir

    return make


@pytest.fixture
def build(make_app: Callable[..., SphinxTestApp]) -> Iterator[Callable[..., SphinxTestApp]]:  # noqa: F811
    """``build(srcdir, "html")`` runs one Sphinx build (``sphinx.testing``'s ``make_app``).

    The app's ``_status`` and ``_warning`` are StringIOs. Each app is cleaned up as soon as it
    has built, so that the next build of the same test registers its nodes afresh.
    """

    def run(srcdir: Path, builder: str = "html", **kwargs: object) -> SphinxTestApp:
        app = make_app(
            builder,
            srcdir=srcdir,
            builddir=srcdir / "_build",
            status=StringIO(),
            warning=StringIO(),
            **kwargs,
        )
        try:
            app.build()
        finally:
            app.cleanup()
        return app

    yield run
    sys.modules.pop("raising_models", None)


def run_sphinx_build(*args: str) -> subprocess.CompletedProcess:
    """``python -m sphinx --no-color ARGS`` in a fresh interpreter, as a user runs it."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        # --no-color: CI may force colour, and escape codes would split the lines we match.
        [sys.executable, "-m", "sphinx", "--no-color", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture
def sphinx_build() -> Callable[..., subprocess.CompletedProcess]:
    """``sphinx_build("-j", "2", "-b", "html", src, out)`` runs ``sphinx-build`` in a subprocess."""
    return run_sphinx_build
