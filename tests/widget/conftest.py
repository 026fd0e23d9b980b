"""Widget test fixtures: a comm that records what the kernel would send to the browser (views
are driven by :class:`saliency_widgets.widget.testing.View`), models and pictures."""

from __future__ import annotations

import itertools
import threading
import time

import comm
import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import WIDGET_CLASS_NAMES, small_cnn, unit_range

_ids = itertools.count()


class RecordingComm:
    """Stands in for the kernel's comm: keeps every message instead of sending it."""

    kernel = "Truthy"

    def __init__(self, **kwargs: object) -> None:
        self.comm_id = f"comm-{next(_ids)}"
        self.messages: list[tuple[dict, list]] = []
        self.opened = kwargs.get("data")

    def open(self, *args: object, **kwargs: object) -> None:
        pass

    def on_msg(self, *args: object, **kwargs: object) -> None:
        pass

    def send(self, data: dict | None = None, metadata: object = None, buffers: object = None):
        self.messages.append((data or {}, list(buffers or [])))

    def close(self, *args: object, **kwargs: object) -> None:
        pass


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch):
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))


@pytest.fixture(scope="module")
def softmax_cnn() -> keras.Model:
    return small_cnn(classes=5, activation="softmax", seed=1)


@pytest.fixture(scope="module")
def pictures() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, size=(9, 12, 12, 3), dtype=np.uint8)


class SlowModel(keras.Model):
    """A model that sleeps ``seconds`` in every forward pass (on whatever thread runs it), and
    that :meth:`hold` stops inside its forward pass until :meth:`release`: "slower than any
    click", deterministically."""

    def __init__(self, inner: keras.Model, seconds: float = 0.0) -> None:
        super().__init__()
        self.inner = inner
        self.seconds = seconds
        self.calls = 0
        self._calls_lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def _pause(self) -> np.float32:
        with self._calls_lock:
            self.calls += 1
        self._gate.wait(60)
        time.sleep(self.seconds)
        return np.float32(0.0)

    def call(self, x):
        delay = tf.py_function(self._pause, [], tf.float32)
        delay.set_shape(())
        return self.inner(x) + 0.0 * delay


@pytest.fixture
def slow_model():
    """Makes :class:`SlowModel` wrappers: ``slow_model(inner, seconds)``."""
    return SlowModel


@pytest.fixture
def count_engine_calls(monkeypatch):
    """Counts calls of :func:`saliency_widgets.explain` (what the widget asks of the engine)."""
    from saliency_widgets import engine

    calls: list[dict] = []
    original = engine.explain

    def counting(method, model, x, indices=None, **kwargs):
        calls.append({"method": method, "x": np.array(x), "indices": np.array(indices), **kwargs})
        return original(method, model, x, indices, **kwargs)

    monkeypatch.setattr(engine, "explain", counting)
    return calls


@pytest.fixture
def make(softmax_cnn, pictures):
    """Builds widgets (closed after the test) with a recording view, waiting for their first maps:
    ``widget, view = make(**options)``."""
    from saliency_widgets.widget import SaliencyWidget
    from saliency_widgets.widget.testing import View

    made = []

    def build(model=softmax_cnn, images=pictures, **kwargs):
        kwargs.setdefault("preprocess", unit_range)
        kwargs.setdefault("class_names", WIDGET_CLASS_NAMES)
        widget = SaliencyWidget(model, images, **kwargs)
        made.append(widget)
        view = View(widget)
        widget.wait(timeout=120)
        return widget, view

    yield build
    for widget in made:
        widget.close()
