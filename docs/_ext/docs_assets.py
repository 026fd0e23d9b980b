"""Files the documentation needs that are made or fetched at build time, never committed.

- ``_static/vendor/``: require.js and ``@jupyter-widgets/html-manager`` (which draws the embedded
  widgets), fetched from the npm registry with ``npm pack`` so pages render widgets with no
  network and no CDN. Versions are pinned here; ``npm pack`` checks each tarball's integrity.
- ``_static/samples/``: bundled sample images as PNG files, for the directive examples.

``conf.py`` calls :func:`ensure_all` (a no-op when everything is in place); ``make docs`` runs
``python docs/_ext/docs_assets.py`` first so the fetch shows up as its own step.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REQUIREJS = ("requirejs", "2.3.8")
"""The AMD loader the widget embedder expects."""
HTML_MANAGER = ("@jupyter-widgets/html-manager", "1.0.15")
"""The embedder of ipywidgets 8 (``ipywidgets.embed.__html_manager_version__`` is ``^1.0``)."""
FONT_SUFFIXES = (".woff2", ".woff", ".ttf")
"""Font Awesome files next to ``embed-amd.js`` that current browsers load (not .eot/.svg)."""
SAMPLES = 16
"""Bundled sample images written for the examples (the first of the held-out set)."""


def _npm_pack(package: str, version: str, work: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is needed once to fetch the widget renderer for the docs "
            "(Debian: apt-get install -y npm)"
        )
    result = subprocess.run(
        [npm, "pack", f"{package}@{version}", "--pack-destination", str(work), "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "npm_config_fund": "false", "npm_config_audit": "false"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm pack {package}@{version} failed:\n{result.stderr[-2000:]}")
    (info,) = json.loads(result.stdout)
    return work / info["filename"]


def _extract(tarball: Path, destination: Path) -> Path:
    with tarfile.open(tarball) as archive:
        archive.extractall(destination, filter="data")
    return destination / "package"


def ensure_widget_assets(static: Path) -> Path:
    """Fetches require.js and html-manager into ``static/vendor`` unless already there.

    Args:
        static: The ``_static`` folder of the docs.

    Returns:
        The ``vendor`` folder.

    Raises:
        RuntimeError: If npm is missing or a fetch fails.
    """
    vendor = static / "vendor"
    stamp = vendor / "versions.json"
    wanted = {name: version for name, version in (REQUIREJS, HTML_MANAGER)}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return vendor
    print(f"fetching {', '.join(f'{n}@{v}' for n, v in wanted.items())} from npm", flush=True)
    with tempfile.TemporaryDirectory(prefix="docs-npm-") as scratch:
        work = Path(scratch)
        staging = work / "vendor"
        (staging / "html-manager").mkdir(parents=True)
        requirejs = _extract(_npm_pack(*REQUIREJS, work), work / "requirejs")
        shutil.copy2(requirejs / "require.js", staging / "require.js")
        manager = _extract(_npm_pack(*HTML_MANAGER, work), work / "html-manager")
        dist = manager / "dist"
        shutil.copy2(dist / "embed-amd.js", staging / "html-manager" / "embed-amd.js")
        for path in dist.iterdir():
            if path.suffix in FONT_SUFFIXES or path.name.endswith("LICENSE.txt"):
                shutil.copy2(path, staging / "html-manager" / path.name)
        for package, name in ((requirejs, "requirejs"), (manager, "html-manager")):
            shutil.copy2(package / "package.json", staging / f"{name}.package.json")
        (staging / "versions.json").write_text(json.dumps(wanted, indent=1) + "\n")
        if vendor.exists():
            shutil.rmtree(vendor)
        # Copy next to the target, then rename: a concurrent build sees all of it or nothing.
        beside = Path(tempfile.mkdtemp(prefix=".vendor-", dir=static))
        shutil.copytree(staging, beside / "vendor")
        try:
            (beside / "vendor").rename(vendor)
        except OSError:
            if not (stamp.is_file() and json.loads(stamp.read_text()) == wanted):
                raise
        finally:
            shutil.rmtree(beside, ignore_errors=True)
    return vendor


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
    ensure_widget_assets(static)
    ensure_samples(static)


if __name__ == "__main__":
    ensure_all(Path(__file__).resolve().parents[1] / "_static")
