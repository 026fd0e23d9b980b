"""Methods ranked by their figures on a set of images: a model and images in, one table out.

The code the ``.. saliency-scores::`` Sphinx directive and the ``saliency-widgets scores``
command share, as :mod:`saliency_widgets.grid` is for grids. Options arrive as text and are
parsed once, by :meth:`ScoreOptions.from_strings`; :func:`make_score_table` loads the inputs
(:func:`saliency_widgets.sources.load_sources`), asks the engine for each method's figures
(:func:`saliency_widgets.metrics.compare_methods`), ranks them
(:func:`saliency_widgets.ranking.rank_methods`) and returns a :class:`ScoreTable`: the rows, and
the one formatting of their cells, caption and legend that the directive's table and the
command's markdown both print. Nothing here imports TensorFlow until figures are computed.

Example:
    >>> from saliency_widgets import score_table
    >>> options = score_table.ScoreOptions.from_strings(
    ...     {"methods": "gradients, gradcam", "rank-by": "energy"}
    ... )
    >>> table = score_table.make_score_table(
    ...     model="saliency_widgets.zoo:load_shapes_model",
    ...     images="saliency_widgets.zoo:load_samples(2)",
    ...     preprocess="saliency_widgets.zoo:preprocess",
    ...     options=options,
    ... )
    >>> [row.method for row in table.rows]
    ['gradcam', 'gradients']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from saliency_widgets._grid_options import (
    OPTION_HELP,
    ClassSelection,
    number_option,
    switch_option,
)
from saliency_widgets._messages import InputError, describe
from saliency_widgets._named_inputs import MODELS, ModelCache, is_reference
from saliency_widgets.predict import predict
from saliency_widgets.ranking import CRITERIA, DEFAULT_CRITERION, MethodScores, rank_methods
from saliency_widgets.sources import checked_class_names, load_sources

SCORE_OPTION_HELP: dict[str, str] = {
    "methods": "comma-separated method names (default: every registered method)",
    "rank-by": f"the figure to rank by: {', '.join(CRITERIA)} (default {DEFAULT_CRITERION})",
    "classes": OPTION_HELP["classes"],
    "steps": "deletion and insertion steps (default: the scorecard's, 16)",
    "sanity": "also run the sanity check on every map: its rank correlation with the map of a "
    "copy of the model whose top layers are re-initialised (one more run of each method; a "
    "switch: on when given without a value)",
    "batch-size": OPTION_HELP["batch-size"],
}
"""Every option :meth:`ScoreOptions.from_strings` reads, with its help: the directive's options
and the ``scores`` command's flags are made from it."""
SCORE_SWITCHES = ("sanity",)
"""Options of :data:`SCORE_OPTION_HELP` that are on or off."""


@dataclass(frozen=True)
class ScoreOptions:
    """Which methods are compared, on which classes, and how they are ranked.

    Attributes:
        methods: Registered method names, or ``None`` for every registered method.
        rank_by: A name in :data:`saliency_widgets.ranking.CRITERIA`.
        classes: Which classes the maps explain (default each image's predicted class).
        steps: Deletion and insertion steps, ``None`` for the scorecard's default.
        sanity: Whether each map is also sanity-checked.
        batch_size: Images per compiled engine call.
    """

    methods: tuple[str, ...] | None = None
    rank_by: str = DEFAULT_CRITERION
    classes: ClassSelection = field(default_factory=ClassSelection)
    steps: int | None = None
    sanity: bool = False
    batch_size: int = 32

    KEYS = tuple(SCORE_OPTION_HELP)
    """The option names :meth:`from_strings` reads."""

    @classmethod
    def from_strings(cls, options: Mapping[str, str]) -> ScoreOptions:
        """Parses options written as text (directive options, command-line flags).

        Method names are checked against the registry when the table is made (the registry
        loads TensorFlow); everything else is checked here.

        Args:
            options: Any of :attr:`KEYS`; missing keys keep their defaults.

        Returns:
            The options.

        Raises:
            InputError: For an unknown key or a value that does not parse, naming the option
                and what it accepts.
        """
        unknown = sorted(set(options) - set(cls.KEYS))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}; known: {list(cls.KEYS)}")
        values: dict[str, Any] = {}
        if "methods" in options:
            text = str(options["methods"])
            names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
            if not names:
                raise InputError("methods: expected one or more method names, e.g. gradients")
            values["methods"] = names
        if "rank-by" in options:
            name = str(options["rank-by"]).strip().lower()
            if name not in CRITERIA:
                raise InputError(
                    f"rank-by: {options['rank-by']!r}; expected one of {', '.join(CRITERIA)}"
                )
            values["rank_by"] = name
        if "classes" in options:
            values["classes"] = ClassSelection.parse(str(options["classes"]))
        if "steps" in options:
            values["steps"] = number_option(options, "steps", int, 2, 256)
        if "batch-size" in options:
            values["batch_size"] = number_option(options, "batch-size", int, 1, 4096)
        for name in SCORE_SWITCHES:
            if name in options:
                values[name] = switch_option(options, name)
        return cls(**values)


