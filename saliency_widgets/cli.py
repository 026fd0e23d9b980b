"""Command line: ``saliency-widgets demo``, ``render``, ``explore`` and ``scores``.

``demo`` explains the bundled model on bundled images. ``render`` is the command-line twin of the
``.. saliency-grid::`` Sphinx directive, for scripts and CI: the same options, the same code
(:mod:`saliency_widgets.grid`), the same picture::

    saliency-widgets render --model model.keras --images "photos/*.jpg" --out grid.png
    saliency-widgets render --model saliency_widgets.zoo:load_shapes_model
        --images "saliency_widgets.zoo:load_samples(8)" --preprocess saliency_widgets.zoo:preprocess
        --class-names saliency_widgets.zoo:class_names --classes top-2 --out grid.png

``explore`` is the twin of ``.. saliency-explorer::``: the render command's flags plus
``--methods``, and the same fragment as :meth:`SaliencyWidget.save_html`, wrapped in a page that
opens from disk::

    saliency-widgets explore --model saliency_widgets.zoo:load_shapes_model
        --images "saliency_widgets.zoo:load_samples(16)"
        --preprocess saliency_widgets.zoo:preprocess
        --class-names saliency_widgets.zoo:class_names --classes top-5
        --methods gradients,smoothgrad,gradcam --out explorer.html

``scores`` is the twin of ``.. saliency-scores::``: the methods ranked by their figures on the
images, printed as a markdown table (and written to ``--out`` if given)::

    saliency-widgets scores --model saliency_widgets.zoo:load_shapes_model
        --images "saliency_widgets.zoo:load_samples(8)"
        --preprocess saliency_widgets.zoo:preprocess
        --methods gradients,gradcam,guided_backprop --rank-by energy --sanity
"""

from __future__ import annotations

import os

# TensorFlow reads this once, when it first logs during its import, so it is set before anything
# imports TensorFlow (nothing below does at import: the engine is loaded when maps are computed);
# setdefault lets a value the user exported win.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from saliency_widgets import grid, render
from saliency_widgets._grid_options import (
    add_grid_arguments,
    add_input_arguments,
    add_option_arguments,
    grid_option_strings,
    option_strings,
)
from saliency_widgets._messages import InputError
from saliency_widgets.explorer import DEFAULT_METHODS, explorer_from_sources, page
from saliency_widgets.score_table import (
    SCORE_OPTION_HELP,
    SCORE_SWITCHES,
    ScoreOptions,
    make_score_table,
)
from saliency_widgets.sources import load_sources


def demo(out: Path, count: int = 12) -> Path:
    """Explains the bundled model on ``count`` held-out images and writes a PNG grid.

    Each image gets three panels (image, map, overlay) titled with the predicted class and its
    probability, and the true class when the prediction is wrong.

    Args:
        out: Where to write the PNG.
        count: How many bundled images to explain.

    Returns:
        The written path.
    """
    sources = load_sources(
        "saliency_widgets.zoo:load_shapes_model",
        f"saliency_widgets.zoo:load_samples({int(count)})",
        preprocess="saliency_widgets.zoo:preprocess",
        class_names="saliency_widgets.zoo:class_names",
    )
    start = time.perf_counter()
    result = grid.compute_grid(sources, grid.GridOptions())
    elapsed = time.perf_counter() - start
    predicted, truth = result.indices[:, 0], np.asarray(sources.labels)  # the samples' labels
    titles = [
        column[0] if p == t else f"{column[0]} (true: {sources.class_names[t]})"
        for column, p, t in zip(result.titles, predicted, truth, strict=True)
    ]
    # Four images a row, each as image, map and overlay: the grid layout without file names.
    figure = render.render_grid(result.images, result.maps, titles, cols=4 * len(render.PANELS))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render.figure_to_png(figure))
    accuracy = float(np.mean(predicted == truth))
    print(f"explained {count} images in {elapsed:.2f}s (accuracy on them: {accuracy:.0%})")
    return out


