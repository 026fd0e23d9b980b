"""Files the documentation needs that are made at build time, never committed.

- ``_static/samples/``: bundled sample images as PNG files, for the directive examples.

Nothing is fetched: the widget's output on the widget page is its static explorer (one inline
ES module, see ``conf.py``), so no widget renderer is served.

``conf.py`` calls :func:`ensure_all` (a no-op when everything is in place); ``make docs`` runs
``python docs/_ext/docs_assets.py`` first so the fetch shows up as its own step.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

SAMPLES = 16
"""Bundled sample images written for the examples (the first of the held-out set)."""


def ensure_samples(static: Path, count: int = SAMPLES) -> Path:
    """Writes the bundled sample images to ``static/samples`` unless they are up to date.

    They are written again when the generator's source (``zoo/shapes.py``) changes.

    A fresh interpreter does the writing: importing :mod:`saliency_widgets` loads TensorFlow,
    which must not happen in the Sphinx process before it forks for ``-j``.

    Args:
        static: The ``_static`` folder of the docs.
        count: How many samples.

    Returns:
        The ``samples`` folder.
    """
    samples = static / "samples"
    stamp = samples / ".stamp.json"  # dot files are not copied into the site
    generator = Path(__file__).resolve().parents[2] / "saliency_widgets" / "zoo" / "shapes.py"
    wanted = {"count": count, "generator": hashlib.sha256(generator.read_bytes()).hexdigest()}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return samples
    if samples.exists():
        shutil.rmtree(samples)
    code = (
        "import sys; from saliency_widgets import zoo; "
        "zoo.samples_to_png(sys.argv[1], int(sys.argv[2]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(samples), str(count)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"writing the sample images failed:\n{result.stderr[-2000:]}")
    stamp.write_text(json.dumps(wanted) + "\n")
    return samples


def ensure_all(static: Path) -> None:
    """Everything above; a no-op when it is all in place.

    Args:
        static: The ``_static`` folder of the docs.
    """
    ensure_samples(static)


if __name__ == "__main__":
    ensure_all(Path(__file__).resolve().parents[1] / "_static")
