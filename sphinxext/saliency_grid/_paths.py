"""Where the ``saliency-grid`` directive's inputs are: option values, paths, globs, references.

Like :mod:`sphinxext.saliency_grid._cache`, nothing here imports TensorFlow.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
"""Image files a glob collects (the list of ``saliency_widgets._grid_inputs``)."""

_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?$", re.DOTALL)
"""``module:attribute[(literal args)]``, the pattern of ``saliency_widgets._grid_inputs``."""


def is_reference(text: str) -> bool:
    """Whether an option names a ``module:attribute`` rather than a path.

    Args:
        text: The option's value.

    Returns:
        True for ``package.module:attribute`` with optional ``(literal args)``.
    """
    return _REFERENCE.match(text.strip()) is not None


def reference_module(text: str) -> str:
    """The module part of a reference.

    Args:
        text: A reference.

    Returns:
        The dotted module name.
    """
    return text.split(":", 1)[0].strip()


def normalise(text: str) -> str:
    """Collapses whitespace, so that reflowing an option does not change a grid's hash.

    Args:
        text: An option's value.

    Returns:
        The value with single spaces.
    """
    return " ".join(str(text).split())


@dataclass(frozen=True)
class Setting:
    """An option's text and where relative paths in it start.

    Attributes:
        text: The option's value.
        base: Folder relative paths are resolved against.
        rooted: Whether a leading ``/`` means the source directory (options, as for Sphinx's own
            ``image`` directive) rather than the filesystem root (``conf.py`` values).
    """

    text: str
    base: Path
    rooted: bool = True

    def path(self, srcdir: Path, text: str | None = None) -> Path:
        """Resolves ``text`` (default: the whole value) as a path.

        Args:
            srcdir: The Sphinx source directory.
            text: Part of the value, e.g. one of several patterns.

        Returns:
            The absolute path.
        """
        text = (self.text if text is None else text).strip()
        if self.rooted and text.startswith("/"):
            return srcdir / text.lstrip("/")
        return (self.base / Path(text).expanduser()).resolve()


def matches(pattern: str, images: bool) -> list[str]:
    """Files matching a glob pattern (``**`` included), sorted by name.

    Args:
        pattern: An absolute pattern.
        images: Keep only files with an image suffix.

    Returns:
        The matching file paths.
    """
    return sorted(
        path
        for path in glob.glob(pattern, recursive=True)
        if os.path.isfile(path) and (not images or path.lower().endswith(IMAGE_SUFFIXES))
    )


# Globs are watched, not just their files: Sphinx reads a page again when a file it depends on
# changes, but a new file that matches a pattern is no dependency yet.
WATCHED_GLOBS = "saliency_grid_globs"
"""``BuildEnvironment`` attribute: docname -> [(pattern, images only, matches when read)]."""


def watched_globs(env: BuildEnvironment) -> dict[str, list[tuple[str, bool, list[str]]]]:
    """The globs each page's grids expanded, with what they matched then.

    Args:
        env: The build environment (the table is pickled with it).

    Returns:
        The table, created on first use.
    """
    if not hasattr(env, WATCHED_GLOBS):
        setattr(env, WATCHED_GLOBS, {})
    return getattr(env, WATCHED_GLOBS)


def purge_globs(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    """``env-purge-doc``: forget a page's globs before it is read again."""
    watched_globs(env).pop(docname, None)


def merge_globs(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    """``env-merge-info``: take the globs of the pages a parallel reader read."""
    theirs = watched_globs(other)
    watched_globs(env).update({doc: theirs[doc] for doc in docnames if doc in theirs})


def pages_whose_globs_changed(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: pages where a glob now matches other files than when read."""
    return [
        doc
        for doc, entries in watched_globs(env).items()
        if doc not in removed
        and doc not in changed
        and any(matches(pattern, images) != found for pattern, images, found in entries)
    ]
