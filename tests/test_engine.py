"""The engine: batching, padding, datasets, class chunking, jit, distribution, bad input."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

import saliency_widgets as sw
from saliency_widgets import engine
from saliency_widgets._compile import _COMPILED


def reference(model, images, indices):
    """Unbatched reference: one direct call of the method, absolute-normalised."""
    _, maps = sw.methods.gradient.gradients(model, tf.constant(images), np.asarray(indices))
    return np.asarray(sw.filters.absolute_normalize(maps))


def test_any_batch_size_gives_the_same_maps(cnn, images):
    indices = np.arange(7) % 5
    expected = reference(cnn, images, indices)
    for batch_size in (1, 3, 7, 32):
        logits, maps = sw.gradients(cnn, images, indices, batch_size=batch_size)
        np.testing.assert_allclose(maps[..., 0], expected[..., 0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(logits, cnn(images), rtol=1e-5, atol=1e-6)


def test_last_batch_is_padded_so_the_function_traces_once(images):
    model = small_cnn(seed=11)
    sw.gradients(model, images, 0, batch_size=3)  # batches of 3, 3, 1 (padded to 3)
    (step,) = _COMPILED[model].values()
    assert step.experimental_get_tracing_count() == 1
    sw.gradients(model, images[:5], 1, batch_size=3)  # new call, same shapes: no new trace
    assert step.experimental_get_tracing_count() == 1


def test_every_unit_when_indices_is_none_in_padded_chunks(images, monkeypatch):
    model = small_cnn(classes=5, seed=12)
    monkeypatch.setattr(engine, "MAX_CLASSES_PER_CALL", 2)  # 5 classes -> chunks 2, 2, 1(+1 pad)
    _, maps = sw.gradients(model, images, None, batch_size=4)
    assert maps.shape == (7, 12, 12, 5)
    expected = reference(model, images, np.tile(np.arange(5), (7, 1)))
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
    (step,) = _COMPILED[model].values()
    assert step.experimental_get_tracing_count() == 1


def test_class_chunk_respects_the_memory_budget(monkeypatch):
    monkeypatch.setattr(engine, "JACOBIAN_BUDGET_BYTES", 10 * 32 * 224 * 224 * 3 * 4)
    assert engine._class_chunk(32, (32, 224, 224, 3), 1000) == 10
    assert engine._class_chunk(32, (32, 8, 8, 3), 3) == 3


def test_dataset_input_batched_or_not(cnn, images):
    indices = np.array([0, 1, 2, 3, 4, 0, 1])
    expected = sw.gradients(cnn, images, indices)[1]
    unbatched = tf.data.Dataset.from_tensor_slices(images)
    np.testing.assert_allclose(
        sw.gradients(cnn, unbatched, indices, batch_size=2)[1], expected, rtol=1e-5, atol=1e-6
    )
    labelled = tf.data.Dataset.from_tensor_slices((images, indices)).batch(3)
    np.testing.assert_allclose(
        sw.gradients(cnn, labelled, indices, batch_size=4)[1], expected, rtol=1e-5, atol=1e-6
    )


def test_tensor_and_list_inputs(cnn, images):
    expected = sw.gradients(cnn, images, 1)[1]
    np.testing.assert_allclose(sw.gradients(cnn, tf.constant(images), 1)[1], expected, atol=1e-6)
    np.testing.assert_allclose(sw.gradients(cnn, list(images), 1)[1], expected, atol=1e-6)


def test_uint8_and_float64_inputs_are_cast(cnn):
    pixels = np.random.default_rng(0).integers(0, 255, size=(2, 12, 12, 3)).astype(np.uint8)
    a = sw.gradients(cnn, pixels, 0)[1]
    b = sw.gradients(cnn, pixels.astype(np.float64), 0)[1]
    c = sw.gradients(cnn, pixels.astype(np.float32), 0)[1]
    np.testing.assert_allclose(a, c, atol=1e-6)
    np.testing.assert_allclose(b, c, atol=1e-6)
    assert a.dtype == np.float32


def test_resizing_options(images):
    model = small_cnn()
    assert sw.gradients(model, images, 0, resizing=(6, 4))[1].shape == (7, 6, 4, 1)
    raw = sw.gradients(model, images, 0, resizing=False)[1]
    assert raw.shape == (7, 12, 12, 1)
    with pytest.raises(ValueError, match="resizing"):
        sw.gradients(model, images, 0, resizing=(6,))


def test_jit_on_and_off_agree(images):
    model = small_cnn(seed=3)
    on = sw.gradients(model, images, [0, 1, 2, 3, 4, 0, 1], jit_compile=True)[1]
    off = sw.gradients(model, images, [0, 1, 2, 3, 4, 0, 1], jit_compile=False)[1]
    np.testing.assert_allclose(on, off, rtol=1e-4, atol=1e-5)


def test_auto_jit_is_off_on_a_cpu_only_machine():
    has_accelerator = any(d.device_type in ("GPU", "TPU") for d in tf.config.list_logical_devices())
    assert sw.auto_jit() is has_accelerator


def test_mirrored_strategy_over_two_logical_cpus_gives_the_same_maps(images):
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    assert len(devices) == 2  # configured in conftest
    plain = small_cnn(seed=21, activation="softmax")
    strategy = tf.distribute.MirroredStrategy(devices)
    with strategy.scope():
        mirrored = small_cnn(seed=21, activation="softmax")
    mirrored.set_weights(plain.get_weights())
    assert mirrored.distribute_strategy.num_replicas_in_sync == 2
    indices = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [4, 0], [0, 2], [1, 3]])
    expected_logits, expected = sw.gradients(plain, images, indices, batch_size=3)
    logits, maps = sw.gradients(mirrored, images, indices, batch_size=3)
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)


def test_progress_bar_shown_for_several_batches(cnn, images, capsys):
    sw.gradients(cnn, images, 0, batch_size=2)
    assert "explaining" in capsys.readouterr().err
    sw.gradients(cnn, images, 0, batch_size=8)
    assert "explaining" not in capsys.readouterr().err
    sw.gradients(cnn, images, 0, batch_size=2, verbose=False)
    assert "explaining" not in capsys.readouterr().err


def test_output_that_does_not_depend_on_the_input_gives_zero_maps(images):
    inputs = keras.Input((12, 12, 3))
    constant = keras.layers.Dense(3)(keras.ops.zeros_like(keras.layers.Flatten()(inputs)))
    model = keras.Model(inputs, constant)
    _, maps = sw.gradients(model, images, 1)
    assert np.isfinite(maps).all() and (maps == 0).all()
    _, raw = sw.gradients(model, images, 1, postprocessing=None)
    assert (raw == 0).all()


def test_partial_explain_has_a_docstring_and_overridable_defaults(cnn, images):
    assert "absolute_normalize" in sw.gradients.__doc__
    raw = sw.gradients(cnn, images, 0, postprocessing=None)[1]
    assert raw.max() != pytest.approx(1.0)


# --- bad input: a clear error naming the argument, never a crash or a NaN map -------------


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (np.zeros((12, 12, 3)), ValueError, r"x must be a batch .* x\[None\]"),
        (np.zeros((2, 10, 12, 3)), ValueError, "10x12 but the model expects 12x12"),
        (np.zeros((2, 12, 12, 1)), ValueError, "1 channels .grayscale.. but the model expects 3"),
        (np.zeros((0, 12, 12, 3)), ValueError, "x is empty"),
        ([], ValueError, "x is empty"),
        (np.full((2, 12, 12, 3), "a"), TypeError, "x must hold numbers"),
        ("images/*.png", TypeError, "x must be a numpy array"),
    ],
)
def test_bad_inputs(cnn, x, error, match):
    with pytest.raises(error, match=match):
        sw.gradients(cnn, x, 0)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_inputs_are_rejected(cnn, images, value):
    bad = images.copy()
    bad[3, 1, 1, 0] = value
    with pytest.raises(ValueError, match=r"NaN or inf values \(images \[3\]"):
        sw.gradients(cnn, bad, 0)


@pytest.mark.parametrize(
    ("indices", "error", "match"),
    [
        ([0, 1, 9, 0, 0, 0, 0], ValueError, "out of range: 9 >= 5"),
        ([0, -1, 0, 0, 0, 0, 0], ValueError, "non-negative"),
        ([0.0] * 7, TypeError, "integers"),
        ([0, 1], ValueError, "2 rows but x has 7 images"),
    ],
)
def test_bad_indices(cnn, images, indices, error, match):
    with pytest.raises(error, match=match):
        sw.gradients(cnn, images, indices)


@pytest.mark.parametrize(
    ("batch_size", "error"),
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)],
)
def test_bad_batch_size(cnn, images, batch_size, error):
    with pytest.raises(error, match="batch_size must be a positive int"):
        sw.gradients(cnn, images, 0, batch_size=batch_size)


def test_non_keras_callable_is_rejected(images):
    with pytest.raises(TypeError, match=r"model must be a keras\.Model.*function"):
        sw.gradients(lambda x: x, images, 0)


def test_segmentation_like_output_is_rejected(images):
    inputs = keras.Input((12, 12, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    with pytest.raises(ValueError, match=r"expected \(B, L\) class scores"):
        sw.gradients(model, images, 0)


def test_model_that_overflows_gives_finite_maps(images):
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Flatten()(inputs)
    huge = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(1e38))(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(huge * 1e38))
    with pytest.warns(UserWarning, match="non-finite outputs"):
        _, maps = sw.gradients(model, np.abs(images) + 1, 0)
    assert np.isfinite(maps).all()


def test_one_class_for_every_image_of_a_streamed_dataset(cnn, images):
    expected = sw.gradients(cnn, images, 2)[1]
    stream = tf.data.Dataset.from_tensor_slices(images)
    np.testing.assert_allclose(sw.gradients(cnn, stream, 2, batch_size=1)[1], expected, atol=1e-6)


def test_dataset_with_too_few_index_rows(cnn, images):
    stream = tf.data.Dataset.from_tensor_slices(images)
    with pytest.raises(ValueError, match="indices has 3 rows but the dataset yields more"):
        sw.gradients(cnn, stream, [0, 1, 2], batch_size=2)


def test_explaining_does_not_keep_the_model_alive(images):
    import gc
    import weakref

    for activation in (None, "softmax"):
        model = small_cnn(activation=activation, seed=31)
        sw.gradients(model, images, 0)
        ref = weakref.ref(model)
        del model
        gc.collect()
        assert ref() is None, activation


def test_new_models_trace_without_tensorflows_retracing_warning(images, caplog):
    """Each model's first trace is no retrace: a docs build with many grids logs no warning."""
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for seed in range(7):  # TensorFlow warns from 5 traces of one function onwards
            sw.gradients(small_cnn(seed=30 + seed), images[:2], 0)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_complex_images_are_refused_not_silently_made_real(cnn, images):
    with pytest.raises(TypeError, match="x must hold real numbers, got dtype complex64"):
        sw.gradients(cnn, images.astype(np.complex64), 0)


