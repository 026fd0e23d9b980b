"""Content fingerprints and atomic writes for the ``saliency-grid`` directive's cache.

Nothing here imports :mod:`saliency_widgets`: its files are found and hashed as bytes, so
deciding that a grid is up to date stays cheap and loads nothing of the engine (which imports
TensorFlow on first use) before Sphinx forks for ``-j``.

A grid's file name is the hash of everything that determines its pixels: the options, the bytes
of every input file, the files behind every ``module:attribute`` reference, the engine's source
files and the versions of the libraries that draw and compute.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMAT = 1
"""Bumped when the layout of the key or of the cached files changes."""

LIBRARIES = ("saliency-widgets", "tensorflow", "tensorflow-cpu", "keras", "numpy", "matplotlib")
"""Distributions whose versions enter every key (those not installed are skipped)."""

_ENGINE_SKIPPED = ("zoo", "widget", "cli.py", "__pycache__")
"""Parts of the package that do not compute or draw what the directives show (the zoo is hashed
when a reference names it)."""

_digests: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, memoised per (path, size, modification time).

    Args:
        path: An existing file.

    Returns:
        The hex digest.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def tree_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, without caches and hidden files.

    Args:
        folder: A directory.

    Returns:
        The files.
    """
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def module_files(name: str) -> list[Path]:
    """The files that define a module, found without importing it.

    A package contributes every file in its folder (code and data, so a model file shipped next
    to its loader counts); a plain module contributes its own file.

    Args:
        name: A dotted module name.

    Returns:
        The files; empty when the module cannot be found.
    """
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if module is not None and file:
        origin = Path(file)
        return tree_files(origin.parent) if hasattr(module, "__path__") else [origin]
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name is located, not imported
    except (ImportError, ValueError):
        return []
    for index in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return []
        spec = importlib.machinery.PathFinder.find_spec(
            ".".join(parts[: index + 1]), list(spec.submodule_search_locations)
        )
    if spec is None:
        return []
    if spec.submodule_search_locations:
        folders = [Path(p) for p in spec.submodule_search_locations]
        return [f for folder in folders for f in tree_files(folder)]
    return [Path(spec.origin)] if spec.origin and os.path.isfile(spec.origin) else []


def engine_files() -> list[Path]:
    """Source files of :mod:`saliency_widgets` that compute or draw grids.

    Returns:
        The files (empty when the package cannot be found).
    """
    try:
        spec = importlib.util.find_spec("saliency_widgets")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return [
        path
        for path in tree_files(root)
        if path.suffix == ".py"
        and not any(part.startswith(_ENGINE_SKIPPED) for part in path.relative_to(root).parts)
    ]


def versions() -> dict[str, str]:
    """Versions of :data:`LIBRARIES` that are installed.

    Returns:
        Distribution name to version.
    """
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def digests(files: Iterable[Path], root: Path | None = None) -> list[list[str]]:
    """``[name, digest]`` pairs, names relative to ``root`` (else the file name).

    Args:
        files: Existing files.
        root: Folder the names are taken relative to.

    Returns:
        The pairs, in the files' order.
    """
    pairs = []
    for path in files:
        name = path.relative_to(root).as_posix() if root else path.name
        pairs.append([name, file_digest(path)])
    return pairs


def key(payload: dict[str, Any]) -> str:
    """The cache key of a payload of JSON-serialisable inputs.

    Args:
        payload: Everything that determines the output.

    Returns:
        A 20-hex-digit digest.
    """
    text = json.dumps({"format": FORMAT, **payload}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def atomic_write(path: Path, data: bytes) -> None:
    """Writes a file so that readers see either nothing or all of it (parallel builds).

    Args:
        path: Destination; its folder is created if missing.
        data: The bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; web servers must read copies
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
