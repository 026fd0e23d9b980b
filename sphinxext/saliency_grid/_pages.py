"""Per-page tables kept on the Sphinx build environment, with their purge and merge handlers.

The directive remembers, per page, what a later build must check (the cached files a page shows,
the globs it expanded). Such a table lives as an attribute of the ``BuildEnvironment``, so it is
pickled with it, and must follow Sphinx's page life cycle: ``env-purge-doc`` drops a page that is
read again or removed, ``env-merge-info`` takes the pages a parallel reader read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

Entry = TypeVar("Entry")


class PageTable(Generic[Entry]):
    """A ``docname -> Entry`` table stored on the build environment under one attribute name.

    Args:
        attribute: The environment attribute holding the table (unique per extension table).

    Example:
        >>> table: PageTable[list[str]] = PageTable("my_extension_files")
        >>> # in setup(): app.connect("env-purge-doc", table.purge)
        >>> #             app.connect("env-merge-info", table.merge)
    """

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def of(self, env: BuildEnvironment) -> dict[str, Entry]:
        """The table of ``env``, created empty on first use."""
        if not hasattr(env, self.attribute):
            setattr(env, self.attribute, {})
        return getattr(env, self.attribute)

    def purge(self, app: Sphinx, env: BuildEnvironment, docname: str) -> None:
        """``env-purge-doc``: forget a page (it is read again, or it was removed)."""
        self.of(env).pop(docname, None)

    def merge(
        self, app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
    ) -> None:
        """``env-merge-info``: take the entries of the pages a parallel reader read."""
        theirs = self.of(other)
        self.of(env).update({doc: theirs[doc] for doc in docnames if doc in theirs})


__all__ = ["PageTable"]
