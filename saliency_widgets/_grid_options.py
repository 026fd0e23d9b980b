"""Options of a saliency grid, parsed from text: directive options and command-line flags.

:data:`INPUT_HELP` and :data:`OPTION_HELP` are the one list of what the ``saliency-grid`` and
``saliency-explorer`` directives and the ``render`` and ``explore`` commands take: the directives
make their option specs from them, :func:`add_grid_arguments` the command line's flags.
:meth:`GridOptions.from_strings` is the one parser of their values; every error names the option
at fault.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from saliency_widgets import display
from saliency_widgets._messages import InputError
from saliency_widgets.render import MAX_PANELS_PER_ROW, PANEL_SIZE, PANELS
from saliency_widgets.targets import top_k


@dataclass(frozen=True)
class ClassSelection:
    """Which classes each image's maps explain.

    Attributes:
        top: Explain each image's ``top`` highest-scoring classes (``None`` when ``items`` is set).
        items: Class names or indices explained for every image.
    """

    top: int | None = 1
    items: tuple[str | int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> ClassSelection:
        """Parses ``"top-3"``, ``"predicted"`` (top-1), or a comma list of names and indices.

        Args:
            text: The option's text.

        Returns:
            The selection.

        Raises:
            InputError: For an empty list or a ``top-K`` with K < 1.
        """
        text = text.strip()
        lowered = text.lower().replace(" ", "")
        if lowered in ("predicted", "top", "top-1", "top1"):
            return cls(top=1)
        if lowered.startswith("top-") or (lowered.startswith("top") and lowered[3:].isdigit()):
            digits = lowered[4:] if lowered.startswith("top-") else lowered[3:]
            if not digits.isdigit() or int(digits) < 1:
                raise InputError(f"classes: {text!r}: expected top-K with K >= 1, e.g. top-3")
            return cls(top=int(digits))
        items = tuple(
            int(item) if item.lstrip("-").isdigit() else item
            for item in (part.strip() for part in text.split(","))
            if item
        )
        if not items:
            raise InputError("classes: expected top-K or a comma list of class names/indices")
        return cls(top=None, items=items)

    def indices(self, logits: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
        """The ``(N, K)`` class indices to explain.

        Args:
            logits: ``(N, L)`` scores of the images.
            class_names: Names by index (may be empty when only indices are used).

        Returns:
            ``(N, K)`` int64 indices.

        Raises:
            InputError: For an unknown class name, an index out of range, or K > L.
        """
        units = logits.shape[1]
        if self.top is not None:
            if self.top > units:
                raise InputError(f"classes: top-{self.top} but the model has {units} classes")
            return top_k(logits, self.top)
        chosen = []
        for item in self.items:
            if isinstance(item, int):
                if not 0 <= item < units:
                    raise InputError(f"classes: index {item} out of range (the model has {units})")
                chosen.append(item)
            elif not class_names:
                raise InputError(f"classes: {item!r} is a name but no class names were given")
            elif item not in class_names:
                raise InputError(
                    f"classes: {item!r} is not a class name; known: {', '.join(class_names)}"
                )
            else:
                chosen.append(list(class_names).index(item))
        return np.tile(np.asarray(chosen, dtype=np.int64), (len(logits), 1))


def parse_params(text: str) -> dict[str, Any]:
    """Parses method parameters written ``name=value, name=value``.

    Values are Python literals (``16``, ``0.1``, ``"max"``, ``(1, 2)``, ``None``); a bare word is
    taken as a string (``layer=last_conv``).

    Args:
        text: The parameters; empty for none.

    Returns:
        The parameters by name.

    Raises:
        InputError: If the text is not a list of ``name=value`` pairs.
    """
    if not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
    except SyntaxError as error:
        raise InputError(f"params: {text!r} is not a list of name=value pairs") from error
    assert isinstance(call, ast.Call)
    if call.args or any(k.arg is None for k in call.keywords):
        raise InputError(f"params: {text!r}: write every parameter as name=value")
    params: dict[str, Any] = {}
    for keyword in call.keywords:
        name, value = keyword.arg, keyword.value
        assert name is not None  # ``**mapping`` was refused above
        if isinstance(value, ast.Name) and value.id not in ("None", "True", "False"):
            params[name] = value.id
            continue
        try:
            params[name] = ast.literal_eval(value)
        except ValueError as error:
            raise InputError(
                f"params: the value of {name!r} must be a literal (number, string, tuple)"
            ) from error
    return params


def number_option(
    options: Mapping[str, str], name: str, kind: type, low: float, high: float
) -> Any:
    """Option ``name`` of ``options`` as a ``kind`` (int, float) in ``[low, high]``.

    Raises:
        InputError: Naming the option, for text that is not a number or one out of range.
    """
    text = str(options[name]).strip()
    try:
        value = kind(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a {kind.__name__}") from None
    if not low <= value <= high:
        raise InputError(f"{name}: {text} is outside [{low}, {high}]")
    return value


def _display_option(options: Mapping[str, str], name: str, key: str) -> float:
    """A number whose range :func:`saliency_widgets.display.check` owns (``clip``, opacity)."""
    text = str(options[name]).strip()
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name}: {text!r} is not a float") from None
    checked: dict[str, Any] = {key: value}
    try:
        display.check(**checked)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
    return value


INPUT_HELP: dict[str, str] = {
    "model": "a .keras/.h5 file or a module:callable reference",
    "images": "image files, folders, glob patterns or one module:callable reference",
    "preprocess": "module:callable mapping the uint8 images to the model's inputs",
    "class-names": "module:callable, a .json/.txt file, or a comma-separated list",
    "model-inputs": (
        "for a model with several inputs, module:callable giving the ones other than the "
        "images: a dict by input name, or a function images -> dict"
    ),
}
"""The inputs of a grid, shared by the directive's options and the command line's flags."""

OPTION_HELP: dict[str, str] = {
    "method": "an engine method name (default: gradients)",
    "params": "method parameters: name=value, name=value",
    "classes": "top-K (default top-1) or a comma list of class names/indices",
    "postprocessing": "a filter name, none, or default (the method's own)",
    "panels": "image, map, overlay (default: image, overlay)",
    "cols": "images per row",
    "overlay": f"overlay opacity in [0, 1] (default {display.DEFAULT_ALPHA:g})",
    "cmap": f"matplotlib colour map (default {display.DEFAULT_CMAP})",
    "blend": f"how overlays are drawn: {', '.join(display.BLENDS)} (default "
    f"{display.DEFAULT_BLEND}: the colour map over the whole image)",
    "clip": f"percentile of each map drawn at full colour, in (0, 100] (default "
    f"{display.DEFAULT_CLIP:g}; 100: the maximum)",
    "dpi": "PNG resolution (default 100)",
    "batch-size": "images per compiled engine call (default 32)",
    "metrics": "print each map's figures under it: deletion and insertion AUC beside a random "
    "pixel order's, Gini, and pointing hit and energy in mask when the images have masks "
    "(a switch: on when given without a value; also yes/no)",
}
"""Every option :meth:`GridOptions.from_strings` reads, with its help: the one list that the
directive's options and the command line's flags are made from."""

SWITCHES = ("metrics",)
"""Options of :data:`OPTION_HELP` that are on or off: given without a value they are on (a
directive's ``:metrics:``, the command line's ``--metrics``)."""
SWITCH_VALUES = {
    **dict.fromkeys(("", "on", "yes", "true"), True),
    **dict.fromkeys(("off", "no", "false"), False),
}
"""What a switch's text may say, and what it means."""


