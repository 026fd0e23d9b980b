"""Real-browser fixtures: chromium, JupyterLab, Notebook 7, and where screenshots go.

The work is done by :mod:`jupyter_harness` (shared with ``benchmarks/widget_latency.py``); a
harness failure fails the tests, it never skips them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import jupyter_harness as harness


@pytest.fixture(scope="session")
def jupyter_home(tmp_path_factory) -> dict[str, Path]:
    return harness.make_jupyter_home(tmp_path_factory.mktemp("jupyter"))


@pytest.fixture(scope="session")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("server-logs")


@pytest.fixture(scope="session")
def lab(jupyter_home, logs) -> Iterator[harness.Server]:
    server = harness.start_lab(jupyter_home, logs / "jupyterlab.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory, logs) -> Iterator[harness.Server]:
    """Notebook 7 with its own Jupyter folders and copy of ``notebooks/``: it never shares a
    notebook file or a kernel with JupyterLab. Module-scoped: stopping it frees its kernel."""
    home = harness.make_jupyter_home(tmp_path_factory.mktemp("jupyter-notebook7"))
    server = harness.start_notebook(home, logs / "notebook7.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Module-scoped: Playwright's sync API runs an event loop
    while it is open, and any later ``sync_playwright()`` (the explorer's and the wheel's browser
    tests start their own) fails inside it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = harness.launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Screenshots go to ``build/browser-tests/`` (ignored by git)."""
    path = harness.REPO / "build" / "browser-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path
