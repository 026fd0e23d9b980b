"""Integrated Gradients and Input × Gradient: exact answers, completeness, baselines, batching."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn, small_vit, smooth_cnn
from bundled_shapes import shapes_batch, shapes_model
from scipy import ndimage

import saliency_widgets as sw
from saliency_widgets.methods import gradient, integrated

INDICES = np.array([[0, 4], [1, 1], [2, 0], [3, 2], [4, 4], [0, 1], [2, 3]])


def linear_model(weights: np.ndarray, bias: np.ndarray) -> keras.Model:
    inputs = keras.Input((4, 5, 3))
    dense = keras.layers.Dense(weights.shape[1])
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([weights, bias])
    return model


def test_linear_model_attributions_are_exact():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(60, 3)).astype(np.float32)
    model = linear_model(w, rng.normal(size=3).astype(np.float32))
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    reference = rng.normal(size=(4, 5, 3)).astype(np.float32)
    indices = np.array([[2, 0], [1, 1]])
    _, ig = integrated.integrated_gradients(
        model, x, indices, steps=3, baseline=reference, reduce=None
    )
    _, ixg = gradient.input_x_gradient(model, x, indices, reduce=None)
    grid = w.reshape(4, 5, 3, 3)
    for b in range(2):
        for k, c in enumerate(indices[b]):
            np.testing.assert_allclose(ig[b, ..., k], (x[b] - reference) * grid[..., c], atol=1e-5)
            np.testing.assert_allclose(ixg[b, ..., k], x[b] * grid[..., c], atol=1e-6)
    _, summed = gradient.input_x_gradient(model, x, indices)  # default reduce="sum"
    np.testing.assert_allclose(summed, np.asarray(ixg).sum(axis=3), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("baseline", ["zeros", "blurred", "uniform", "array"])
def test_completeness_on_a_smooth_nonlinear_model(images, baseline):
    model = smooth_cnn()
    if baseline == "array":
        baseline = np.full((12, 12, 3), 0.3, np.float32)
    _, maps = integrated.integrated_gradients(model, images, INDICES, steps=64, baseline=baseline)
    gaps = integrated.completeness_gap(model, images, INDICES, maps, baseline=baseline)
    assert gaps.shape == (7, 2)
    assert gaps.max() < 1e-3


def test_midpoint_rule_is_exact_where_the_trapezoid_misses_the_kink_at_zero(images):
    """A bias-free ReLU network is linear along the ray from 0, with a zero gradient at 0."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(6, 3, activation="relu", use_bias=False)(inputs)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(5, use_bias=False)(h))
    _, maps = integrated.integrated_gradients(model, images, INDICES, steps=4)
    assert integrated.completeness_gap(model, images, INDICES, maps).max() < 1e-4
    _, ixg = gradient.input_x_gradient(model, images, INDICES)  # homogeneous: IG = IxG
    np.testing.assert_allclose(maps, ixg, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("step_batch", [1, 3, 64])
def test_step_batch_does_not_change_the_result(images, step_batch):
    model = small_cnn()
    _, reference = integrated.integrated_gradients(model, images, INDICES, steps=10, step_batch=2)
    _, maps = integrated.integrated_gradients(
        model, images, INDICES, steps=10, step_batch=step_batch
    )
    np.testing.assert_allclose(maps, reference, rtol=1e-4, atol=1e-7)


def test_model_calls_are_bounded_by_step_batch_times_batch():
    model = small_cnn()
    seen = []

    class Spy(keras.Model):
        def call(self, x):
            seen.append(tuple(x.shape))
            return model(x)

    fn = tf.function(
        lambda x: integrated.integrated_gradients(Spy(), x, INDICES, steps=300, step_batch=3)
    )
    fn.get_concrete_function(tf.TensorSpec((7, 12, 12, 3)))
    # The clean forward pass, the first chunk and the loop body: 21 images at most per call.
    assert seen == [(7, 12, 12, 3), (21, 12, 12, 3), (21, 12, 12, 3)]


def test_baselines():
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(integrated.make_baseline(x, "zeros"), 0)
    blurred = integrated.make_baseline(x, "blurred", blur_sigma=2.0).numpy()
    expected = ndimage.gaussian_filter(x, sigma=(0, 2, 2, 0), mode="reflect", truncate=3.0)
    np.testing.assert_allclose(blurred, expected, rtol=1e-4, atol=1e-5)
    uniform = integrated.make_baseline(x, "uniform", seed=3).numpy()
    assert (uniform.min(axis=(1, 2, 3)) >= x.min(axis=(1, 2, 3))).all()
    assert (uniform.max(axis=(1, 2, 3)) <= x.max(axis=(1, 2, 3))).all()
    np.testing.assert_array_equal(uniform, integrated.make_baseline(x, "uniform", seed=3))
    assert not np.allclose(uniform, integrated.make_baseline(x, "uniform", seed=4))
    single = np.linspace(0, 1, 16 * 16 * 3).reshape(16, 16, 3)
    np.testing.assert_allclose(integrated.make_baseline(x, single), [single, single], rtol=1e-6)
    with pytest.raises(ValueError, match="baseline='black'"):
        integrated.make_baseline(x, "black")


def test_gaussian_blur_keeps_a_constant_image_and_zero_sigma_is_identity():
    x = np.full((1, 9, 9, 2), 0.7, np.float32)
    np.testing.assert_allclose(integrated.gaussian_blur(x, 5.0), x, rtol=1e-6)
    y = np.random.default_rng(0).normal(size=(1, 9, 9, 2)).astype(np.float32)
    np.testing.assert_array_equal(integrated.gaussian_blur(y, 0.0), y)


def test_parameter_errors(images):
    model = small_cnn()
    with pytest.raises(ValueError, match="steps"):
        integrated.integrated_gradients(model, images, INDICES, steps=0)
    with pytest.raises(ValueError, match="step_batch"):
        integrated.integrated_gradients(model, images, INDICES, step_batch=0)


def test_shortcuts_go_through_explain(images):
    model = small_cnn(activation="softmax")
    logits, maps = sw.integrated_gradients(model, images, INDICES, steps=8, batch_size=4)
    assert maps.shape == (7, 12, 12, 2)
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(tf.nn.softmax(logits), model(images), rtol=1e-5, atol=1e-6)
    _, raw = sw.input_x_gradient(model, images, INDICES, postprocessing=None, resizing=False)
    _, ref = gradient.input_x_gradient(sw.inspection.explained_model(model).model, images, INDICES)
    np.testing.assert_allclose(raw, ref, rtol=1e-5, atol=1e-7)


# steps -> largest relative gap allowed; measured on the bundled model in brackets. The model
# retrained for issue #10 needs more steps than the one before (2.0 % at 64 steps): the midpoint
# sum converges, its worst image going from 2.55 % to 0.72 % when the steps double.
COMPLETENESS = {64: 0.03, 128: 0.01}  # measured 0.0255, 0.0072


@pytest.mark.parametrize(("steps", "tolerance"), COMPLETENESS.items())
def test_completeness_converges_on_the_bundled_model(steps, tolerance):
    """Raw sums, logits of the bundled model: the attributions add up to ``S(x) − S(0)``.

    The relative gap divides by ``S(x) − S(0)``, which for a few images is a small fraction of a
    logit: there the relative figure means little, and the absolute error is checked instead.
    """
    model = shapes_model()
    batch = shapes_batch()
    x, labels = batch.x[:12], batch.labels[:12]
    logits, maps = sw.integrated_gradients(
        model, x, labels, steps=steps, reduce="sum", postprocessing=None, resizing=False
    )
    target = sw.inspection.explained_model(model).model
    gaps = integrated.completeness_gap(target, x, labels[:, None], maps)[:, 0]
    rows = np.arange(len(x))
    differences = logits[rows, labels] - np.asarray(target(np.zeros_like(x)))[rows, labels]
    large = np.abs(differences) >= 1.0  # at least one logit between the image and the baseline
    assert large.sum() >= 6
    assert gaps[large].max() < tolerance, gaps
    # Where the difference is under a logit, the absolute error stays a few hundredths of one.
    errors = np.abs(np.asarray(maps).sum(axis=(1, 2, 3)) - differences)
    assert errors[~large].max(initial=0.0) < 0.05, errors


def test_completeness_on_a_vit():
    """Attention, GELU and layer normalisation are smooth: the path integral converges."""
    model = small_vit(seed=3)
    x = np.random.default_rng(2).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    indices = np.array([[1, 0], [3, 2]])
    _, maps = integrated.integrated_gradients(model, x, indices, steps=256)
    gaps = integrated.completeness_gap(model, x, indices, maps)  # relative to each change
    change = np.asarray(model(x)) - np.asarray(model(np.zeros_like(x)))
    change = np.abs(np.take_along_axis(change, indices, axis=1))
    assert change.max() > 1
    assert (gaps * change).max() < 0.01 * change.max()  # measured: 0.006 (0.095 with 64 steps)
