"""The ``.. saliency-scores::`` directive: methods ranked by their figures, computed at build time.

.. code-block:: rst

    .. saliency-scores::
       :images: saliency_widgets.zoo:load_samples(8)
       :methods: gradients, integrated_gradients, gradcam, guided_backprop
       :rank-by: energy
       :sanity:

       Optional text shown under the table.

The inputs (``:model:``, ``:images:``, ``:preprocess:``, ``:class-names:``, ``conf.py`` values
and ``saliency-grid-defaults``) are the ``saliency-grid`` directive's; the options are
:data:`saliency_widgets.score_table.SCORE_OPTION_HELP`'s. What it computes is
:func:`saliency_widgets.score_table.make_score_table`'s table, cached as JSON under the hash of
everything that determines it (the pipeline of
:class:`~sphinxext.saliency_grid._directive.ComputedDirective`), so a warm build computes nothing
and imports no TensorFlow. What it shows is a docutils table (its caption saying what is ranked,
on which images, in how many steps), the random order's figures, the directive's content, and a
legend of the columns. A method that fails gets a row that says why, and a warning at the
directive's line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.util import logging

from saliency_widgets.score_table import (
    SCORE_SWITCHES,
    ScoreOptions,
    ScoreTable,
    make_score_table,
)
from sphinxext.saliency_grid._directive import INPUT_OPTIONS, ComputedDirective, text_options

logger = logging.getLogger(__name__)


class SaliencyScores(ComputedDirective):
    """``.. saliency-scores::`` ranks methods by their figures on a set of images."""

    kind = "saliency-scores"
    suffixes = (".json",)
    computed_options = ScoreOptions.KEYS
    option_spec: ClassVar[dict[str, Any]] = text_options(
        INPUT_OPTIONS + ScoreOptions.KEYS, SCORE_SWITCHES
    )

    def check_options(self) -> None:
        """Parses the directive's own options, so that a bad one costs no computing."""
        ScoreOptions.from_strings(
            {name: value for name, value in self.options.items() if name in self.computed_options}
        )

    def compute(
        self, inputs: dict[str, Any], options: dict[str, str]
    ) -> tuple[dict[str, bytes], str]:
        """The ranked table, as JSON."""
        table = make_score_table(
            model=inputs["model"],
            images=inputs["images"],
            options=ScoreOptions.from_strings(options),
            preprocess=inputs.get("preprocess"),
            class_names=inputs.get("class-names"),
            base=self.page_folder(),
            model_inputs=inputs.get("model-inputs"),
        )
        data = json.dumps(table.to_dict(), indent=1, ensure_ascii=False).encode("utf-8")
        return {".json": data}, f"{len(table.rows)} methods on {table.count} images"

    def output_nodes(self, files: dict[str, Path]) -> list[nodes.Node]:
        """The table, the random order's figures, the content and the legend.

        Each failed method is a warning at the directive's line, cached or not, and its page is
        read again on the next build so that the warning stays until the method runs.
        """
        table = ScoreTable.from_dict(json.loads(files[".json"].read_text(encoding="utf-8")))
        for row in table.failures:
            logger.warning(
                "%s: %s failed: %s",
                self.kind,
                row.method,
                row.error,
                location=(self.env.docname, self.lineno),
                type="saliency_grid",
                subtype="method",
            )
        if table.failures:
            self.env.note_reread()
        box = nodes.container(classes=["saliency-scores"])
        box += table_node(table)
        box += nodes.paragraph(text=table.baseline())
        if self.content:
            self.state.nested_parse(self.content, self.content_offset, box)
        legend = nodes.bullet_list(classes=["saliency-scores-legend"])
        for header, meaning in table.legend():
            paragraph = nodes.paragraph()
            paragraph += [nodes.strong(text=header), nodes.Text(f": {meaning}")]
            legend += nodes.list_item("", paragraph)
        box += legend
        return [box]


def table_node(table: ScoreTable) -> nodes.table:
    """A docutils table of the ranked methods, titled by its caption.

    A failed method's message spans the figure columns.
    """
    columns = table.columns()
    node = nodes.table(classes=["saliency-scores-table"])
    node += nodes.title(text=table.caption())
    group = nodes.tgroup(cols=len(columns))
    node += group
    group += [nodes.colspec(colwidth=3 if c.key == "method" else 1) for c in columns]
    head = nodes.thead()
    head += _row([column.header for column in columns])
    body = nodes.tbody()
    for row, cells in zip(table.rows, table.cells(), strict=True):
        body += _row(cells[:3], span=len(columns) - 3) if row.error else _row(cells)
    group += [head, body]
    return node


def _row(cells: list[str], span: int = 0) -> nodes.row:
    """A table row; with ``span``, its last cell reaches across ``span`` more columns."""
    row = nodes.row()
    for cell in cells:
        row += nodes.entry("", nodes.paragraph(text=cell))
    if span:
        row.children[-1]["morecols"] = span
    return row


__all__ = ["SaliencyScores", "table_node"]
