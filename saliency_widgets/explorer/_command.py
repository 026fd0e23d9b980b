"""``saliency-widgets explore``: the explorer as a complete page, from the command line.

The command takes the ``render`` command's flags (added by the same
:func:`saliency_widgets.cli.add_grid_arguments`) plus ``--methods``, and writes the same
fragment as :meth:`SaliencyWidget.save_html` and the ``saliency-explorer`` directive, wrapped in
a page that opens from disk::

    saliency-widgets explore --model saliency_widgets.zoo:load_shapes_model
        --images "saliency_widgets.zoo:load_samples(16)"
        --preprocess saliency_widgets.zoo:preprocess
        --class-names saliency_widgets.zoo:class_names --classes top-5
        --methods gradients,smoothgrad,gradcam --out explorer.html
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_explore_parser(commands: argparse._SubParsersAction) -> None:
    """Adds the ``explore`` subcommand to the ``saliency-widgets`` parser."""
    from saliency_widgets.cli import add_grid_arguments
    from saliency_widgets.explorer._data import DEFAULT_METHODS

    parser = commands.add_parser(
        "explore",
        help="write a saliency explorer page: click through images, classes and methods "
        "without a kernel (the twin of the saliency-explorer Sphinx directive)",
        description="Explain each image's top-K classes with several methods and write a "
        "self-contained HTML page to explore them. Options take the same text as the "
        "saliency-explorer directive's options (the render command's, plus --methods).",
    )
    add_grid_arguments(parser)
    parser.add_argument(
        "--methods",
        help=f"comma-separated method names (default: {','.join(DEFAULT_METHODS)})",
    )
    parser.add_argument("--title", default="Saliency explorer", help="the page's title")
    parser.add_argument("--out", type=Path, required=True, help="where to write the HTML page")


def explore_to_file(args: argparse.Namespace) -> int:
    """Runs ``saliency-widgets explore``.

    Args:
        args: The parsed ``explore`` arguments.

    Returns:
        The exit status: 0, or 1 with a message on stderr when an input or option is wrong.
    """
    from saliency_widgets.cli import grid_option_strings
    from saliency_widgets.explorer._html import page
    from saliency_widgets.explorer._sources import GridError, explorer_from_sources

    strings = grid_option_strings(args)
    if args.methods is not None:
        strings["methods"] = args.methods
    images = args.images[0] if len(args.images) == 1 else args.images
    start = time.perf_counter()
    try:
        html = explorer_from_sources(
            model=args.model,
            images=images,
            strings=strings,
            preprocess=args.preprocess,
            class_names=args.class_names,
            base=Path.cwd(),
            verbose="auto",
        )
    except GridError as error:
        print(f"saliency-widgets explore: error: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    temporary = args.out.with_name(f".{args.out.name}.tmp")
    temporary.write_text(page(html, args.title), encoding="utf-8")
    temporary.replace(args.out)
    size = args.out.stat().st_size
    print(
        f"wrote {args.out.resolve()} ({size / 1024:.0f} KB) in {time.perf_counter() - start:.1f}s"
    )
    return 0


__all__ = ["add_explore_parser", "explore_to_file"]
