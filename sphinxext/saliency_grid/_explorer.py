"""The ``.. saliency-explorer::`` directive: a clickable explorer computed at build time.

.. code-block:: rst

    .. saliency-explorer::
       :model: saliency_widgets.zoo:load_shapes_model
       :images: saliency_widgets.zoo:load_samples(16)
       :preprocess: saliency_widgets.zoo:preprocess
       :class-names: saliency_widgets.zoo:class_names
       :methods: gradients, smoothgrad, integrated_gradients, gradcam
       :classes: top-5

       Optional caption.

The options, ``conf.py`` values and ``saliency-grid-defaults`` are the ``saliency-grid``
directive's (inputs resolved, fingerprinted and watched by the same code), plus ``:methods:``.
The fragment (:func:`saliency_widgets.explorer.fragment`) is cached in the grid cache folder
under the hash of everything that determines it, so a warm rebuild computes nothing and imports
no TensorFlow; it is recorded per page like a grid's PNG, so ``-j`` builds merge it and pruning
keeps it while a page shows it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging

from sphinxext.saliency_grid import _cache as cache
from sphinxext.saliency_grid import _files as grid_files
from sphinxext.saliency_grid import _paths as paths

logger = logging.getLogger(__name__)

EXPLORER_OPTIONS = ("methods",)
"""Options an explorer adds to the grid's."""


def _explorer_files() -> list[Path]:
    """What an explorer depends on beyond the grid's engine files.

    The browser code shipped with :mod:`saliency_widgets.explorer`, and the widget's recipes
    that decide its engine calls (the grid's engine files leave ``widget/`` out).
    """
    found = cache.module_files("saliency_widgets.explorer")
    assets = [path for path in found if path.suffix in (".js", ".css")]
    return assets + cache.module_files("saliency_widgets.widget._compute")


def explorer_directive(base: type) -> type:
    """Builds the directive class on the grid directive (its settings, inputs and reports).

    Args:
        base: :class:`sphinxext.saliency_grid.SaliencyGrid`.

    Returns:
        The ``SaliencyExplorer`` directive class.
    """
    from sphinxext.saliency_grid import GRID_OPTIONS, INPUT_OPTIONS

    class SaliencyExplorer(base):
        """``.. saliency-explorer::`` embeds a kernel-free explorer of saliency maps."""

        has_content = True
        option_spec: ClassVar[dict[str, Any]] = {
            name: directives.unchanged_required
            for name in INPUT_OPTIONS + GRID_OPTIONS + EXPLORER_OPTIONS
        }

        def _build(self) -> list[nodes.Node]:
            """The explorer, computing it only when no cached file has its hash."""
            settings = self._settings()
            srcdir = Path(self.env.srcdir)
            inputs, payload, files = self._inputs(settings, srcdir)
            engine = cache.engine_files() + _explorer_files()
            for path in [*files, *engine]:
                self.env.note_dependency(path)
            names = GRID_OPTIONS + EXPLORER_OPTIONS
            options = {
                name: paths.normalise(settings[name].text) for name in names if name in settings
            }
            payload.update(
                kind="explorer",
                options=options,
                engine=cache.digests(engine),
                versions=cache.versions(),
            )
            path = grid_files.cache_dir(self.env) / f"saliency-explorer-{cache.key(payload)}.html"
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                logger.verbose("saliency-explorer: %s is up to date", path.name)
            else:
                text = self._compute(inputs, options, path)
            result: list[nodes.Node] = [nodes.raw("", text, format="html")]
            if self.content:
                caption = nodes.container(classes=["saliency-explorer-caption"])
                self.state.nested_parse(self.content, self.content_offset, caption)
                result.append(caption)
            grid_files.note_used(self.env, self.env.docname, path)
            return result

        def _compute(self, inputs: dict[str, Any], options: dict[str, str], path: Path) -> str:
            """Computes one explorer (TensorFlow is imported only here) and caches it."""
            from saliency_widgets.explorer._sources import explorer_from_sources

            start = time.perf_counter()
            text = explorer_from_sources(
                model=inputs["model"],
                images=inputs["images"],
                strings=options,
                preprocess=inputs.get("preprocess"),
                class_names=inputs.get("class-names"),
                base=self.env.doc2path(self.env.docname).parent,
            )
            cache.atomic_write(path, text.encode("utf-8"))
            logger.info(
                "saliency-explorer: computed %s for %s (%d KB, %.1f s)",
                path.name,
                self.get_location(),
                len(text.encode("utf-8")) // 1024,
                time.perf_counter() - start,
            )
            return text

        def _report(self, error: Exception) -> list[nodes.Node]:
            from saliency_widgets._grid_inputs import GridError
            from sphinxext.saliency_grid import SaliencyGridError, _Problem

            known = isinstance(error, _Problem | GridError)
            message = "saliency-explorer: " + (
                str(error) if known else f"{type(error).__name__}: {error}"
            )
            if self.config.saliency_grid_raise_errors:
                raise SaliencyGridError(f"{self.get_location()}: {message}") from error
            logger.warning(
                message,
                location=(self.env.docname, self.lineno),
                type="saliency_grid",
                subtype="error",
            )
            self.env.note_reread()
            return []

    return SaliencyExplorer


__all__ = ["EXPLORER_OPTIONS", "explorer_directive"]
