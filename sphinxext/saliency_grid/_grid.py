"""The ``.. saliency-grid::`` directive: a grid of saliency maps as a figure.

What it computes is :func:`saliency_widgets.grid.make_grid`'s PNG, with a JSON sidecar of the
titles that make the alt text; what it shows is Sphinx's own ``figure`` directive run on that
picture, so captions, legends, ``:name:`` and ``:width:`` behave as for any figure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from sphinx.directives.patches import Figure

from saliency_widgets import grid
from sphinxext.saliency_grid._directive import (
    GRID_OPTIONS,
    INPUT_OPTIONS,
    ComputedDirective,
    Problem,
    text_options,
)

FIGURE_OPTIONS = tuple(name for name in Figure.option_spec if name != "target")
"""Options of Sphinx's ``figure`` directive, handled by it (``:target:`` makes no sense here)."""


class SaliencyGrid(ComputedDirective):
    """``.. saliency-grid::`` embeds a grid of saliency maps as a figure."""

    kind = "saliency-grid"
    suffixes = (".png", ".json")
    option_spec: ClassVar[dict[str, Any]] = text_options(
        INPUT_OPTIONS + GRID_OPTIONS + FIGURE_OPTIONS
    )

    def check_options(self) -> None:
        """Converts the figure options with docutils' own converters, before any computing.

        A bad ``:width:`` then costs no grid and is reported like every other problem.
        """
        converted = {
            name: _checked(name, self.options[name], Figure.option_spec[name])
            for name in FIGURE_OPTIONS
            if name in self.options
        }
        converted["figclass"] = [*converted.get("figclass", []), "saliency-grid"]
        self.figure_options = converted

    def compute(
        self, inputs: dict[str, Any], options: dict[str, str]
    ) -> tuple[dict[str, bytes], str]:
        """The grid's PNG and a sidecar with its method, image names and titles."""
        png, result = grid.make_grid(
            model=inputs["model"],
            images=inputs["images"],
            options=grid.GridOptions.from_strings(options),
            preprocess=inputs.get("preprocess"),
            class_names=inputs.get("class-names"),
            model_inputs=inputs.get("model-inputs"),
            base=self.page_folder(),
        )
        info: dict[str, Any] = {
            "method": result.method,
            "names": list(result.names),
            "titles": [list(titles) for titles in result.titles],
        }
        if result.scores is not None:  # the figures, readable without the picture
            info["captions"] = [[list(lines) for lines in c] for c in result.captions() or ()]
            info["scores"] = [[_figures(card.to_dict()) for card in c] for c in result.scores]
        return {
            ".png": png,
            ".json": json.dumps(info, indent=1).encode(),
        }, f"{len(result.names)} images"

    def output_nodes(self, files: dict[str, Path]) -> list[nodes.Node]:
        """Sphinx's ``figure`` directive, run on the grid's picture: caption, legend, name."""
        info = json.loads(files[".json"].read_text(encoding="utf-8"))
        self.figure_options.setdefault("alt", _alt(info))
        uri = "/" + Path(os.path.relpath(files[".png"], self.env.srcdir)).as_posix()
        figure = Figure(
            self.name,
            [uri],
            self.figure_options,
            self.content,
            self.lineno,
            self.content_offset,
            self.block_text,
            self.state,
            self.state_machine,
        )
        result: list[nodes.Node] = figure.run()
        problems = [node for node in result if isinstance(node, nodes.system_message)]
        if problems:  # e.g. a caption that is not a paragraph
            raise Problem(problems[0].astext().splitlines()[0].strip())
        return result


def _checked(name: str, value: str, convert: Any) -> Any:
    try:
        return convert(value)
    except ValueError as error:
        raise Problem(f"{name}: {error}") from None


def _figures(record: dict[str, Any]) -> dict[str, Any]:
    """A scorecard's record without its curves: the figures the caption prints, unrounded."""
    for name in ("deletion", "insertion"):
        record[name] = {
            key: value for key, value in record[name].items() if not key.endswith("curve")
        }
    record.pop("fractions")
    return record


def _alt(info: dict[str, Any], limit: int = 400) -> str:
    """Alt text that says what the picture shows: method, images and their top classes.

    When the grid prints each map's figures, they follow its class, and the limit is five
    times longer.
    """
    captions = info.get("captions") or [[[] for _ in titles] for titles in info["titles"]]
    described = "; ".join(
        f"{name}: "
        + ", ".join(
            f"{title} ({' · '.join(lines)})" if lines else title
            for title, lines in zip(titles, per_class, strict=True)
        )
        for name, titles, per_class in zip(info["names"], info["titles"], captions, strict=True)
    )
    text = f"{info['method']} saliency maps of {len(info['names'])} images ({described})"
    limit = limit * 5 if "captions" in info else limit
    return text if len(text) <= limit else text[: limit - 2] + "…)"


__all__ = ["FIGURE_OPTIONS", "SaliencyGrid"]
