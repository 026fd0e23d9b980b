"""Method parameters are checked before tracing, with plain messages, and compile once."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import small_cnn

import saliency_widgets as sw
from saliency_widgets._compile import _COMPILED
from saliency_widgets.methods import METHODS, get_method, parameters, spec_of

AUTOGRAPH = ("in user code", "tf__", "engine.py")


@pytest.fixture(scope="module")
def model():
    return small_cnn(seed=3)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).random((3, 12, 12, 3), dtype=np.float32)


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="sub")
        self.conv = keras.layers.Conv2D(4, 3)
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(5)

    def call(self, inputs):
        return self.head(self.pool(self.conv(inputs)))


ERRORS = [
    (
        "integrated_gradients",
        {"steps": 0},
        ValueError,
        "steps must be a positive int, got 0",
    ),
    ("gradcam", {"layer": "nope"}, ValueError, "layer='nope': layer 'nope' not found"),
    (
        "smoothgrad",
        {"n": 0},
        TypeError,
        "smoothgrad() got unexpected parameter n; it accepts method, noise, reduce, samples, seed",
    ),
    ("gradients", {"reduce": "median"}, ValueError, "reduce='median': expected one of"),
    ("smoothgrad", {"noise": -0.5}, ValueError, "noise must be a finite number >= 0, got -0.5"),
    ("smoothgrad", {"noise": float("nan")}, ValueError, "noise must be a finite number >= 0"),
    ("vargrad", {"samples": 2.5}, TypeError, "samples must be a positive int, got 2.5"),
    ("squaregrad", {"seed": "x"}, ValueError, "seed must be an int, got 'x'"),
    ("integrated_gradients", {"baseline": "black"}, ValueError, "baseline='black': expected"),
    (
        "integrated_gradients",
        {"baseline": np.zeros((3, 3))},
        ValueError,
        "baseline has shape (3, 3), which does not broadcast to the images' (H, W, C) = (12, 12,",
    ),
    (
        "integrated_gradients",
        {"baseline": np.full((12, 12, 3), np.nan)},
        ValueError,
        "baseline has NaN",
    ),
    ("scorecam", {"top_channels": 0}, ValueError, "top_channels must be a positive int"),
    ("scorecam", {"activation": "relu"}, ValueError, "activation='relu': expected one of"),
    ("gradcam", {"relu": "yes"}, ValueError, "relu must be True or False, got 'yes'"),
    ("smoothgrad", {"method": "nope"}, ValueError, "method='nope': expected one of"),
    (
        "smoothgrad",
        {"method": "gradcam", "steps": 3},
        TypeError,
        "smoothgrad() got unexpected parameter steps",
    ),
    ("cam", {"reduce": "max"}, TypeError, "cam() got unexpected parameter reduce; it accepts lay"),
    ("ablationcam", {"channel_batch": 0}, ValueError, "channel_batch must be a positive int"),
    ("eigencam", {"center": 1}, ValueError, "center must be True or False, got 1"),
    ("occlusion", {"window": 13}, ValueError, "window=(13, 13) is larger than the images' (H, W)"),
    ("occlusion", {"stride": (2, 0)}, ValueError, "stride must be a positive int or (height, w"),
    ("occlusion", {"fill": float("inf")}, ValueError, "fill must be a finite number, got inf"),
    ("rise", {"probability": 0}, ValueError, "probability must be a number in (0, 1], got 0"),
    ("rise", {"probability": 1.5}, ValueError, "probability must be a number in (0, 1], got 1."),
    ("rise", {"cell": 0}, ValueError, "cell must be a positive int, got 0"),
    ("rise", {"mask_batch": -2}, ValueError, "mask_batch must be a positive int, got -2"),
    (
        "rise",
        {"window": 3},
        TypeError,
        "rise() got unexpected parameter window; it accepts activation, cell, fill, mask_batch,",
    ),
]


@pytest.mark.parametrize(("name", "params", "error", "message"), ERRORS)
def test_bad_parameters_raise_plain_errors_before_tracing(model, x, name, params, error, message):
    before = dict(_COMPILED.get(model, {}))
    with pytest.raises(error) as raised:
        getattr(sw, name)(model, x, 0, **params)
    text = str(raised.value)
    assert message in text
    assert not any(marker in text for marker in AUTOGRAPH), text
    assert dict(_COMPILED.get(model, {})) == before  # nothing was traced


def test_cam_on_a_subclassed_model_says_what_to_pass(x):
    with pytest.raises(ValueError) as raised:
        sw.gradcam(Subclassed(), x, 0)
    text = str(raised.value)
    assert text.startswith("layer=None: model 'sub' is subclassed")
    assert "functional or Sequential" in text and "'gradients'" in text
    assert not any(marker in text for marker in AUTOGRAPH)


def test_gradients_work_on_the_same_subclassed_model(x):
    _, maps = sw.gradients(Subclassed(), x, 1)
    assert maps.shape == (3, 12, 12, 1) and np.isfinite(maps).all() and maps.max() == 1.0


def test_parameters_list_names_and_registered_defaults():
    names = {p.name: p.default for p in get_method("integrated_gradients").parameters}
    assert names["steps"] == 64 and names["baseline"] == "zeros" and names["reduce"] == "sum"
    smooth = {p.name: p.default for p in get_method("smoothgrad").parameters}
    assert smooth["samples"] == 50 and smooth["noise"] == 0.15 and "reduce" in smooth
    assert {p.name for p in get_method("gradcam").parameters} == {"layer", "relu"}
    assert all(p.check is not None for spec in METHODS.values() for p in spec.parameters)


def test_a_wrapper_accepts_the_wrapped_methods_parameters():
    known = parameters.accepted(sw.methods.smooth.smoothgrad, {"method": "integrated_gradients"})
    assert {"steps", "baseline", "samples", "noise"} <= set(known)


def test_unregistered_functions_are_checked_against_their_signature(model, x):
    def mine(model, inputs, indices, scale=1.0):
        return sw.methods.gradient.gradients(model, inputs, indices)

    assert spec_of(mine).name == "mine"
    with pytest.raises(TypeError, match=r"mine\(\) got unexpected parameter scael"):
        sw.explain(mine, model, x, 0, scael=2.0)


# Every registered method with every documented parameter form: one trace per input shape.
FORMS = [
    ("gradients", {}),
    ("gradients", {"reduce": "mean"}),
    ("input_x_gradient", {}),
    ("guided_backprop", {}),
    ("smoothgrad", {"samples": 2}),
    ("smoothgrad", {"samples": 2, "method": "integrated_gradients", "steps": 2}),
    ("vargrad", {"samples": 2}),
    ("squaregrad", {"samples": 2, "noise": 0.0}),
    ("integrated_gradients", {"steps": 4}),
    ("integrated_gradients", {"steps": 4, "baseline": "blurred", "blur_sigma": 1.5}),
    ("integrated_gradients", {"steps": 4, "baseline": "uniform", "seed": 3}),
    ("integrated_gradients", {"steps": 4, "baseline": np.full((12, 12, 3), 0.5, np.float32)}),
    ("integrated_gradients", {"steps": 4, "baseline": np.zeros((1, 1, 3)).tolist()}),
    ("cam", {}),
    ("gradcam", {"layer": "FIRST_CONV"}),  # the model's first Conv2D, by its name
    ("gradcampp", {}),
    ("scorecam", {"top_channels": 2}),
    ("guided_gradcam", {}),
    ("hirescam", {}),
    ("xgradcam", {"relu": False}),
    ("layercam", {"layer": "FIRST_CONV"}),
    ("eigencam", {"center": True}),
    ("ablationcam", {"channel_batch": 3}),
    ("occlusion", {"window": (4, 3), "stride": 4, "fill": -1}),
    ("rise", {"samples": 6, "cell": 4, "probability": 0.3, "mask_batch": 4}),
]


@pytest.mark.parametrize(("name", "params"), FORMS)
def test_each_method_and_parameter_form_traces_once(x, name, params):
    model = small_cnn(seed=4)
    images = np.concatenate([x, x[:2]])  # 5 images, batch 2: batches of 2, 2, 1 (padded)
    if params.get("layer") == "FIRST_CONV":
        params = {**params, "layer": model.layers[1].name}
    for _ in range(2):  # a second call with equal (not identical) parameters reuses the trace
        fresh = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
        _, maps = getattr(sw, name)(model, images, [0, 1, 2, 3, 4], batch_size=2, **fresh)
        assert maps.shape[:3] == (5, 12, 12) and np.isfinite(maps).all()
    (step,) = _COMPILED[model].values()
    assert step.experimental_get_tracing_count() == 1
