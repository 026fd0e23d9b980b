"""The counter-based generator: normal and uniform draws, identical eager and under XLA."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from saliency_widgets.methods._random import portable_normal, portable_uniform


def test_portable_generator_is_normal_uniform_and_the_same_under_xla():
    eager = portable_normal([100, 100, 3], 3, tf.constant(5)).numpy()
    xla = tf.function(lambda i: portable_normal([100, 100, 3], 3, i), jit_compile=True)
    np.testing.assert_allclose(xla(tf.constant(5)), eager, rtol=1e-5, atol=1e-5)
    # 30,000 draws: mean and spread within a few standard errors, the 1σ mass of a normal.
    assert abs(eager.mean()) < 0.02 and abs(eager.std() - 1) < 0.02
    assert abs((np.abs(eager) < 1).mean() - 0.6827) < 0.01
    other = portable_normal([100, 100, 3], 3, 6).numpy()
    assert abs(np.corrcoef(eager.ravel(), other.ravel())[0, 1]) < 0.02
    uniform = portable_uniform(100_000, 1, 0).numpy()
    assert 0 < uniform.min() and uniform.max() < 1
    counts = np.histogram(uniform, bins=10, range=(0, 1))[0]
    np.testing.assert_allclose(counts, 10_000, rtol=0.04)
