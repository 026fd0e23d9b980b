"""SmoothGrad, VarGrad and SquareGrad: exact statistics, seeds, and memory bounded by the batch."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

import saliency_widgets as sw
from saliency_widgets.methods import cams, gradient, integrated, smooth
from saliency_widgets.methods._random import portable_normal

INDICES = np.array([[0, 4], [1, 1], [2, 0], [3, 2], [4, 4], [0, 1], [2, 3]])


def quadratic_model(weights: np.ndarray) -> keras.Model:
    """score = Σ w · x²: the gradient 2 w x is known at every (noisy) input."""
    inputs = keras.Input((4, 4, 3))
    squares = keras.layers.Multiply()([inputs, inputs])
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(squares)))
    dense.set_weights([weights.reshape(-1, 1)])
    return model


def noise_draws(x: np.ndarray, samples: int, noise: float, seed: int) -> np.ndarray:
    """The noise the methods draw: one pattern per (seed, sample), σ = noise × range."""
    spread = x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True)
    draws = [portable_normal(x.shape[1:], seed, i).numpy() for i in range(samples)]
    return noise * spread[None] * np.stack(draws)[:, None]


def test_statistics_equal_numpy_on_a_model_with_known_gradients():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 4, 3)).astype(np.float32)
    x = rng.uniform(-1, 1, (3, 4, 4, 3)).astype(np.float32)
    model = quadratic_model(w)
    grads = 2 * w * (x + noise_draws(x, 9, 0.2, seed=5))  # (n, B, H, W, C), exact gradients
    options = {"samples": 9, "noise": 0.2, "seed": 5, "reduce": None}
    _, mean = smooth.smoothgrad(model, x, [[0]] * 3, **options)
    _, var = smooth.vargrad(model, x, [[0]] * 3, **options)
    _, square = smooth.squaregrad(model, x, [[0]] * 3, **options)
    np.testing.assert_allclose(mean[..., 0], grads.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(var[..., 0], grads.var(0), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(square[..., 0], (grads**2).mean(0), rtol=1e-4, atol=1e-5)
    # The channel reduction is applied to the statistic: max of |mean gradient| (the paper).
    _, maxed = smooth.smoothgrad(model, x, [[0]] * 3, **{**options, "reduce": "max"})
    np.testing.assert_allclose(maxed[..., 0], np.abs(grads.mean(0)).max(-1), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reduce", ["max", "sum", None])
def test_zero_noise_equals_the_plain_method(images, reduce):
    model = small_cnn()
    _, plain = gradient.gradients(model, images, INDICES, reduce=reduce)
    _, smoothed = smooth.smoothgrad(model, images, INDICES, samples=3, noise=0.0, reduce=reduce)
    np.testing.assert_allclose(smoothed, plain, rtol=1e-5, atol=1e-7)
    _, var = smooth.vargrad(model, images, INDICES, samples=3, noise=0.0, reduce=reduce)
    np.testing.assert_allclose(var, 0.0, atol=1e-12)


def test_zero_noise_equals_the_wrapped_method_for_ig_and_gradcam(images):
    model = small_cnn()
    _, ig = integrated.integrated_gradients(model, images, INDICES, steps=8)
    _, smooth_ig = smooth.smoothgrad(
        model,
        images,
        INDICES,
        method="integrated_gradients",
        noise=0.0,
        samples=2,
        steps=8,
        reduce="sum",
    )
    np.testing.assert_allclose(smooth_ig, ig, rtol=1e-4, atol=1e-7)
    # A method without channels is averaged as it is (reduce does not apply).
    _, cam = cams.gradcam(model, images, INDICES)
    _, smooth_cam = smooth.smoothgrad(
        model, images, INDICES, method=cams.gradcam, noise=0.0, samples=2
    )
    np.testing.assert_allclose(smooth_cam, cam, rtol=1e-5, atol=1e-7)


def test_noise_smooths_and_is_reproducible(images):
    model = small_cnn()
    run = tf.function(smooth.smoothgrad)
    _, a = run(model, tf.constant(images), INDICES, samples=6, seed=1)
    _, b = smooth.smoothgrad(model, images, INDICES, samples=6, seed=1)  # eager: same noise
    _, c = run(model, tf.constant(images), INDICES, samples=6, seed=2)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not np.allclose(a, c)
    _, plain = gradient.gradients(model, images, INDICES)
    assert not np.allclose(a, plain)


def test_an_images_maps_do_not_depend_on_its_batch_nor_on_xla(images):
    model = small_cnn()
    options = {"samples": 4, "resizing": False, "verbose": False}
    _, whole = sw.smoothgrad(model, images, INDICES, batch_size=7, **options)
    _, pairs = sw.smoothgrad(model, images, INDICES, batch_size=2, **options)
    _, xla = sw.smoothgrad(model, images, INDICES, batch_size=3, jit_compile=True, **options)
    np.testing.assert_allclose(pairs, whole, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(xla, whole, rtol=1e-3, atol=1e-5)
    _, ig = sw.integrated_gradients(model, images, 0, baseline="uniform", steps=4, batch_size=7)
    _, ig_pairs = sw.integrated_gradients(
        model, images, 0, baseline="uniform", steps=4, batch_size=2
    )
    np.testing.assert_allclose(ig_pairs, ig, rtol=1e-4, atol=1e-6)


def test_logits_are_those_of_the_clean_inputs(images):
    model = small_cnn()
    logits, _ = smooth.vargrad(model, images, INDICES, samples=2)
    np.testing.assert_allclose(logits, model(images), rtol=1e-6)


def test_samples_never_widen_the_batch_nor_grow_the_graph(images):
    """Memory is bounded by batch_size: every call of the wrapped method sees the batch as it is,
    the number of traced calls does not depend on ``samples``, and loop iterations never overlap."""
    model = small_cnn()
    seen: list[tuple] = []

    def counting(model, inputs, indices, reduce="max"):
        seen.append(tuple(inputs.shape))
        return gradient.gradients(model, inputs, indices, reduce=reduce)

    graphs = {}
    for samples in (1, 64):
        seen.clear()
        fn = tf.function(lambda x, n=samples: smooth.smoothgrad(model, x, INDICES, counting, n))
        graph = fn.get_concrete_function(tf.TensorSpec((7, 12, 12, 3))).graph
        graphs[samples] = (list(seen), graph)
    assert graphs[1][0] == graphs[64][0] == [(7, 12, 12, 3)] * 2  # first sample + loop body
    for _, graph in graphs.values():
        loops = [op for op in graph.get_operations() if op.type in ("While", "StatelessWhile")]
        assert len(loops) == 1
        assert loops[0].get_attr("parallel_iterations") == 1
    # Eager execution runs the body once per sample, still one batch at a time.
    seen.clear()
    smooth.smoothgrad(model, images, INDICES, counting, samples=5)
    assert seen == [(7, 12, 12, 3)] * 5


def test_through_explain_with_batches_and_postprocessing(images):
    model = small_cnn(activation="softmax")
    _, maps = sw.smoothgrad(model, images, INDICES, batch_size=3, samples=4)
    assert maps.shape == (7, 12, 12, 2)
    np.testing.assert_allclose(maps.max(axis=(1, 2)), 1.0, rtol=1e-6)
    _, reference = smooth.smoothgrad(
        sw.inspection.explained_model(model).model, images[:3], INDICES[:3], samples=4
    )
    np.testing.assert_allclose(
        maps[:3], sw.filters.absolute_normalize(reference), rtol=1e-4, atol=1e-6
    )
    _, squares = sw.squaregrad(model, images, 0, samples=4, postprocessing=None)
    assert squares.min() >= 0


def test_parameter_errors(images):
    model = small_cnn()
    with pytest.raises(ValueError, match="samples"):
        smooth.smoothgrad(model, images, INDICES, samples=0)
    with pytest.raises(ValueError, match="noise"):
        smooth.smoothgrad(model, images, INDICES, noise=-0.1)
    with pytest.raises(ValueError, match="method='nope'"):
        smooth.smoothgrad(model, images, INDICES, method="nope")
    with pytest.raises(ValueError, match="statistic"):
        smooth.noisy_statistic("median", model, images, INDICES)