def _write_atomically(out: Path, write: Callable[[Path], object]) -> None:
    """Writes ``out`` through a hidden temporary file, so that no half-written file is left."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    write(temporary)
    temporary.replace(out)


def _inputs(args: argparse.Namespace) -> dict[str, object]:
    """The input flags as :func:`saliency_widgets.sources.load_sources` takes them."""
    return {
        "model": args.model,
        "images": args.images[0] if len(args.images) == 1 else args.images,
        "preprocess": args.preprocess,
        "class_names": args.class_names,
        "model_inputs": args.model_inputs,
        "base": Path.cwd(),
        "verbose": "auto",
    }


def render_to_file(args: argparse.Namespace) -> int:
    """Runs ``saliency-widgets render``: one grid PNG from a model and images.

    Args:
        args: The parsed ``render`` arguments.

    Returns:
        The exit status: 0, or 1 with a message on stderr when an input or option is wrong.
    """
    start = time.perf_counter()
    try:
        options = grid.GridOptions.from_strings(grid_option_strings(args))
        png, result = grid.make_grid(options=options, **_inputs(args))  # type: ignore[arg-type]
    except InputError as error:
        print(f"saliency-widgets render: error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    _write_atomically(args.out, lambda path: path.write_bytes(png))
    count, classes = result.indices.shape
    for line in figure_lines(result):  # the figures under the maps, readable without the PNG
        print(line)
    print(
        f"explained {count} images x {classes} class(es) with {result.method} in {elapsed:.2f}s; "
        f"wrote {args.out.resolve()}"
    )
    return 0


def figure_lines(result: grid.GridResult) -> list[str]:
    """One line per map with the figures printed under it (none when ``metrics`` is off).

    Args:
        result: A computed grid.

    Returns:
        ``"<image> · <title>: <caption lines joined by ' · '>"`` per map.
    """
    captions = result.captions()
    if captions is None:
        return []
    return [
        f"{name} · {title}: {' · '.join(caption)}"
        for name, titles, per_class in zip(result.names, result.titles, captions, strict=True)
        for title, caption in zip(titles, per_class, strict=True)
    ]


def explore_to_file(args: argparse.Namespace) -> int:
    """Runs ``saliency-widgets explore``: one explorer page from a model and images.

    Args:
        args: The parsed ``explore`` arguments.

    Returns:
        The exit status: 0, or 1 with a message on stderr when an input or option is wrong.
    """
    strings = grid_option_strings(args)
    if args.methods is not None:
        strings["methods"] = args.methods
    if args.sanity is not None:
        strings["sanity"] = args.sanity
    start = time.perf_counter()
    try:
        html = explorer_from_sources(strings=strings, **_inputs(args))  # type: ignore[arg-type]
    except InputError as error:
        print(f"saliency-widgets explore: error: {error}", file=sys.stderr)
        return 1
    _write_atomically(args.out, lambda path: path.write_text(page(html, args.title), "utf-8"))
    size = args.out.stat().st_size
    print(
        f"wrote {args.out.resolve()} ({size / 1024:.0f} KB) in {time.perf_counter() - start:.1f}s"
    )
    return 0


def scores_to_text(args: argparse.Namespace) -> int:
    """Runs ``saliency-widgets scores``: the methods ranked by their figures, as markdown.

    Args:
        args: The parsed ``scores`` arguments.

    Returns:
        The exit status: 0 (a method that failed is a row and a warning on stderr), or 1 with a
        message on stderr when an input or option is wrong.
    """
    start = time.perf_counter()
    try:
        options = ScoreOptions.from_strings(option_strings(args, SCORE_OPTION_HELP))
        table = make_score_table(options=options, **{**_inputs(args), "verbose": True})  # type: ignore[arg-type]
    except InputError as error:
        print(f"saliency-widgets scores: error: {error}", file=sys.stderr)
        return 1
    for row in table.failures:
        print(
            f"saliency-widgets scores: warning: {row.method} failed: {row.error}", file=sys.stderr
        )
    text = table.markdown()
    print(text)
    if args.out is not None:
        _write_atomically(args.out, lambda path: path.write_text(text + "\n", "utf-8"))
        print(f"wrote {args.out.resolve()}")
    elapsed = time.perf_counter() - start
    print(f"scored {len(table.rows)} methods on {table.count} images in {elapsed:.1f}s")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``saliency-widgets`` argument parser, its flags made from the directives' options."""
    main_parser = argparse.ArgumentParser(
        prog="saliency-widgets", description="Saliency maps of Keras image models as files."
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="render maps of the bundled model to a PNG")
    demo_parser.add_argument("--out", type=Path, default=Path("build/demo/grid.png"))
    demo_parser.add_argument("--count", type=int, default=12)
    render_parser = commands.add_parser(
        "render",
        help="render a saliency grid PNG (the twin of the saliency-grid Sphinx directive)",
        description="Explain a model on images and write the grid as a PNG. Options take the "
        "same text as the saliency-grid directive's options.",
    )
    add_grid_arguments(render_parser)
    render_parser.add_argument("--out", type=Path, required=True, help="where to write the PNG")
    explore_parser = commands.add_parser(
        "explore",
        help="write a saliency explorer page: click through images, classes and methods "
        "without a kernel (the twin of the saliency-explorer Sphinx directive)",
        description="Explain each image's top-K classes with several methods and write a "
        "self-contained HTML page to explore them. Options take the same text as the "
        "saliency-explorer directive's options (the render command's, plus --methods).",
    )
    add_grid_arguments(explore_parser)
    explore_parser.add_argument(
        "--methods", help=f"comma-separated method names (default: {','.join(DEFAULT_METHODS)})"
    )
    explore_parser.add_argument(
        "--sanity",
        nargs="?",
        const="on",
        help="add each map's sanity check to its trust panel (runs every method again on a "
        "copy of the model whose top layers are re-initialised; the figures of --metrics, "
        "on by default in an explorer, are computed with the maps)",
    )
    explore_parser.add_argument("--title", default="Saliency explorer", help="the page's title")
    explore_parser.add_argument(
        "--out", type=Path, required=True, help="where to write the HTML page"
    )
    scores_parser = commands.add_parser(
        "scores",
        help="rank methods by their figures on images, as a markdown table (the twin of the "
        "saliency-scores Sphinx directive)",
        description="Explain the images with each method, score every map (deletion and "
        "insertion against a random order, localisation when the images have masks, Gini, "
        "completeness, and the sanity check with --sanity) and print the methods ranked by one "
        "figure. Options take the same text as the saliency-scores directive's options.",
    )
    add_input_arguments(scores_parser)
    add_option_arguments(scores_parser, SCORE_OPTION_HELP, SCORE_SWITCHES)
    scores_parser.add_argument("--out", type=Path, help="also write the table to this file")
    return main_parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``saliency-widgets`` command.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = parser().parse_args(argv)
    if args.command == "demo":
        path = demo(args.out, args.count)
        print(f"wrote {path.resolve()}")
        return 0
    if args.command == "render":
        return render_to_file(args)
    if args.command == "scores":
        return scores_to_text(args)
    return explore_to_file(args)


if __name__ == "__main__":
    sys.exit(main())