@dataclass(frozen=True)
class GridOptions:
    """How a grid is computed and drawn.

    Attributes:
        method: A name in :data:`saliency_widgets.methods.METHODS`.
        params: Extra keyword parameters of the method (``samples=16`` for SmoothGrad, …).
        classes: Which classes to explain.
        postprocessing: A name in :data:`saliency_widgets.filters.FILTERS`, ``"none"``, or
            ``"default"`` for the method's own default.
        panels: Panels per image: ``"image"`` once, then ``"map"``/``"overlay"`` per class.
        cols: Images per row (``None``: as many as fit in :data:`MAX_PANELS_PER_ROW` panels).
        alpha: Opacity of the overlays' colour map (the highest opacity for ``"mask"``).
        cmap: A matplotlib colour map.
        blend: How overlays are drawn, one of :data:`saliency_widgets.display.BLENDS`.
        clip: Percentile of each map drawn at full colour, in ``(0, 100]`` (100: the maximum).
        dpi: PNG resolution (a panel is ``panel_size`` inches).
        panel_size: Inches per panel.
        batch_size: Images per compiled engine call.
        metrics: Whether each map is scored (:func:`saliency_widgets.metrics.scorecard`) and
            its figures printed under it.
    """

    method: str = "gradients"
    params: Mapping[str, Any] = field(default_factory=dict)
    classes: ClassSelection = field(default_factory=ClassSelection)
    postprocessing: str = "default"
    panels: tuple[str, ...] = ("image", "overlay")
    cols: int | None = None
    alpha: float = display.DEFAULT_ALPHA
    cmap: str = display.DEFAULT_CMAP
    blend: str = display.DEFAULT_BLEND
    clip: float = display.DEFAULT_CLIP
    dpi: int = 100
    panel_size: float = PANEL_SIZE
    batch_size: int = 32
    metrics: bool = False

    KEYS = tuple(OPTION_HELP)
    """The option names :meth:`from_strings` reads (``overlay`` sets ``alpha``)."""

    def drawing(self) -> dict[str, Any]:
        """The keyword arguments of :func:`saliency_widgets.render.render_grid` these set.

        ``cols`` is left out: here it counts images, there panels.
        """
        names = ("panels", "alpha", "cmap", "blend", "clip", "panel_size", "dpi")
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_strings(cls, options: Mapping[str, str]) -> GridOptions:
        """Parses options written as text (directive options, command-line flags).

        Args:
            options: Any of :attr:`KEYS`; missing keys keep their defaults. Method and filter
                names are checked by :func:`make_grid`, which knows the registries.

        Returns:
            The options.

        Raises:
            InputError: For an unknown key or a value that does not parse, naming the option.
        """
        unknown = sorted(set(options) - set(cls.KEYS))
        if unknown:
            raise InputError(f"unknown option(s) {unknown}; known: {list(cls.KEYS)}")
        values: dict[str, Any] = {}
        if "method" in options:
            values["method"] = str(options["method"]).strip()
        if "params" in options:
            values["params"] = parse_params(str(options["params"]))
        if "classes" in options:
            values["classes"] = ClassSelection.parse(str(options["classes"]))
        if "postprocessing" in options:
            values["postprocessing"] = str(options["postprocessing"]).strip()
        if "panels" in options:
            values["panels"] = _parse_panels(str(options["panels"]))
        if "cols" in options:
            values["cols"] = number_option(options, "cols", int, 1, 64)
        if "overlay" in options:
            values["alpha"] = _display_option(options, "overlay", "alpha")
        if "dpi" in options:
            values["dpi"] = number_option(options, "dpi", int, 20, 600)
        if "batch-size" in options:
            values["batch_size"] = number_option(options, "batch-size", int, 1, 4096)
        for name in SWITCHES:
            if name in options:
                values[name] = switch_option(options, name)
        if "blend" in options:
            values["blend"] = str(options["blend"]).strip().lower()
            if values["blend"] not in display.BLENDS:
                raise InputError(
                    f"blend: {options['blend']!r}; expected one of {', '.join(display.BLENDS)}"
                )
        if "clip" in options:
            values["clip"] = _display_option(options, "clip", "clip")
        if "cmap" in options:
            values["cmap"] = str(options["cmap"]).strip()
            try:  # the display step's colour table knows which names exist
                display.colour_table(values["cmap"])
            except ValueError as error:
                raise InputError(str(error)) from None
        return cls(**values)


