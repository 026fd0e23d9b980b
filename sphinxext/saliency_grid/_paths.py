"""Where the ``saliency-grid`` directive's inputs are: option values, paths, globs, references.

Like :mod:`sphinxext.saliency_grid._cache`, nothing here imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from saliency_widgets._image_files import match_files
from sphinxext.saliency_grid._pages import PageTable

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment


# One owner for what an input is: these come from the package (which imports no TensorFlow).
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
    """An option's text and the page it was written on.

    Attributes:
        text: The option's value.
        docname: The page whose option (or ``saliency-grid-defaults``) it is; ``None`` for a
            ``conf.py`` value.
    """

    text: str
    docname: str | None = None

    def path(self, env: BuildEnvironment, text: str | None = None) -> Path:
        """Resolves ``text`` (default: the whole value) as a path.

        Options resolve as Sphinx's own ``image`` directive does (:meth:`env.relfn2path`:
        relative to the page, or to the source directory with a leading ``/``); ``conf.py``
        values are relative to the source directory.

        Args:
            env: The build environment.
            text: Part of the value, e.g. one of several patterns.

        Returns:
            The absolute path.
        """
        text = (self.text if text is None else text).strip()
        if self.docname is None:
            path = Path(text).expanduser()
            return path if path.is_absolute() else Path(env.srcdir) / path
        _, absolute = env.relfn2path(text, self.docname)
        return Path(absolute)


def matches(pattern: str, images: bool) -> list[str]:
    """Files an absolute pattern names (see :func:`saliency_widgets._image_files.match_files`).

    Args:
        pattern: An absolute path, folder or glob pattern.
        images: Keep only files with an image suffix.

    Returns:
        The matching file paths.
    """
    return [str(path) for path in match_files(pattern, images)]


# Globs are watched, not just their files: Sphinx reads a page again when a file it depends on
# changes, but a new file that matches a pattern is no dependency yet.
WATCHED_GLOBS: PageTable[list[tuple[str, bool, list[str]]]] = PageTable("saliency_grid_globs")
"""Per page: [(pattern, images only, matches when read)] for each glob its directives expanded."""


def pages_whose_globs_changed(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: pages where a glob now matches other files than when read."""
    return [
        doc
        for doc, entries in WATCHED_GLOBS.of(env).items()
        if doc not in removed
        and doc not in changed
        and any(matches(pattern, images) != found for pattern, images, found in entries)
    ]