def _count_autograph_conversions(monkeypatch) -> list[object]:
    """Records every function AutoGraph is asked to convert while tracing."""
    from tensorflow.python.autograph.impl import api

    converted: list[object] = []
    original = api.converted_call

    def counting(f, *args, **kwargs):
        converted.append(f)
        return original(f, *args, **kwargs)

    monkeypatch.setattr(api, "converted_call", counting)
    return converted


@pytest.mark.parametrize("name", sorted(sw.methods.METHODS))
def test_package_methods_trace_without_autograph(images, monkeypatch, name):
    """AutoGraph's source conversion was 1.7 s of a 2.3 s first call; our code never needs it."""
    converted = _count_autograph_conversions(monkeypatch)
    model = small_cnn(seed=40)
    _, maps = getattr(sw, name)(model, images[:2], 0, resizing=False)
    assert np.isfinite(maps).all()
    assert converted == []


def test_user_methods_and_filters_are_still_converted_by_autograph(cnn, images, monkeypatch):
    """A user's method may branch on a tensor in plain Python; AutoGraph turns it into tf.cond."""

    def flip_when_negative(model, inputs, indices):
        logits = model(inputs)
        maps = tf.reduce_mean(inputs, axis=-1, keepdims=True)
        if tf.reduce_mean(maps) < 0:  # a tensor condition: only AutoGraph can trace this
            maps = -maps
        return logits, maps

    converted = _count_autograph_conversions(monkeypatch)
    shifted = images - 1.0  # every pixel negative: the branch is taken
    _, maps = sw.explain(flip_when_negative, cnn, shifted, 0)
    np.testing.assert_allclose(maps[..., 0], -shifted.mean(axis=-1), rtol=1e-6)
    assert converted

    def plain_filter(maps, axis):
        return maps * 2.0 if tf.reduce_max(maps) > 0 else maps

    _, doubled = sw.gradients(cnn, images, 0, postprocessing=plain_filter)
    _, raw = sw.gradients(cnn, images, 0, postprocessing=None)
    np.testing.assert_allclose(doubled, 2.0 * raw, rtol=1e-5)
