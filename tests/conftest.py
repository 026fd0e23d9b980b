"""Shared fixtures. Two logical CPU devices are configured before TensorFlow starts, so that
distribution-strategy tests can run a real MirroredStrategy on this one-CPU machine."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture
def cnn() -> keras.Model:
    return small_cnn()


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(7, 12, 12, 3)).astype(np.float32)


def pytest_sessionfinish(session, exitstatus):
    """Widgets a test left open are closed while the interpreter still works (otherwise
    ipywidgets' ``__del__`` prints a traceback for each at exit)."""
    import sys

    widgets = sys.modules.get("ipywidgets")
    if widgets is not None:
        widgets.Widget.close_all()
