"""Fingerprints and writes of the saliency-grid cache (no Sphinx, no TensorFlow needed)."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import pytest
from sphinx.environment import BuildEnvironment

from saliency_widgets._named_inputs import is_reference, reference_module
from sphinxext.saliency_grid import _cache as cache
from sphinxext.saliency_grid import _paths as paths


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package ``gridpkg`` that records being imported."""
    root = tmp_path / "gridpkg"
    (root / "data").mkdir(parents=True)
    (root / "__init__.py").write_text("import sys\nsys.modules['gridpkg_was_imported'] = True\n")
    (root / "models.py").write_text("def load():\n    return None\n")
    (root / "data" / "weights.bin").write_bytes(b"\x00" * 64)
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"junk")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for name in ("gridpkg", "gridpkg.models", "gridpkg_was_imported"):
        sys.modules.pop(name, None)


def test_module_files_are_found_without_importing(package):
    found = cache.module_files("gridpkg")
    assert [p.relative_to(package).as_posix() for p in found] == [
        "__init__.py",
        "data/weights.bin",
        "models.py",
    ]
    assert cache.module_files("gridpkg.models") == [package / "models.py"]
    assert cache.module_files("gridpkg.nothing") == []
    assert cache.module_files("no_such_top_level_module") == []
    assert "gridpkg_was_imported" not in sys.modules


def test_engine_files_cover_the_engine_not_the_widget_or_zoo():
    import saliency_widgets

    root = Path(saliency_widgets.__file__).parent
    names = {path.relative_to(root).as_posix() for path in cache.engine_files()}
    assert {"engine.py", "filters.py", "render.py", "grid.py", "methods/gradient.py"} <= names
    assert not any(n.startswith(("zoo/", "widget/")) or n == "cli.py" for n in names)


def test_file_digest_is_sha256_and_follows_changes(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert cache.file_digest(path) == hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"abcd")  # a new size: the memo does not hide the change
    assert cache.file_digest(path) == hashlib.sha256(b"abcd").hexdigest()


def test_keys_depend_on_content_not_on_order_of_keys():
    a = cache.key({"options": {"cols": "2", "method": "gradients"}, "images": [["a.png", "1"]]})
    b = cache.key({"images": [["a.png", "1"]], "options": {"method": "gradients", "cols": "2"}})
    c = cache.key({"images": [["a.png", "2"]], "options": {"method": "gradients", "cols": "2"}})
    assert a == b != c
    assert re.fullmatch(r"[0-9a-f]{20}", a)


def test_atomic_write_leaves_one_readable_file(tmp_path):
    target = tmp_path / "deep" / "grid.png"
    cache.atomic_write(target, b"png bytes")
    cache.atomic_write(target, b"new bytes")
    assert target.read_bytes() == b"new bytes"
    assert [p.name for p in target.parent.iterdir()] == ["grid.png"]
    assert target.stat().st_mode & 0o777 == 0o644


class _Env:
    """The two things Setting.path reads of a BuildEnvironment, with Sphinx's own relfn2path."""

    srcdir = Path("/src")
    docname = "guide/page"

    def doc2path(self, docname: str, base: bool = True) -> Path:
        return Path(f"{docname}.rst") if not base else self.srcdir / f"{docname}.rst"

    relfn2path = BuildEnvironment.relfn2path


def test_references_and_paths():
    assert is_reference("saliency_widgets.zoo:load_samples(8, seed=2)")
    assert not is_reference("_static/samples/*.png")
    assert not is_reference("C:/data/*.png")
    assert reference_module(" pkg.mod:fn(1) ") == "pkg.mod"
    assert paths.normalise("samples=16,\n   noise=0.1") == "samples=16, noise=0.1"
    env = _Env()
    # options: as Sphinx's image directive (page-relative, "/" = source directory)
    assert paths.Setting("/img/a.png", "guide/page").path(env) == Path("/src/img/a.png")
    assert paths.Setting("img/a.png", "guide/page").path(env) == Path("/src/guide/img/a.png")
    # conf.py values: relative to the source directory; absolute paths as they are
    assert paths.Setting("models/m.keras").path(env) == Path("/src/models/m.keras")
    assert paths.Setting("/abs/m.keras").path(env) == Path("/abs/m.keras")


def test_one_matcher_takes_existing_names_folders_and_globs(tmp_path):
    for name in ("img[1].png", "b.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert paths.matches(str(tmp_path / "img[1].png"), images=True) == [
        str(tmp_path / "img[1].png")
    ]
    assert [Path(p).name for p in paths.matches(str(tmp_path), images=True)] == [
        "b.png",
        "img[1].png",
    ]
    assert [Path(p).name for p in paths.matches(str(tmp_path / "*"), images=False)] == [
        "b.png",
        "img[1].png",
        "notes.txt",
    ]
