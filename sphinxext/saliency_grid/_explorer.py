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
directive's (the same :class:`~sphinxext.saliency_grid._directive.ComputedDirective` pipeline),
plus ``:methods:`` and ``:sanity:``. ``:metrics:`` puts each map's trust figures in a panel
beside it (as a grid prints them under it); ``:sanity:`` adds each map's sanity check. The
fragment (:func:`saliency_widgets.explorer.fragment`) is cached in the grid cache folder under
the hash of everything that determines it, so a warm rebuild computes nothing and imports no
TensorFlow; it is recorded per page like a grid's PNG, so ``-j`` builds merge it and pruning
keeps it while a page shows it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives

from saliency_widgets.explorer import explorer_from_sources
from sphinxext.saliency_grid import _cache as cache
from sphinxext.saliency_grid._directive import (
    GRID_OPTIONS,
    INPUT_OPTIONS,
    ComputedDirective,
    text_options,
)

EXPLORER_OPTIONS = ("methods", "sanity")
"""Options an explorer adds to the grid's."""


class SaliencyExplorer(ComputedDirective):
    """``.. saliency-explorer::`` embeds a kernel-free explorer of saliency maps."""

    kind = "saliency-explorer"
    suffixes = (".html",)
    computed_options = GRID_OPTIONS + EXPLORER_OPTIONS
    option_spec: ClassVar[dict[str, Any]] = {
        **text_options(INPUT_OPTIONS + computed_options),
        "sanity": directives.unchanged,  # a switch, as :metrics: is
    }

    def extra_files(self) -> list[Path]:
        """The browser code of :mod:`saliency_widgets.explorer` (its Python is the engine's)."""
        found = cache.module_files("saliency_widgets.explorer")
        return [path for path in found if path.suffix in (".js", ".css")]

    def compute(
        self, inputs: dict[str, Any], options: dict[str, str]
    ) -> tuple[dict[str, bytes], str]:
        """The explorer's HTML fragment."""
        text = explorer_from_sources(
            model=inputs["model"],
            images=inputs["images"],
            strings=options,
            preprocess=inputs.get("preprocess"),
            class_names=inputs.get("class-names"),
            model_inputs=inputs.get("model-inputs"),
            base=self.page_folder(),
        )
        data = text.encode("utf-8")
        return {".html": data}, f"{len(data) // 1024} KB"

    def output_nodes(self, files: dict[str, Path]) -> list[nodes.Node]:
        """The fragment as raw HTML, and the content as a caption below it."""
        text = files[".html"].read_text(encoding="utf-8")
        result: list[nodes.Node] = [nodes.raw("", text, format="html")]
        if self.content:
            caption = nodes.container(classes=["saliency-explorer-caption"])
            self.state.nested_parse(self.content, self.content_offset, caption)
            result.append(caption)
        return result


__all__ = ["EXPLORER_OPTIONS", "SaliencyExplorer"]
