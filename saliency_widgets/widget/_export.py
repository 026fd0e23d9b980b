"""A widget's explorer of every image: ``to_html``'s work, said and shown as it goes.

Every image's top-K classes are explained with each method in one batched engine call per
method (:func:`saliency_widgets.explorer.explain_top_k`), after a line that says what the page
will weigh (:func:`saliency_widgets.explorer.estimate_page`), with a progress bar. Past
``max_images`` a page would grow to tens of megabytes (1,000 bundled images: about 33 MB) and is
refused with that estimate, naming ``images=`` to pick some.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from saliency_widgets import explorer
from saliency_widgets.widget import _checks
from saliency_widgets.widget._catalogue import Catalogue


def export_html(
    model: Any,
    catalogue: Catalogue,
    inputs: Sequence[np.ndarray | None],
    view: explorer.ViewOptions,
    *,
    methods: Sequence[str],
    top_k: int,
    images: Sequence[int] | None,
    steps: int,
    max_images: int,
    batch_size: int,
    progress: bool,
    metrics: bool = True,
    sanity: bool = False,
) -> str:
    """The explorer fragment of the chosen images (see the module's description).

    Args:
        model: The widget's model.
        catalogue: Its pictures, names, labels, masks and classes.
        inputs: The model input of each image (``None`` where the model failed on it).
        view: The initial display.
        methods: Registry names, already checked.
        top_k: Classes per image.
        images: Indices of the images to include (all when ``None``).
        steps: Quantisation steps of the stored maps.
        max_images: The most images a page may hold.
        batch_size: Images per engine call.
        progress: Print the estimate and show a progress bar.
        metrics: Put each map's trust figures in the page.
        sanity: Put each map's sanity check in the page.

    Returns:
        The HTML fragment.

    Raises:
        RuntimeError: If the model failed on a chosen image.
        ValueError: For bad indices, or more images than ``max_images``.
    """
    count = len(catalogue)
    chosen = list(range(count)) if images is None else list(images)
    for i in chosen:
        _checks.checked_index("images[]", i, count)
    if not chosen:
        raise ValueError("images is empty: name at least one image index")
    failed = [i for i in chosen if inputs[i] is None]
    if failed:
        raise RuntimeError(f"the model failed on images {failed}: nothing to export")
    shape = catalogue.shown[chosen[0]].shape
    estimate = explorer.estimate_page(len(chosen), top_k, len(methods), shape, steps, metrics)
    if len(chosen) > max_images:
        raise ValueError(
            f"{len(chosen)} images would make a page of about {estimate.megabytes:.0f} MB "
            f"(max_images={max_images}): pass images=[...] to pick some, or raise max_images"
        )
    stages = [*methods, *(["metrics"] if metrics else []), *(["sanity"] if sanity else [])]
    bar = explorer.Progress(stages, enabled=progress)
    bar.say(
        f"Explorer of {len(chosen)} images × top-{top_k} × {len(methods)} methods: "
        f"about {estimate.megabytes:.1f} MB"
    )
    masks = catalogue.masks
    data = explorer.explain_top_k(
        model,
        [catalogue.shown[i] for i in chosen],
        np.stack([inputs[i] for i in chosen]),  # type: ignore[misc]
        methods=methods,
        top_k=top_k,
        class_names=catalogue.class_names,
        labels=None if catalogue.labels is None else catalogue.labels[chosen],
        names=[catalogue.pictures.names[i] for i in chosen],
        masks=None if masks is None else [masks[i] for i in chosen],
        batch_size=batch_size,
        progress=bar.step,
        metrics=metrics,
        sanity=sanity,
    )
    bar.close()
    return explorer.fragment(
        data,
        **dataclasses.asdict(view),  # sign, cmap, alpha, blend, clip, compare, outline
        steps=steps,
    )


__all__ = ["export_html"]
