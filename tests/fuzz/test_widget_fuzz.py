"""Property-based fuzz of the ``SaliencyWidget`` constructor.

Generated arguments: images in every form and defect (arrays of odd ranks, dtypes and sizes,
lists, paths that do not exist, empty batches), labels, class names, masks, methods, sign
modes, colour maps, opacities, blends, clips, compare modes and page sizes. Construction ends
in a ``TypeError`` / ``ValueError`` / ``FileNotFoundError`` naming the argument, or in a widget
whose first map is finite (or, for an image the model cannot take, that shows the image's
error): never another exception. Then any message a view could send: the kernel side ignores
what is malformed and answers the rest with finite maps.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from plain_errors import AUTOGRAPH_MARKERS

from saliency_widgets.widget import SaliencyWidget

SIZE, CLASSES = 8, 3


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(6)
    inputs = keras.Input((SIZE, SIZE, 3))
    h = keras.layers.Conv2D(2, 3, activation="relu", padding="same")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(h))


@st.composite
def images(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["good"] * 5 + ["rank", "size", "dtype", "empty", "other"]))
    count = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    array = (rng.random((count, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    if kind == "rank":
        return array[..., 0] if draw(st.booleans()) else array[None]
    if kind == "size":
        return (rng.random((count, SIZE + 3, SIZE, 3)) * 255).astype(np.uint8)
    if kind == "dtype":
        dtype = draw(st.sampled_from(["float32", "float16", "bool", "object", "<U1"]))
        return array.astype(dtype) if dtype != "<U1" else array.astype(str)
    if kind == "empty":
        return array[:0]
    if kind == "other":
        return draw(st.sampled_from([None, 3, "no/such/folder", [], [array[0], array[0][:4]]]))
    return array if draw(st.booleans()) else list(array)


OPTIONS = {
    "labels": st.one_of(st.none(), st.lists(st.integers(-1, CLASSES), max_size=4), st.just("x")),
    "class_names": st.one_of(
        st.none(),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
        st.just(len),
    ),
    "method": st.sampled_from(["gradients", "gradcam", "smoothgrad", "nope", 3]),
    "top_k": st.one_of(st.integers(-1, 5), st.just(1.5)),
    "sign": st.sampled_from(["absolute", "positive", "negative", "both"]),
    "cmap": st.sampled_from(["inferno", "viridis", "no_such_map", ""]),
    "alpha": st.one_of(st.floats(-0.5, 1.5), st.just(float("nan"))),
    "blend": st.sampled_from(["heat", "mask", "mask-image", "add"]),
    "clip": st.one_of(st.floats(-5, 120), st.just(float("nan"))),
    "batch_size": st.sampled_from([1, 4, 0, -2, 2.5]),
    "per_page": st.sampled_from([24, 1, 0, -1, 2.5]),
    "compare": st.sampled_from(["single", "classes", "methods", "all"]),
    "methods": st.sampled_from([None, "gradients,gradcam", "nope", ["gradients"], 3, ""]),
    "masks": st.sampled_from([None, "x", "ones", "small"]),
}

MASKS = {"x": "x", "ones": np.ones((3, SIZE, SIZE), bool), "small": np.ones((3, 2, 2), bool)}


@settings(max_examples=200)
@given(x=images(), chosen=st.fixed_dictionaries({}, optional=OPTIONS))
def test_constructor_gives_a_plain_error_or_a_finite_map(model, x, chosen):
    if chosen.get("method") == "smoothgrad":
        chosen["method"] = "gradients"  # keep successful constructions cheap
    if chosen.get("masks") is not None:
        masks = MASKS[chosen["masks"]]
        count = len(x) if isinstance(x, np.ndarray | list) else 0
        chosen["masks"] = masks[:count] if isinstance(masks, np.ndarray) else masks
    try:
        widget = SaliencyWidget(model, x, prefetch=False, **chosen)
    except (TypeError, ValueError, FileNotFoundError) as error:
        event(type(error).__name__)
        text = str(error)
        assert text and not any(marker in text for marker in AUTOGRAPH_MARKERS), text
        return
    try:
        widget.wait(120)
        try:
            saliency = widget.current_map()
        except RuntimeError as failure:  # an image the model cannot take: shown in the widget
            event("widget showing an image's error")
            assert str(failure).startswith("The model could not process image 0: ")
            return
        event("widget with a map")
        assert saliency.shape == (SIZE, SIZE) and np.isfinite(saliency).all()
        assert 0.0 <= saliency.min() and saliency.max() <= 1.0
    finally:
        widget.close()


MESSAGES = st.fixed_dictionaries(
    {"kind": st.sampled_from(["want", "images", "fly", None, 3])},
    optional={
        "image": st.one_of(st.integers(-2, 5), st.just("0"), st.none(), st.booleans()),
        "methods": st.one_of(
            st.lists(st.sampled_from(["gradients", "gradcam", "nope"]), max_size=3), st.just("x")
        ),
        "class_index": st.one_of(st.integers(-1, 5), st.none(), st.just(1.5)),
        "indices": st.one_of(st.lists(st.integers(-1, 4), max_size=3), st.just(7)),
        "thumbs": st.booleans(),
    },
)


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(MESSAGES, min_size=1, max_size=6))
def test_views_messages_never_break_the_kernel_side(widget_under_fire, messages):
    from saliency_widgets.widget.testing import View

    widget = widget_under_fire
    view = View(widget)
    for content in messages:
        view.send_raw(content)
    widget.wait(120)
    assert widget._state.selection.image in range(3)
    for content, buffers in view.received:
        event(content["kind"])
        if content["kind"] == "maps":
            assert len(buffers[0]) == len(content["classes"]) * SIZE * SIZE
            assert all(np.isfinite(scale) for scale in content["scales"])


@pytest.fixture(scope="module")
def widget_under_fire(model):
    images = (np.random.default_rng(0).random((3, SIZE, SIZE, 3)) * 255).astype(np.uint8)
    widget = SaliencyWidget(model, images, prefetch=False, methods="gradients,gradcam")
    widget.wait(120)
    yield widget
    widget.close()
