"""Command line: ``saliency-widgets demo`` and ``saliency-widgets render`` write grids of maps.

``demo`` explains the bundled model on bundled images. ``render`` is the command-line twin of the
``.. saliency-grid::`` Sphinx directive, for scripts and CI: the same options, the same code
(:mod:`saliency_widgets.grid`), the same picture::

    saliency-widgets render --model model.keras --images "photos/*.jpg" --out grid.png
    saliency-widgets render --model saliency_widgets.zoo:load_shapes_model
        --images "saliency_widgets.zoo:load_samples(8)" --preprocess saliency_widgets.zoo:preprocess
        --class-names saliency_widgets.zoo:class_names --classes top-2 --out grid.png
"""

from __future__ import annotations

import os

# TensorFlow reads this once, when it first logs during its import, so it is set before anything
# here imports TensorFlow (the package's __init__, which runs first, imports it lazily);
# setdefault lets a value the user exported win.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path


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
    import numpy as np

    import saliency_widgets as sw
    from saliency_widgets import render, zoo
    from saliency_widgets.predict import predict, probability_titles

    model = zoo.load_shapes_model()
    samples = zoo.load_samples(count)
    x = zoo.preprocess(samples.images)
    predicted = predict(model, x).top_k(1)
    start = time.perf_counter()
    logits, maps = sw.gradients(model, x, predicted)
    elapsed = time.perf_counter() - start
    names = zoo.class_names()
    titles = probability_titles(logits, predicted[:, 0], names, "softmax")
    titles = [
        title if p == t else f"{title} (true: {names[t]})"
        for title, p, t in zip(titles, predicted[:, 0], samples.labels, strict=True)
    ]
    figure = render.render_grid(samples.images, maps[..., 0], titles)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(render.figure_to_png(figure))
    accuracy = float(np.mean(predicted[:, 0] == samples.labels))
    print(f"explained {count} images in {elapsed:.2f}s (accuracy on them: {accuracy:.0%})")
    return out


def render_to_file(args: argparse.Namespace) -> int:
    """Runs ``saliency-widgets render``: one grid PNG from a model and images.

    Args:
        args: The parsed ``render`` arguments.

    Returns:
        The exit status: 0, or 1 with a message on stderr when an input or option is wrong.
    """
    from saliency_widgets import grid

    strings = grid_option_strings(args)
    images = args.images[0] if len(args.images) == 1 else args.images
    start = time.perf_counter()
    try:
        options = grid.GridOptions.from_strings(strings)
        png, result = grid.make_grid(
            model=args.model,
            images=images,
            options=options,
            preprocess=args.preprocess,
            class_names=args.class_names,
            base=Path.cwd(),
            verbose="auto",
        )
    except grid.GridError as error:
        print(f"saliency-widgets render: error: {error}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(f".{args.out.name}.tmp")
    temporary.write_bytes(png)
    temporary.replace(args.out)
    count, classes = result.indices.shape
    print(
        f"explained {count} images x {classes} class(es) with {result.method} in {elapsed:.2f}s; "
        f"wrote {args.out.resolve()}"
    )
    return 0


def add_grid_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the grid's input and option flags, made from the lists the directive uses too.

    Args:
        parser: A subcommand's parser (``render``, and any command taking the same options).
    """
    from saliency_widgets._grid_options import INPUT_HELP, OPTION_HELP

    for name, text in INPUT_HELP.items():
        required = name in ("model", "images")
        nargs = "+" if name == "images" else None
        parser.add_argument(f"--{name}", required=required, nargs=nargs, help=text)
    for name, text in OPTION_HELP.items():
        parser.add_argument(f"--{name}", help=text)


def grid_option_strings(args: argparse.Namespace) -> dict[str, str]:
    """The option flags given on the command line, as :meth:`GridOptions.from_strings` reads."""
    from saliency_widgets._grid_options import OPTION_HELP

    values = {name: getattr(args, name.replace("-", "_")) for name in OPTION_HELP}
    return {name: value for name, value in values.items() if value is not None}


def _add_render_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "render",
        help="render a saliency grid PNG (the twin of the saliency-grid Sphinx directive)",
        description="Explain a model on images and write the grid as a PNG. Options take the "
        "same text as the saliency-grid directive's options.",
    )
    add_grid_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="where to write the PNG")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``saliency-widgets`` command.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="saliency-widgets", description=__doc__.splitlines()[0].replace("``", "")
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="render maps of the bundled model to a PNG")
    demo_parser.add_argument("--out", type=Path, default=Path("build/demo/grid.png"))
    demo_parser.add_argument("--count", type=int, default=12)
    _add_render_parser(commands)
    from saliency_widgets.explorer._command import add_explore_parser, explore_to_file

    add_explore_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        path = demo(args.out, args.count)
        print(f"wrote {path.resolve()}")
    elif args.command == "render":
        return render_to_file(args)
    elif args.command == "explore":
        return explore_to_file(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
