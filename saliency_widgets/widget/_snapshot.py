"""The static explorer of a widget's state: what an output shows where no widget manager runs.

A notebook saved with a widget output carries, beside the live view, a ``text/html`` entry
(:meth:`SaliencyWidget._repr_mimebundle_`): the explorer of the selected image's page of
images, their predictions and every map computed when the output was made, drawn by the same
ES module. nbconvert exports and notebooks rendered as documentation pages show it.
"""

from __future__ import annotations

import dataclasses
import html

import numpy as np

from saliency_widgets import explorer
from saliency_widgets.methods import get_method
from saliency_widgets.widget._catalogue import Catalogue
from saliency_widgets.widget._state import WidgetState


def snapshot_html(catalogue: Catalogue, state: WidgetState, view: explorer.ViewOptions) -> str:
    """The explorer fragment of the widget's state (a note while predictions are missing).

    Args:
        catalogue: The widget's pictures, names and classes.
        state: Its predictions, selection and cached maps.
        view: Its display options.

    Returns:
        HTML.
    """
    with state.lock:
        top, selection, probabilities = state.top, state.selection, state.probabilities
    count = len(catalogue)
    if top is None or probabilities is None:
        return html.escape(
            f"SaliencyWidget: {count} images, still being predicted when this output was "
            "saved; run the notebook to explore them."
        ).join(("<p>", "</p>"))
    per_page = catalogue.per_page
    first = selection.image // per_page * per_page
    chosen = list(range(first, min(first + per_page, count)))
    indices = top[chosen]
    found = []
    for method in catalogue.methods:
        held = [state.held(i, method, tuple(int(c) for c in top[i])) for i in chosen]
        if all(maps is None for maps in held) and method != selection.method:
            continue
        shape = next((maps.shape for maps in held if maps is not None), None)
        shape = shape or (indices.shape[1], *catalogue.shown[chosen[0]].shape[:2])
        maps = np.stack([np.zeros(shape, np.float32) if m is None else m for m in held])
        present = np.array([m is not None for m in held])
        found.append(explorer.MethodMaps(method, get_method(method).label or method, maps, present))
    data = explorer.ExplorerData(
        images=tuple(catalogue.shown[i] for i in chosen),
        names=tuple(catalogue.pictures.names[i] for i in chosen),
        labels=None if catalogue.labels is None else catalogue.labels[chosen],
        class_names=tuple(catalogue.class_names or ()),
        indices=indices,
        probabilities=np.take_along_axis(probabilities[chosen], indices, axis=1),
        activation=catalogue.activation,
        methods=tuple(found),
        masks=None if catalogue.masks is None else tuple(catalogue.masks[i] for i in chosen),
    )
    start = {
        "image": selection.image - first,
        "classIndex": selection.class_index,
        "method": selection.method,
    }
    return explorer.fragment(
        data,
        **dataclasses.asdict(view),  # sign, cmap, alpha, blend, clip, compare, outline
        per_page=per_page,
        start=start,
        optimize=False,  # made while the cell runs: fast, not smallest
    )


__all__ = ["snapshot_html"]
