"""Occlusion and RISE against linear models, whose answers are known, and brute force."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import saliency_widgets as sw
from saliency_widgets.methods import perturbation


def linear(size: int = 8, classes: int = 3, seed: int = 0) -> tuple[keras.Model, np.ndarray]:
    """``y = Σ w·x + b`` on ``(size, size, 3)`` images, and its kernel as ``(H, W, C, L)``."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    model = keras.Model(inputs, keras.layers.Dense(classes)(keras.layers.Flatten()(inputs)))
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(size * size * 3, classes)).astype(np.float32)
    model.layers[-1].set_weights([kernel, rng.normal(size=classes).astype(np.float32)])
    return model, kernel.reshape(size, size, 3, classes)


def contributions(x: np.ndarray, w: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """``Σ_c w·x`` per pixel for each image's classes: ``(B, H, W, K)``."""
    per_class = np.einsum("bhwc,hwcl->bhwl", x, w)
    return np.take_along_axis(per_class, indices[:, None, None, :], axis=3)


def test_occlusion_of_one_pixel_with_zeros_on_a_linear_model_is_w_times_x():
    """Attribution = score drop: hiding pixel u removes exactly Σ_c w_uc x_uc from the logit."""
    model, w = linear()
    x = np.random.default_rng(1).normal(size=(4, 8, 8, 3)).astype(np.float32)
    indices = np.array([[0, 2], [1, 1], [2, 0], [0, 1]])
    _, maps = perturbation.occlusion(model, x, indices, window=1, stride=1, fill=0.0)
    np.testing.assert_allclose(maps, contributions(x, w, indices), rtol=1e-4, atol=1e-4)
    # Another fill f: the drop is Σ_c w (x - f).
    _, shifted = perturbation.occlusion(model, x, indices, window=1, stride=1, fill=0.5)
    np.testing.assert_allclose(shifted, contributions(x - 0.5, w, indices), rtol=1e-4, atol=1e-4)


def brute_force_occlusion(model, x, unit, window, stride, fill):
    """Every placement's drop, averaged over the windows covering each pixel (one image)."""
    height, width = x.shape[:2]
    base = float(model(x[None])[0, unit])
    total = np.zeros((height, width))
    count = np.zeros((height, width))
    for top in range(0, height - window[0] + 1, stride[0]):
        for left in range(0, width - window[1] + 1, stride[1]):
            occluded = x.copy()
            occluded[top : top + window[0], left : left + window[1]] = fill
            total[top : top + window[0], left : left + window[1]] += base - float(
                model(occluded[None])[0, unit]
            )
            count[top : top + window[0], left : left + window[1]] += 1
    return np.where(count > 0, total / np.maximum(count, 1), 0), count


@pytest.mark.parametrize(
    ("window", "stride", "mask_batch"), [((3, 3), (1, 1), None), ((3, 2), (2, 3), 4)]
)
def test_occlusion_averages_the_drops_of_the_windows_over_each_pixel(window, stride, mask_batch):
    model = _tiny_cnn()
    x = np.random.default_rng(2).normal(size=(2, 9, 9, 3)).astype(np.float32)
    _, maps = perturbation.occlusion(
        model, x, [1, 0], window=window, stride=stride, fill=-0.5, mask_batch=mask_batch
    )
    for b, unit in enumerate([1, 0]):
        expected, count = brute_force_occlusion(model, x[b], unit, window, stride, -0.5)
        np.testing.assert_allclose(maps[b, ..., 0], expected, rtol=1e-4, atol=1e-5)
    if stride == (2, 3):  # 2-wide windows at columns 0, 3, 6: columns 2, 5, 8 are never hidden
        assert (count[:, [2, 5, 8]] == 0).all() and (np.asarray(maps)[:, :, [2, 5, 8]] == 0).all()
        assert (count[:, [0, 1, 3, 4, 6, 7]] > 0).all()
    assert np.abs(maps).max() > 1e-3


def _tiny_cnn() -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((9, 9, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.GlobalMaxPooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(2)(h))


def rise_expectation(x, w, indices, model, p):
    """RISE on a linear model with independent one-pixel masks (cell=1), in expectation:
    E[s M_u] / E[M_u] = w_u·x_u + p Σ_{v≠u} w_v·x_v + b = (1 - p) w_u·x_u + p Σ_v w_v·x_v + b."""
    bias = model.layers[-1].get_weights()[1][indices]  # (B, K)
    total = np.take_along_axis(np.asarray(model(x)), indices, axis=1) - bias
    return (1 - p) * contributions(x, w, indices) + (p * total + bias)[:, None, None, :]


def test_rise_converges_to_the_linear_models_contribution_as_masks_grow():
    model, w = linear(seed=4)
    x = np.random.default_rng(5).normal(size=(2, 8, 8, 3)).astype(np.float32)
    indices = np.array([[0], [2]])
    p = 0.5
    expected = rise_expectation(x, w, indices, model, p)
    errors, correlations = [], []
    for samples in (64, 256, 1024, 4096):
        _, maps = perturbation.rise(
            model, x, indices, samples=samples, cell=1, probability=p, seed=0, activation=None
        )
        errors.append(float(np.sqrt(np.mean((np.asarray(maps) - expected) ** 2))))
        centred = np.asarray(maps) - np.asarray(maps).mean(axis=(1, 2), keepdims=True)
        wx = contributions(x, w, indices)
        correlations.append(np.corrcoef(centred.ravel(), wx.ravel())[0, 1])
    # Monte Carlo: the error halves when the masks quadruple (1/√N), within a margin.
    assert all(later < 0.7 * earlier for earlier, later in itertools.pairwise(errors))
    assert correlations[-1] > 0.97 and correlations == sorted(correlations)


def test_rise_is_deterministic_for_a_seed_whatever_the_batching():
    model = _tiny_cnn()
    x = np.random.default_rng(6).normal(size=(3, 9, 9, 3)).astype(np.float32)
    options = {"samples": 40, "cell": 3, "seed": 7, "resizing": False, "postprocessing": None}
    _, whole = sw.rise(model, x, [0, 1, 0], batch_size=3, mask_batch=None, **options)
    _, pieces = sw.rise(model, x, [0, 1, 0], batch_size=1, mask_batch=7, **options)
    _, compiled = sw.rise(model, x, [0, 1, 0], batch_size=2, jit_compile=True, **options)
    np.testing.assert_allclose(pieces, whole, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(compiled, whole, rtol=1e-4, atol=1e-6)
    _, other = sw.rise(model, x, [0, 1, 0], batch_size=3, **{**options, "seed": 8})
    assert np.abs(other - whole).max() > 1e-3


def test_rise_masks_are_smooth_cells_kept_with_the_probability():
    numbers = tf.range(400)
    masks = np.asarray(perturbation.rise_masks(numbers, (16, 20), 4, 0.3, 0))
    assert masks.shape == (400, 16, 20) and masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean() - 0.3) < 0.02
    again = np.asarray(perturbation.rise_masks(tf.constant([5, 399]), (16, 20), 4, 0.3, 0))
    np.testing.assert_array_equal(again, masks[[5, 399]])  # a pure function of the number
    # Bilinear cells: neighbouring pixels differ by at most one cell's step (1/4).
    assert np.abs(np.diff(masks, axis=1)).max() <= 0.25 + 1e-6
    binary = np.asarray(perturbation.rise_masks(numbers, (16, 20), 1, 0.3, 0))
    assert set(np.unique(binary)) == {0.0, 1.0}


def test_rise_from_given_masks_is_the_mask_weighted_mean_score():
    model = _tiny_cnn()
    x = np.random.default_rng(8).normal(size=(2, 9, 9, 3)).astype(np.float32)
    masks = np.random.default_rng(9).uniform(size=(10, 9, 9)).astype(np.float32)
    _, maps = perturbation.rise_from_masks(
        model, x, [1, 0], 10, lambda n: tf.gather(masks, n), fill=0.2, mask_batch=3
    )
    copies = x[:, None] * masks[None, ..., None] + 0.2 * (1 - masks[None, ..., None])
    scores = np.asarray(tf.nn.softmax(model(copies.reshape(-1, 9, 9, 3)))).reshape(2, 10, 2)
    s = scores[np.arange(2), :, [1, 0]]  # (B, N)
    expected = np.einsum("bn,nhw->bhw", s, masks) / masks.sum(axis=0)
    np.testing.assert_allclose(maps[..., 0], expected, rtol=1e-5, atol=1e-6)
