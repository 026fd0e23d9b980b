"""Which cached files the pages use, and removing the ones no page uses any more.

Each directive records the file it shows (a grid's PNG, an explorer's HTML) in the build
environment, per page, so the record survives incremental builds (the environment is pickled)
and parallel reading (the readers' records are merged back with ``env-merge-info``; a page read
again is first purged with ``env-purge-doc``). After a successful build, cache files that no page
records are deleted, like the stale outputs a changed option or input leaves behind. Only files
named like the directives' own (``saliency-grid-<20 hex digits>.png`` and its ``.json``,
``saliency-explorer-<20 hex digits>.html``), directly inside the cache folder, are ever deleted.

Like :mod:`sphinxext.saliency_grid._cache`, nothing here imports TensorFlow.
"""

from __future__ import annotations

import logging as stdlib_logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sphinx.util import logging

from sphinxext.saliency_grid._pages import PageTable

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

ENV_VERSION = 2
"""Bumped when what the environment records changes, or :data:`_cache.FORMAT` does
(Sphinx then reads every page afresh instead of trusting an older pickle)."""

CACHE_FILE = re.compile(
    r"^(saliency-grid-[0-9a-f]{20})\.(?:png|json)$"
    r"|^(saliency-explorer-[0-9a-f]{20})\.html$"
    r"|^(saliency-scores-[0-9a-f]{20})\.json$"
)
"""A file the directives write, named by the cache key: a grid and its sidecar, an explorer's
fragment, or a table of scores."""

USED_FILES: PageTable[list[str]] = PageTable("saliency_grid_files")
"""Per page: names of the cached PNGs its grids show (pruning keeps them)."""


def cache_dir(env: BuildEnvironment) -> Path:
    """The folder grids are cached in: ``saliency_grid_cache_dir``, else inside the doctrees.

    Args:
        env: The build environment.

    Returns:
        The absolute folder (it may not exist yet).
    """
    configured = env.config.saliency_grid_cache_dir
    if configured:
        return (Path(env.srcdir) / configured).resolve()
    return Path(env.doctreedir) / "saliency-grid"


def note_used(env: BuildEnvironment, docname: str, png: Path) -> None:
    """Records that a page shows a cached grid, so that pruning keeps it.

    Args:
        env: The build environment.
        docname: The page.
        png: The cached grid (its sidecar is kept with it).
    """
    names = USED_FILES.of(env).setdefault(docname, [])
    if png.name not in names:
        names.append(png.name)


def pages_missing_files(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """``env-get-outdated``: pages whose cached grid is gone, so that it is computed again.

    A file can go by hand, or through another build that shares ``saliency_grid_cache_dir``.
    """
    folder = cache_dir(env)
    skipped = added | changed | removed
    return [
        doc
        for doc, names in USED_FILES.of(env).items()
        if doc not in skipped and not all((folder / name).is_file() for name in names)
    ]


def unused_files(folder: Path, used: set[str]) -> list[Path]:
    """Cache files in ``folder`` whose grid is not in ``used``.

    Args:
        folder: The cache folder (missing is fine).
        used: Names of the PNGs still shown by some page.

    Returns:
        The grids and sidecars to delete, sorted; other files are never included.
    """
    if not folder.is_dir():
        return []
    kept = {Path(name).stem for name in used}
    return sorted(
        path
        for path in folder.iterdir()
        if (match := CACHE_FILE.match(path.name))
        and next(stem for stem in match.groups() if stem) not in kept
        and path.is_file()
    )


class WarningCounter(stdlib_logging.Handler):
    """Counts the warnings Sphinx logs during a build (Python's public ``logging`` API).

    Sphinx 8.1+ lets a ``-W`` build finish and fails it afterwards, so ``build-finished`` gets no
    exception, and whether ``-W`` is on is not public. Pruning therefore waits for a build that
    logged no warning at all: a stale file may stay one build longer, a needed one never goes.
    """

    def __init__(self) -> None:
        super().__init__(stdlib_logging.WARNING)
        self.count = 0

    def emit(self, record: stdlib_logging.LogRecord) -> None:
        """Counts one warning."""
        self.count += 1


def watch_warnings(app: Sphinx, counter: WarningCounter) -> None:
    """``builder-inited``: start counting the build's warnings."""
    counter.count = 0
    stdlib_logging.getLogger("sphinx").addHandler(counter)


def build_failed(app: Sphinx, exception: BaseException | None, warnings: int) -> bool:
    """Whether the cache must be left alone: the build raised, erred or warned.

    Args:
        app: The Sphinx application.
        exception: What ``build-finished`` got.
        warnings: Warnings logged during the build.

    Returns:
        True when nothing may be deleted.
    """
    return exception is not None or app.statuscode != 0 or warnings > 0


def prune_cache(app: Sphinx, exception: BaseException | None, counter: WarningCounter) -> None:
    """``build-finished``: delete the cached grids that no page shows any more.

    Nothing is deleted when the build failed or warned, since its pages may not all have
    recorded their grids (a ``-W`` build with a warning fails after this event).

    Args:
        app: The Sphinx application.
        exception: The exception that ended the build, if any.
        counter: The build's warning counter (see :func:`watch_warnings`).
    """
    stdlib_logging.getLogger("sphinx").removeHandler(counter)
    if build_failed(app, exception, counter.count):
        return
    used = {name for names in USED_FILES.of(app.env).values() for name in names}
    folder = cache_dir(app.env)
    stale = unused_files(folder, used)
    for path in stale:
        path.unlink(missing_ok=True)  # another build sharing the folder may have been first
    grids = sum(path.suffix == ".png" for path in stale)
    if stale:
        logger.info("saliency-grid: removed %d unused grid(s) from %s", grids, folder)