def switch_option(options: Mapping[str, str], name: str) -> bool:
    """Switch ``name`` of ``options``: on for no value (``:metrics:``) or one of ``SWITCH_VALUES``.

    Raises:
        InputError: Naming the option, for any other text.
    """
    text = str(options[name]).strip()
    if text.lower() not in SWITCH_VALUES:
        raise InputError(
            f"{name}: {text!r}: a switch takes no value (on), or yes/no, on/off, true/false"
        )
    return SWITCH_VALUES[text.lower()]


def _parse_panels(text: str) -> tuple[str, ...]:
    panels = tuple(p.strip() for p in text.replace(" ", ",").split(",") if p.strip())
    if not panels or set(panels) - set(PANELS) or len(set(panels)) != len(panels):
        raise InputError(f"panels: {text!r}: expected distinct names among {', '.join(PANELS)}")
    if panels == ("image",):
        raise InputError("panels: 'image' alone shows no saliency; add map and/or overlay")
    return panels


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the input flags (``--model``, ``--images``, …), made from :data:`INPUT_HELP`.

    Args:
        parser: A subcommand's parser.
    """
    for name, text in INPUT_HELP.items():
        required = name in ("model", "images")
        nargs = "+" if name == "images" else None
        parser.add_argument(f"--{name}", required=required, nargs=nargs, help=text)


def add_option_arguments(
    parser: argparse.ArgumentParser,
    options: Mapping[str, str] = OPTION_HELP,
    switches: Sequence[str] = SWITCHES,
) -> None:
    """Adds one flag per option, with its help; a switch's flag alone turns it on (or on/off).

    Args:
        parser: A subcommand's parser.
        options: Option names and their help (default the grid's, :data:`OPTION_HELP`).
        switches: Which of them are switches.
    """
    for name, text in options.items():
        if name in switches:  # ``--metrics`` alone, as ``:metrics:`` alone, turns it on
            parser.add_argument(f"--{name}", nargs="?", const="on", help=text)
        else:
            parser.add_argument(f"--{name}", help=text)


def add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the grid's input and option flags, made from :data:`INPUT_HELP` and :data:`OPTION_HELP`.

    Args:
        parser: A subcommand's parser (``render``, ``explore``).
    """
    add_input_arguments(parser)
    add_option_arguments(parser)


def option_strings(
    args: argparse.Namespace, options: Mapping[str, str] = OPTION_HELP
) -> dict[str, str]:
    """The option flags given on the command line, as text keyed by option name.

    Args:
        args: Arguments parsed by a parser with :func:`add_option_arguments`'s flags.
        options: The options those flags were made from (default the grid's).

    Returns:
        The options given, by name.
    """
    values = {name: getattr(args, name.replace("-", "_")) for name in options}
    return {name: value for name, value in values.items() if value is not None}


def grid_option_strings(args: argparse.Namespace) -> dict[str, str]:
    """The grid's option flags given, as :meth:`GridOptions.from_strings` reads them.

    Args:
        args: Arguments parsed by a parser :func:`add_grid_arguments` made.

    Returns:
        The options given, by name.
    """
    return option_strings(args)


__all__ = [
    "INPUT_HELP",
    "MAX_PANELS_PER_ROW",
    "OPTION_HELP",
    "PANELS",
    "SWITCHES",
    "ClassSelection",
    "GridOptions",
    "add_grid_arguments",
    "add_input_arguments",
    "add_option_arguments",
    "grid_option_strings",
    "number_option",
    "option_strings",
    "parse_params",
    "switch_option",
]
