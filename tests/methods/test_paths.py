"""Guided IG and Blur IG: completeness, the straight-line limit, scipy's blur, errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from builders import smooth_cnn
from scipy import ndimage

import saliency_widgets as sw
from saliency_widgets.methods import gradient, integrated, paths

INDICES = np.array([[0, 4], [1, 1], [2, 0], [3, 2], [4, 4], [0, 1], [2, 3]])


def scores(model: keras.Model, x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return np.take_along_axis(np.asarray(model(x)), indices, axis=1)


def relative_gap(total: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Completeness error of each (image, class), relative to the mean |score change|.

    One pair's own change can be near zero (0.001 here), where any quadrature error is huge
    relative to it; the mean change is the scale the errors are judged against.
    """
    return np.abs(total - expected) / np.abs(expected).mean()


def test_guided_ig_is_complete_and_converges(images):
    """Σ maps = S(x) − S(baseline) up to the left Riemann sum's error, which shrinks with steps."""
    model = smooth_cnn()
    expected = scores(model, images, INDICES) - scores(model, 0 * images, INDICES)
    gaps = []
    for steps in (16, 128):
        _, maps = paths.guided_integrated_gradients(model, images, INDICES, steps=steps)
        gaps.append(relative_gap(np.asarray(maps).sum(axis=(1, 2)), expected).max())
    # Measured 4.9% at 16 steps and 0.61% at 128 (7 images x 2 classes, worst pair).
    assert gaps[1] < 0.01 and gaps[1] < gaps[0] / 4


def test_guided_ig_with_no_deviation_is_straight_line_ig(images):
    """max_dist=0 keeps every feature on the straight line: IG with the left Riemann sum."""
    model = smooth_cnn()
    steps = 8
    _, guided = paths.guided_integrated_gradients(
        model, images, INDICES, steps=steps, max_dist=0.0, reduce=None
    )
    left = sum(
        gradient.class_gradients(model, images * (k / steps), INDICES)[1] for k in range(steps)
    )
    expected = np.moveaxis(np.asarray(left) * images[:, None] / steps, 1, -1)
    np.testing.assert_allclose(guided, expected, rtol=1e-4, atol=1e-6)


def test_blur_matrices_are_scipys_gaussian_filter():
    x = np.random.default_rng(0).normal(size=(2, 13, 9, 3)).astype(np.float32)
    for sigma in (0.0, 0.01, 0.5, 1.3, 7.0, 50.0):
        rows, cols = paths.blur_matrices([sigma], 13, 60.0), paths.blur_matrices([sigma], 9, 60.0)
        ours = np.asarray(paths.gaussian_blur_axes(x, rows, cols))[0]
        reference = np.stack(
            [ndimage.gaussian_filter(i, sigma=[sigma, sigma, 0], mode="constant") for i in x]
        )
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


def test_blur_ig_is_complete_and_converges(images):
    """Σ maps = S(x) − S(blur(x, max_sigma)) as steps grow (left Riemann sum over σ)."""
    model = smooth_cnn()
    rows, cols = paths.blur_matrices([8.0], 12, 8.0), paths.blur_matrices([8.0], 12, 8.0)
    blurred = np.asarray(paths.gaussian_blur_axes(images, rows, cols))[0].astype(np.float32)
    expected = scores(model, images, INDICES) - scores(model, blurred, INDICES)
    gaps = []
    for steps in (16, 256):
        _, maps = paths.blur_integrated_gradients(
            model, images, INDICES, steps=steps, max_sigma=8.0
        )
        gaps.append(relative_gap(np.asarray(maps).sum(axis=(1, 2)), expected).max())
    # Measured 66% at 16 steps (the first step, from σ = 0, sees no change of the image: its
    # finite difference blurs by 0.01 pixel, one tap) and 0.85% at 256 (worst pair).
    assert gaps[1] < 0.015 and gaps[1] < gaps[0] / 4


def test_blur_ig_step_batch_does_not_change_the_result(images):
    model = smooth_cnn()
    _, one = paths.blur_integrated_gradients(model, images, INDICES, steps=10, step_batch=1)
    _, four = paths.blur_integrated_gradients(model, images, INDICES, steps=10, step_batch=4)
    np.testing.assert_allclose(four, one, rtol=1e-4, atol=1e-6)


def test_shortcuts_run_through_the_engine_with_checked_parameters(images):
    model = smooth_cnn()
    _, maps = sw.guided_integrated_gradients(model, images, INDICES, steps=4)
    assert maps.shape == (7, 12, 12, 2) and np.isfinite(maps).all()
    _, maps = sw.blur_integrated_gradients(model, images, 0, steps=4, max_sigma=3.0)
    assert maps.shape == (7, 12, 12, 1) and maps.max() == 1.0
    for bad, message in (
        ({"fraction": 0.0}, r"fraction must be a number in \(0, 1\]"),
        ({"max_dist": 1.5}, r"max_dist must be a number in \[0, 1\]"),
        ({"steps": 0}, "steps must be a positive int"),
    ):
        with pytest.raises(ValueError, match=message):
            sw.guided_integrated_gradients(model, images, 0, **bad)
    with pytest.raises(ValueError, match="max_sigma must be a finite number"):
        sw.blur_integrated_gradients(model, images, 0, max_sigma=-1)
    with pytest.raises(TypeError, match=r"blur_integrated_gradients\(\) got unexpected parameter"):
        sw.blur_integrated_gradients(model, images, 0, baseline="zeros")


def test_guided_ig_takes_integrated_gradients_baselines(images):
    model = smooth_cnn()
    reference = np.full((12, 12, 3), 0.25, np.float32)
    _, maps = paths.guided_integrated_gradients(
        model, images, INDICES, steps=128, baseline=reference
    )
    expected = scores(model, images, INDICES) - scores(
        model, integrated.make_baseline(images, reference).numpy(), INDICES
    )
    assert relative_gap(np.asarray(maps).sum(axis=(1, 2)), expected).max() < 0.01