@dataclass(frozen=True)
class Column:
    """A column of a :class:`ScoreTable`.

    Attributes:
        key: What it shows: a name in :data:`~saliency_widgets.ranking.CRITERIA`, or
            ``"rank"``, ``"method"``, ``"verdict"``.
        header: Its heading, with ↑ or ↓ for which way is better.
        meaning: What it says, for the legend.
    """

    key: str
    header: str
    meaning: str


@dataclass(frozen=True)
class ScoreTable:
    """Methods ranked by one figure, with what the table needs to say about them.

    Attributes:
        rows: One :class:`~saliency_widgets.ranking.MethodScores` per method, best first.
        rank_by: The figure they are ranked by.
        images: The images, in words (their names, or the reference that made them).
        count: How many images.
        classes: The explained classes, in words (``"each image's predicted class"``).
        steps: Deletion and insertion steps.
        sanity_threshold: ``|ρ|`` that flags a map, when the sanity check ran.
    """

    rows: tuple[MethodScores, ...]
    rank_by: str
    images: str
    count: int
    classes: str
    steps: int
    sanity_threshold: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The table as plain JSON types (what the directive caches)."""
        return {
            "rows": [row.to_dict() for row in self.rows],
            "rank_by": self.rank_by,
            "images": self.images,
            "count": self.count,
            "classes": self.classes,
            "steps": self.steps,
            "sanity_threshold": self.sanity_threshold,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> ScoreTable:
        """The table :meth:`to_dict` wrote."""
        values = dict(record)
        values["rows"] = tuple(MethodScores.from_dict(row) for row in record["rows"])
        return cls(**values)

    @property
    def scored(self) -> tuple[MethodScores, ...]:
        """The rows with figures (the methods that ran)."""
        return tuple(row for row in self.rows if row.error is None)

    @property
    def failures(self) -> tuple[MethodScores, ...]:
        """The rows of methods that failed."""
        return tuple(row for row in self.rows if row.error is not None)

    def columns(self) -> tuple[Column, ...]:
        """The columns shown: localisation only with masks, completeness and sanity when known."""
        scored = self.scored

        def known(name: str) -> bool:
            return any(CRITERIA[name].value(row) is not None for row in scored)

        wanted = ["gain", "deletion", "insertion"]
        wanted += [name for name in ("pointing", "energy") if known(name)]
        wanted += ["gini"] + [name for name in ("completeness", "sanity") if known(name)]
        columns = [Column("rank", "#", "rank by " + self.rank_by)]
        columns.append(Column("method", "method", "the registered method, its own parameters"))
        columns += [_COLUMNS[name] for name in wanted]
        if "sanity" in wanted:
            columns.append(
                Column(
                    "verdict",
                    "sanity verdict",
                    f"how many of the method's maps the sanity check flags (|ρ| ≥ "
                    f"{self.sanity_threshold:g}: the map barely changes when the model's top "
                    "layers are re-initialised); the method fails when more than half are",
                )
            )
        return tuple(columns)

    def cells(self) -> list[list[str]]:
        """Each row's cells as text, in :meth:`columns` order (``"failed: …"`` for a failure)."""
        columns = self.columns()
        chosen = CRITERIA[self.rank_by]
        place = 0
        out = []
        for row in self.rows:
            ranked = chosen.value(row) is not None
            place += ranked
            if row.error is not None:
                out.append(["", row.label, f"failed: {row.error}"] + [""] * (len(columns) - 3))
                continue
            out.append([_cell(column.key, row, place if ranked else None) for column in columns])
        return out

    def caption(self) -> str:
        """What the table ranks, on what: e.g. ``"23 methods ranked by gain on 8 images …"``."""
        scores = {row.score for row in self.scored if row.score}
        score = f"of its {scores.pop()} " if len(scores) == 1 else ""
        return (
            f"{len(self.rows)} methods ranked by {self.rank_by} ({_better(self.rank_by)}) on "
            f"{self.images}, explaining {self.classes}; deletion and insertion {score}in "
            f"{self.steps} steps of 1/{self.steps} of the pixels."
        )

    def baseline(self) -> str:
        """What a map that knows nothing scores on these images (a random order, a uniform map)."""
        scored = self.scored
        if not scored:
            return "No method could be scored."
        first = scored[0]  # every method's random order and masks are the same
        text = (
            f"A random pixel order scores deletion {first.deletion_random:.3f} and insertion "
            f"{first.insertion_random:.3f} on these images: the gains are measured from it."
        )
        if first.mask_share is not None:
            text += (
                f" The objects cover {first.mask_share:.0%} of the images: a uniform map's "
                "energy, and about a random point's chance of a pointing hit."
            )
        return text

    def legend(self) -> list[tuple[str, str]]:
        """Each figure column's heading and meaning."""
        return [(c.header, c.meaning) for c in self.columns() if c.key not in ("rank", "method")]

    def markdown(self) -> str:
        """The table as GitHub markdown, with its caption, legend and baseline."""
        headers = [column.header for column in self.columns()]
        lines = [self.caption(), "", "| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join("---:" if i != 1 else "---" for i in range(len(headers))) + "|")
        lines += ["| " + " | ".join(cells) + " |" for cells in self.cells()]
        lines += ["", self.baseline(), ""]
        lines += [f"- **{header}**: {meaning}" for header, meaning in self.legend()]
        return "\n".join(lines)


_COLUMNS = {
    name: Column(name, f"{header} {'↑' if CRITERIA[name].higher_is_better else '↓'}", meaning)
    for name, header, meaning in (
        ("gain", "gain", CRITERIA["gain"].meaning),
        ("deletion", "deletion AUC", CRITERIA["deletion"].meaning),
        ("insertion", "insertion AUC", CRITERIA["insertion"].meaning),
        ("pointing", "pointing", CRITERIA["pointing"].meaning),
        ("energy", "energy", CRITERIA["energy"].meaning),
        ("gini", "Gini", CRITERIA["gini"].meaning),
        ("completeness", "completeness gap", CRITERIA["completeness"].meaning),
        ("sanity", "sanity ρ", CRITERIA["sanity"].meaning),
    )
}


def _better(name: str) -> str:
    return "higher is better" if CRITERIA[name].higher_is_better else "lower is better"


def _cell(key: str, row: MethodScores, place: int | None) -> str:
    if key == "rank":
        return "" if place is None else str(place)
    if key == "method":
        return row.label
    if key == "verdict":
        if row.flagged is None:
            return ""
        word = "passes" if row.passes_sanity else "fails"
        return f"{word} ({row.flagged}/{row.maps} flagged)"
    value = CRITERIA[key].value(row)
    if value is None:
        return "—"
    if key in ("pointing", "energy"):
        return f"{value:.0%}"
    if key == "completeness":
        return f"{value:.1%}"
    if key == "gain":
        return f"{value:+.3f}"
    if key in ("gini", "sanity"):
        return f"{value:.2f}"
    return f"{value:.3f}"


def _classes_in_words(selection: ClassSelection) -> str:
    if selection.top == 1:
        return "each image's predicted class"
    if selection.top is not None:
        return f"each image's top {selection.top} classes"
    return "the classes " + ", ".join(str(item) for item in selection.items)


def make_score_table(
    *,
    model: Any,
    images: object,
    options: ScoreOptions | None = None,
    preprocess: Callable[[np.ndarray], Any] | str | None = None,
    class_names: str | Sequence[str] | None = None,
    base: Path | None = None,
    models: ModelCache = MODELS,
    verbose: bool = False,
    model_inputs: object = None,
) -> ScoreTable:
    """Loads the inputs, scores every method's maps and ranks the methods: the whole table.

    Args:
        model: A Keras model, a ``.keras``/``.h5`` file or a ``module:callable`` reference.
        images: Patterns, paths, arrays or a reference (see
            :func:`saliency_widgets.sources.load_sources`); a source with object masks (such
            as :func:`saliency_widgets.zoo.load_samples`) adds pointing and energy.
        options: Methods, classes, ranking, steps and sanity (default: every method on each
            image's predicted class, ranked by gain).
        preprocess: ``f(images) -> model input`` or a reference to it.
        class_names: Names, a reference, a ``.json``/``.txt`` file or a comma list.
        base: Folder that relative paths are resolved against.
        models: The model cache (a model is loaded once per process).
        verbose: Whether to show a progress bar over the methods.
        model_inputs: A model's other inputs, as the grid takes them: the scores of a model
            with several inputs are not computed yet, so giving them is refused by name.

    Returns:
        The :class:`ScoreTable`, best method first.

    Raises:
        InputError: For any bad input or option (an unknown method names the known ones).
    """
    from saliency_widgets.metrics import SANITY_THRESHOLD, compare_methods  # TensorFlow
    from saliency_widgets.metrics.scorecard import STEPS

    options = options or ScoreOptions()
    if model_inputs is not None:
        raise InputError(
            "model-inputs: the scores of a model with several inputs are not computed yet"
        )
    sources = load_sources(
        model, images, preprocess=preprocess, class_names=class_names, base=base, models=models
    )
    try:
        prediction = predict(
            sources.model, sources.inputs, batch_size=options.batch_size, name="the images"
        )
    except Exception as error:
        raise InputError(f"the model failed on the images: {describe(error, limit=300)}") from error
    names = checked_class_names(sources.class_names, prediction.logits.shape[1])
    indices = options.classes.indices(prediction.logits, names)
    steps = options.steps or STEPS
    try:
        rows = compare_methods(
            sources.model,
            sources.inputs,
            indices,
            options.methods,
            masks=sources.masks,
            sanity=options.sanity,
            steps=steps,
            batch_size=options.batch_size,
            verbose=verbose,
        )
    except ValueError as error:  # the methods' names, or the images, masks or classes
        raise InputError(str(error)) from error
    described = (
        f"{len(sources)} images from {images.strip()}"
        if isinstance(images, str) and is_reference(images)
        else f"{len(sources)} images ({', '.join(sources.names)})"
    )
    if sources.masks is not None:
        described += " with their object masks"
    return ScoreTable(
        rows=tuple(rank_methods(rows, options.rank_by)),
        rank_by=options.rank_by,
        images=described,
        count=len(sources),
        classes=_classes_in_words(options.classes),
        steps=steps,
        sanity_threshold=SANITY_THRESHOLD if options.sanity else None,
    )


__all__ = [
    "SCORE_OPTION_HELP",
    "SCORE_SWITCHES",
    "Column",
    "ScoreOptions",
    "ScoreTable",
    "make_score_table",
]
