"""Command line: ``saliency-widgets demo`` renders maps of the bundled model to a PNG grid."""

from __future__ import annotations

import argparse
import os
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

    model = zoo.load_shapes_model()
    samples = zoo.load_samples(count)
    x = zoo.preprocess(samples.images)
    logits = sw.inspection.explained_model(model).model.predict(x, verbose=0)
    predicted = sw.top_k(logits, 1)
    start = time.perf_counter()
    logits, maps = sw.gradients(model, x, predicted)
    elapsed = time.perf_counter() - start
    names = zoo.class_names()
    titles = render.probability_titles(logits, predicted[:, 0], names, "softmax")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``saliency-widgets`` command.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="saliency-widgets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="render maps of the bundled model to a PNG")
    demo_parser.add_argument("--out", type=Path, default=Path("build/demo/grid.png"))
    demo_parser.add_argument("--count", type=int, default=12)
    args = parser.parse_args(argv)
    if args.command == "demo":
        path = demo(args.out, args.count)
        print(f"wrote {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
