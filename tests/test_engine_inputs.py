"""Models with several inputs through ``explain``: the image explained, the others held fixed.

The reference for "held fixed" is written by hand (a ``GradientTape`` with the metadata as a
constant), or is a one-input model whose metadata is a constant inside the graph; each image
gets different metadata, so a row fed beside the wrong image changes its map.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets.inspection import explained_model
from saliency_widgets.methods import METHODS
from tests.builders import image_and_metadata
from tests.plain_errors import check_plain_error


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return image_and_metadata()


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.random((5, 12, 12, 3), dtype=np.float32)
    meta = rng.normal(scale=2.0, size=(5, 4)).astype(np.float32)
    classes = np.array([0, 1, 2, 1, 0], dtype=np.int32)
    return x, meta, classes


def _logits_model(model: keras.Model) -> keras.Model:
    return explained_model(model).model  # the same head without its softmax


def _tape_gradients(model: keras.Model, x: np.ndarray, meta: np.ndarray, classes: np.ndarray):
    images = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = _logits_model(model)([images, tf.constant(meta)])
        score = tf.reduce_sum(tf.gather(logits, classes[:, None], batch_dims=1))
    return tape.gradient(score, images).numpy()  # images are independent: one sum is enough


def _raw_maps(method, model, data, **options) -> np.ndarray:
    """Maps of the five images in batches of 2 + 2 + 1 (the last one padded), unfiltered."""
    x, meta, classes = data
    options = {"batch_size": 2, "postprocessing": None, "verbose": False, **options}
    return sw.explain(method, model, {"img": x, "meta": meta}, classes, **options)[1]


def test_gradients_equal_a_tape_with_the_metadata_held_fixed(model, data) -> None:
    x, meta, classes = data
    maps = _raw_maps(sw.methods.gradient.gradients, model, data)
    expected = np.abs(_tape_gradients(model, x, meta, classes)).max(axis=-1)
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-5, atol=1e-7)
    # The metadata matters: with other values the same images get other maps.
    _, other = sw.gradients(model, [x, meta[::-1].copy()], classes, postprocessing=None)
    assert np.abs(other - maps).max() > 0.05 * np.abs(maps).max()


def test_a_list_in_input_order_equals_the_dict(model, data) -> None:
    x, meta, classes = data
    _, by_name = sw.gradients(model, {"meta": meta, "img": x}, classes, verbose=False)
    _, by_order = sw.gradients(model, [x, meta], classes, verbose=False)
    np.testing.assert_array_equal(by_name, by_order)


def test_integrated_gradients_equal_a_hand_written_path_integral(model, data) -> None:
    x, meta, classes = data
    steps = 8
    # 4 path points per call: the metadata is tiled beside them.
    maps = _raw_maps(sw.methods.integrated.integrated_gradients, model, data, steps=8, step_batch=4)
    total = sum(_tape_gradients(model, (k + 0.5) / steps * x, meta, classes) for k in range(steps))
    expected = (total / steps * x).sum(axis=-1)  # zero baseline, signed sum over channels
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-4, atol=1e-6)


def test_gradcam_equals_a_hand_written_gradcam(model, data) -> None:
    x, meta, classes = data
    maps = _raw_maps(sw.methods.cams.gradcam, model, data, resizing=False)
    logits_model = _logits_model(model)
    two = keras.Model(
        logits_model.inputs, [logits_model.get_layer("features").output, logits_model.output]
    )
    with tf.GradientTape() as tape:
        activations, logits = two([tf.constant(x), tf.constant(meta)])
        score = tf.reduce_sum(tf.gather(logits, classes[:, None], batch_dims=1))
    grads = tape.gradient(score, activations).numpy()
    weights = grads.mean(axis=(1, 2), keepdims=True)
    expected = np.maximum((weights * activations.numpy()).sum(axis=-1), 0.0)
    assert maps.shape == (5, 10, 10, 1)
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-4, atol=1e-6)
    assert expected.max() > 0


class _Constant(keras.layers.Layer):
    """Outputs a fixed row for every image: the metadata as a constant of the graph."""

    def __init__(self, value: np.ndarray, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.value = tf.constant(value)

    def call(self, images: tf.Tensor) -> tf.Tensor:
        return tf.broadcast_to(self.value, (tf.shape(images)[0], self.value.shape[-1]))


def _with_constant_metadata(model: keras.Model, row: np.ndarray) -> keras.Model:
    image = keras.Input((12, 12, 3))
    return keras.Model(image, model([image, _Constant(row[None])(image)]))


FAMILIES = {
    "gradients": {},
    "smoothgrad": {"samples": 3},
    "integrated_gradients": {"steps": 6, "step_batch": 3},
    "guided_integrated_gradients": {"steps": 6},
    "blur_integrated_gradients": {"steps": 6, "step_batch": 3},
    "gradcam": {},
    "scorecam": {},
    "ablationcam": {},
    "guided_backprop": {},
    "occlusion": {"window": 4},
    "rise": {"samples": 40},
}
"""One method per way of laying out rows: the image's own, paths tiled, copies repeated."""


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_an_uneven_batch_keeps_each_images_metadata(model, data, name: str) -> None:
    """3 images, batch_size=2: each image's map is that of a model with its metadata built in."""
    x, meta, classes = (a[:3] for a in data)
    options = {
        "postprocessing": None,
        "logits": False,  # the reference nests the model: its softmax cannot be removed
        "verbose": False,
        **FAMILIES[name],
    }
    function = METHODS[name].function
    _, maps = sw.explain(
        function, model, {"img": x, "meta": meta}, classes, batch_size=2, **options
    )
    scale = np.abs(maps).max()
    assert scale > 0
    for i in range(3):
        reference = _with_constant_metadata(model, meta[i])
        _, expected = sw.explain(function, reference, x[i : i + 1], classes[i : i + 1], **options)
        np.testing.assert_allclose(maps[i], expected[0], rtol=1e-4, atol=2e-4 * scale)


