"""Property-based fuzz of ``explain`` and every registered method.

Generated inputs cover shapes and ranks, dtypes (uint8, float16, bool, object, complex, strings),
NaN/inf, empty batches, index shapes and values, and parameter names and values (the documented
ones, misspelt ones and wrong types). Each call must end in a ``TypeError``/``ValueError`` whose
message names what was wrong (and carries no autograph frame), or in finite maps of the right
shape: never another exception, a crash or a NaN.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from plain_errors import check_plain_error

import saliency_widgets as sw
from saliency_widgets.methods import METHODS

SIZE, CHANNELS, CLASSES = 8, 3, 4


@pytest.fixture(scope="module")
def model() -> keras.Model:
    keras.utils.set_random_seed(5)
    inputs = keras.Input((SIZE, SIZE, CHANNELS))
    h = keras.layers.Conv2D(3, 3, activation="relu", padding="same", name="features")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(h)
    return keras.Model(inputs, outputs)


DTYPES = st.sampled_from(
    ["float32", "float64", "float16", "uint8", "int32", "bool", "object", "complex64", "<U1"]
)


@st.composite
def images(draw: st.DrawFn) -> object:
    """Mostly well-formed batches, with every kind of defect drawn now and then."""
    kind = draw(st.sampled_from(["good"] * 6 + ["shape", "dtype", "values", "list", "scalar"]))
    batch = draw(st.integers(0, 3) if kind != "good" else st.integers(1, 3))
    shape: tuple = (batch, SIZE, SIZE, CHANNELS)
    if kind == "shape":
        shape = draw(
            st.sampled_from(
                [
                    (SIZE, SIZE, CHANNELS),
                    (batch, SIZE, SIZE),
                    (batch, SIZE, SIZE, 1),
                    (batch, SIZE + 1, SIZE, CHANNELS),
                    (batch, SIZE, SIZE, CHANNELS, 1),
                    (batch,),
                    (),
                ]
            )
        )
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    array = rng.random(shape).astype(np.float32)
    if kind == "dtype":
        dtype = draw(DTYPES)
        array = (array * 255).astype(dtype) if dtype != "<U1" else array.astype(str)
    if kind == "values" and array.size:
        array.flat[draw(st.integers(0, array.size - 1))] = draw(
            st.sampled_from([np.nan, np.inf, -np.inf, 1e38])
        )
    if kind == "list":
        return list(array) if array.ndim else [array]
    if kind == "scalar":
        return draw(st.sampled_from([None, 3, "images", 1.5]))
    return array


def indices(batch_hint: int = 2) -> st.SearchStrategy:
    return st.one_of(
        st.none(),
        st.integers(-2, CLASSES + 1),
        st.lists(st.integers(-1, CLASSES), min_size=0, max_size=4),
        st.lists(st.lists(st.integers(0, CLASSES), min_size=1, max_size=3), max_size=3),
        st.sampled_from([1.5, "cat", True, np.zeros((2, 2, 2), int)]),
    )


VALUES = st.one_of(
    st.integers(-3, 70),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from(
        [
            None,
            True,
            "zeros",
            "blurred",
            "uniform",
            "max",
            "mean",
            "sum",
            "features",
            "nope",
            "softmax",
            "gradients",
            "integrated_gradients",
        ]
    ),
    st.just(np.zeros((SIZE, SIZE, CHANNELS), np.float32)),
    st.just(np.ones((2, 2), np.float32)),
)
NAMES = sorted(
    {p.name for spec in METHODS.values() for p in spec.parameters} | {"n", "step", "Layer"}
)


@st.composite
def params(draw: st.DrawFn) -> dict:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    chosen = {name: draw(VALUES) for name in names}
    # Keep successful runs cheap: small sample and step counts.
    for name in ("samples", "steps"):
        if isinstance(chosen.get(name), int) and chosen[name] > 4:
            chosen[name] = 2
    return chosen


@settings(max_examples=500)
@given(
    method=st.sampled_from(sorted(METHODS)),
    x=images(),
    chosen=indices(),
    options=params(),
    batch_size=st.sampled_from([2, 2, 2, 0, -1, 1.5, "4"]),
)
def test_explain_gives_a_plain_error_or_finite_maps(model, method, x, chosen, options, batch_size):
    try:
        logits, maps = getattr(sw, method)(model, x, chosen, batch_size=batch_size, **options)
    except Exception as error:
        event(f"{type(error).__name__}")
        check_plain_error(error)
        return
    event("maps")
    count = len(x)
    assert logits.shape == (count, CLASSES) and np.isfinite(logits).all()
    assert maps.ndim in (4, 5) and maps.shape[:3] == (count, SIZE, SIZE)
    assert np.isfinite(maps).all()


@settings(max_examples=150)
@given(x=images(), k=st.one_of(st.integers(-1, 6), st.sampled_from([1.5, None, "2"])))
def test_top_k_gives_a_plain_error_or_valid_classes(model, x, k):
    try:
        logits = model(np.asarray(x, np.float32)).numpy() if isinstance(x, np.ndarray) else x
        chosen = sw.top_k(logits, k)
    except Exception as error:
        if type(error).__module__.startswith(("tensorflow", "keras")):
            return  # the model call itself, not our code, rejected the input
        check_plain_error(error)
        return
    assert chosen.shape == (len(logits), k) and (chosen < CLASSES).all()
