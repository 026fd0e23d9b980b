"""``.. results-table::`` renders benchmark results (JSON) as tables and a bar chart.

.. code-block:: rst

    .. results-table:: /../benchmarks/results/latest.json
       :records: records
       :group: model
       :where: case=batch
       :columns: contender, median_s, ratio, maps_per_s, status
       :label: contender
       :bar: ratio
       :meta: machine, plan
       :image: randomization.png

       Shown instead when the file does not exist yet (any reStructuredText).

Results are produced by other tools on other schedules, so a missing file is normal: the page
then shows the directive's content, with no warning, and is read again as soon as the file
appears. A file that exists but cannot be read is a warning. Charts are PNG files named by the
hash of the data and options, in the doctree folder, like the saliency-grid directive's grids.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment
    from sphinx.util.typing import ExtensionMetadata

logger = logging.getLogger(__name__)

WAITING = "results_table_waiting"
"""``BuildEnvironment`` attribute: docname -> files that did not exist when it was read."""


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _format(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_format(v) for v in value) or "none"
    return str(value)


def _matches(record: dict, where: list[tuple[str, str]]) -> bool:
    return all(_format(record.get(key)) == value for key, value in where)


class ResultsTable(SphinxDirective):
    """Tables (and optionally a bar chart) of the records in a JSON results file."""

    required_arguments = 1
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "records": directives.unchanged,
        "group": directives.unchanged,
        "where": directives.unchanged,
        "columns": directives.unchanged,
        "label": directives.unchanged,
        "bar": directives.unchanged,
        "log": directives.flag,
        "meta": directives.unchanged,
        "caption": directives.unchanged,
        "image": directives.unchanged,
    }

    def run(self) -> list[nodes.Node]:
        """Reads the file and builds the nodes, or shows the content when it is missing."""
        relative, absolute = self.env.relfn2path(self.arguments[0], self.env.docname)
        path = Path(absolute)
        if not path.is_file():
            _waiting(self.env).setdefault(self.env.docname, []).append(str(path))
            holder = nodes.container(classes=["results-missing"])
            self.state.nested_parse(self.content, self.content_offset, holder)
            return [holder]
        self.env.note_dependency(path)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            return self._render(document, path.read_bytes())
        except (ValueError, KeyError, TypeError) as error:
            logger.warning(
                "results-table: cannot read %s: %s",
                relative,
                error,
                location=(self.env.docname, self.lineno),
            )
            return []

    def _render(self, document: Any, raw: bytes) -> list[nodes.Node]:
        key = self.options.get("records", "records")
        records = document if isinstance(document, list) else document[key]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise TypeError(f"{key!r} is not a list of records")
        where = [tuple(part.split("=", 1)) for part in _csv(self.options.get("where"))]
        records = [r for r in records if _matches(r, where)]
        output: list[nodes.Node] = []
        if isinstance(document, dict):
            output += self._meta(document)
        group = self.options.get("group")
        groups: dict[str, list[dict]] = {}
        for record in records:
            groups.setdefault(_format(record.get(group)) if group else "", []).append(record)
        for name, rows in groups.items():
            section: list[nodes.Node] = []
            if name:
                section.append(nodes.rubric(text=f"{group}: {name}"))
            section.append(self._table(rows, name))
            if "bar" in self.options:
                chart = self._chart(rows, name, raw)
                if chart is not None:
                    section.append(chart)
            output += section
        if not records:
            output.append(nodes.paragraph(text="No records match."))
        return output + self._extra_image()

    def _extra_image(self) -> list[nodes.Node]:
        """A picture written next to the results (``:image:``, relative to the JSON file)."""
        if "image" not in self.options:
            return []
        _, json_path = self.env.relfn2path(self.arguments[0], self.env.docname)
        picture = Path(json_path).parent / self.options["image"]
        if not picture.is_file():
            return []
        self.env.note_dependency(picture)
        uri = "/" + Path(os.path.relpath(picture, self.env.srcdir)).as_posix()
        return [nodes.image(uri=uri, alt=self.options["image"], classes=["results-chart"])]

    def _meta(self, document: dict) -> list[nodes.Node]:
        fields = nodes.field_list()
        for name in _csv(self.options.get("meta")):
            if name in document:
                body = nodes.field_body("", nodes.paragraph(text=_format(document[name])))
                fields += nodes.field("", nodes.field_name(text=name), body)
        return [fields] if len(fields) else []

    def _columns(self, rows: Sequence[dict]) -> list[str]:
        wanted = _csv(self.options.get("columns"))
        if wanted:
            return [c for c in wanted if any(c in r for r in rows)]
        scalar = (str, int, float, bool, type(None))
        found: list[str] = []
        for row in rows:
            found += [k for k, v in row.items() if isinstance(v, scalar) and k not in found]
        return found

    def _table(self, rows: Sequence[dict], name: str) -> nodes.table:
        columns = self._columns(rows)
        table = nodes.table(classes=["results-table"])
        if self.options.get("caption"):
            suffix = f" ({name})" if name else ""
            table += nodes.title(text=self.options["caption"] + suffix)
        group = nodes.tgroup(cols=len(columns))
        table += group
        group += [nodes.colspec(colwidth=1) for _ in columns]
        head = nodes.thead()
        head += self._row(columns)
        body = nodes.tbody()
        body += [self._row([_format(row.get(c)) for c in columns]) for row in rows]
        group += [head, body]
        return table

    @staticmethod
    def _row(cells: Sequence[str]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph(text=cell))
        return row

    def _chart(self, rows: Sequence[dict], name: str, raw: bytes) -> nodes.image | None:
        bar = self.options["bar"]
        labels = _csv(self.options.get("label")) or [self._columns(rows)[0]]
        points = [
            (" / ".join(_format(r.get(k)) for k in labels), float(r[bar]))
            for r in rows
            if isinstance(r.get(bar), int | float) and math.isfinite(r[bar])
        ]
        if not points:
            return None
        digest = hashlib.sha256(raw + repr((name, sorted(self.options.items()))).encode())
        png = Path(self.env.doctreedir) / "results-table" / f"chart-{digest.hexdigest()[:20]}.png"
        if not png.is_file():
            _draw(points, bar, "log" in self.options, png)
        uri = "/" + Path(os.path.relpath(png, self.env.srcdir)).as_posix()
        alt = (
            f"{bar} by {', '.join(labels)}"
            + (f" ({name})" if name else "")
            + ": "
            + "; ".join(f"{label} {_format(value)}" for label, value in points)
        )
        return nodes.image(uri=uri, alt=alt, classes=["results-chart"])


def _draw(points: Sequence[tuple[str, float]], what: str, log: bool, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 0.45 * len(points) + 1.0), layout="constrained")
    axes = figure.add_subplot()
    labels = [label for label, _ in points][::-1]
    values = [value for _, value in points][::-1]
    bars = axes.barh(labels, values, color="#c2410c")
    axes.bar_label(bars, labels=[_format(v) for v in values], padding=3, fontsize=8)
    axes.set_xlabel(what + (" (log scale)" if log else ""))
    if log and all(v > 0 for v in values):
        axes.set_xscale("log")
    axes.spines[["top", "right"]].set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    figure.savefig(temporary, format="png", dpi=110)
    os.replace(temporary, path)


def _waiting(env: BuildEnvironment) -> dict[str, list[str]]:
    if not hasattr(env, WAITING):
        setattr(env, WAITING, {})
    return getattr(env, WAITING)


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    _waiting(env).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: Any) -> None:
    theirs = _waiting(other)
    _waiting(env).update({doc: theirs[doc] for doc in docnames if doc in theirs})


def _arrived(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Pages to read again because a results file they wait for now exists."""
    return [
        doc
        for doc, paths in _waiting(env).items()
        if doc not in removed and any(Path(p).is_file() for p in paths)
    ]


def setup(app: Sphinx) -> ExtensionMetadata:
    """Registers ``results-table``.

    Args:
        app: The Sphinx application.

    Returns:
        Extension metadata.
    """
    app.add_directive("results-table", ResultsTable)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _arrived)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