def test_lrp_runs_on_the_image_with_the_metadata_held_fixed(model, data) -> None:
    x, meta, classes = data
    _, maps = sw.lrp(model, {"img": x, "meta": meta}, classes, batch_size=2, verbose=False)
    _, alone = sw.lrp(model, {"img": x[1:2], "meta": meta[1:2]}, classes[1:2], verbose=False)
    np.testing.assert_allclose(maps[1], alone[0], rtol=1e-4, atol=1e-6)
    assert np.isfinite(maps).all() and np.abs(maps).max() > 0


def test_one_input_models_take_images_as_before(data) -> None:
    from tests.builders import gap_dense

    x = data[0]
    single = gap_dense()
    _, plain = sw.gradients(single, x, 0, verbose=False)
    _, named = sw.gradients(single, {single.inputs[0].name: x}, 0, verbose=False)
    np.testing.assert_array_equal(plain, named)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            lambda x, m: {"img": x},
            "x has no input 'meta'; the model takes 2 inputs ['img', 'meta']",
        ),
        (lambda x, m: {"img": x, "meta": m, "age": m}, "x names 'age'; the model takes 2 inputs"),
        (lambda x, m: x, "x is ndarray, but the model takes 2 inputs ['img', 'meta']: pass"),
        (lambda x, m: [x], "x is a list of 1, but the model takes 2 inputs"),
        (
            lambda x, m: {"img": x, "meta": m[:3]},
            "x['meta'] has 3 rows but the explained input 'img' has 5 images; give one row per",
        ),
        (
            lambda x, m: [x, m[:, :2]],
            "x[1] ('meta') has shape (5, 2) but input 'meta' of the model takes (None, 4)",
        ),
        (
            lambda x, m: tf.data.Dataset.from_tensor_slices(x),
            "x is a tf.data.Dataset, but the model takes 2 inputs ['img', 'meta']; pass arrays",
        ),
    ],
)
def test_inputs_that_do_not_fit_are_refused_by_name(model, data, given, expected: str) -> None:
    x, meta, _ = data
    with pytest.raises(ValueError) as error:
        sw.gradcam(model, given(x, meta), 0, verbose=False)
    assert expected in str(error.value)
    check_plain_error(error.value)


def test_explained_input_names_the_input(model, data) -> None:
    x, meta, _ = data
    with pytest.raises(ValueError, match=r"explained_input='age' is not an input of the model; "):
        sw.gradients(model, [x, meta], 0, explained_input="age")
    with pytest.raises(ValueError, match=r"explained_input=2: the model has 2 inputs"):
        sw.gradients(model, [x, meta], 0, explained_input=2)
    with pytest.raises(ValueError, match=r"inputs of shape \(None, 4\); saliency maps need image"):
        sw.gradients(model, [x, meta], 0, explained_input="meta")


def test_two_image_inputs_ask_which_one(data) -> None:
    keras.utils.set_random_seed(0)
    left, right = keras.Input((12, 12, 3), name="left"), keras.Input((12, 12, 3), name="right")
    joined = keras.layers.Concatenate()([left, keras.layers.Multiply()([right, right])])
    pair = keras.Model([left, right], keras.layers.Dense(2)(keras.layers.Flatten()(joined)))
    x = data[0]
    with pytest.raises(ValueError) as error:
        sw.gradients(pair, [x, x], 0)
    assert "several of them are a batch of float images (B, H, W, C); pass explained_input=" in (
        str(error.value)
    )
    assert "(one of ['left', 'right'])" in str(error.value)
    check_plain_error(error.value)
    _, maps = sw.gradients(pair, [x, 2 * x], 0, explained_input="right", postprocessing=None)
    kernel = pair.layers[-1].kernel.numpy()[:, 0].reshape(12, 12, 6)[..., 3:]
    np.testing.assert_allclose(maps[..., 0], np.abs(2 * 2 * x * kernel).max(axis=-1), rtol=1e-5)


def test_an_integer_input_is_refused_as_the_explained_input(data) -> None:
    from tests.builders import image_and_tokens

    both = image_and_tokens()
    x = data[0][:2]
    ids = np.arange(10, dtype=np.int32).reshape(2, 5)
    _, maps = sw.gradcam(both, {"img": x, "tokens": ids}, 0, verbose=False)  # tokens held fixed
    assert maps.shape == (2, 12, 12, 1) and np.isfinite(maps).all()
    with pytest.raises(ValueError) as error:
        sw.gradients(both, {"img": x, "tokens": ids}, 0, explained_input="tokens")
    assert str(error.value).startswith(
        "input 'tokens' of the model takes int32 values (integer ids, e.g. tokens fed to an "
        "Embedding layer): they have no gradient"
    )
    assert "Explain a float input (explained_input= one of ['img'])" in str(error.value)
    check_plain_error(error.value)
    tokens = keras.Input((5,), dtype="int32", name="ids")
    pooled = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(20, 3)(tokens))
    text = keras.Model(tokens, keras.layers.Dense(2)(pooled))
    with pytest.raises(ValueError, match=r"^input 'ids' of the model takes int32 values"):
        sw.integrated_gradients(text, ids, 0)
