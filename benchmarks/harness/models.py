"""The benchmark models, built the same way in every process.

The main process builds each model once (the bundled shapes CNN, or Keras applications with
``weights=None`` and a fixed seed) and saves it as a ``.keras`` file; contender processes load that
file, so every library explains the very same weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelSpec:
    """One benchmark model.

    Attributes:
        name: Key used in results (``shapes``, ``mobilenetv2``, ``resnet50v2``).
        label: Human-readable name.
        size: Input side (square RGB images).
        classes: Number of output units.
    """

    name: str
    label: str
    size: int
    classes: int


MODELS: dict[str, ModelSpec] = {
    "shapes": ModelSpec("shapes", "bundled shapes CNN (64²)", 64, 6),
    "mobilenetv2": ModelSpec("mobilenetv2", "MobileNetV2(weights=None) 96²", 96, 1000),
    "resnet50v2": ModelSpec("resnet50v2", "ResNet50V2(weights=None) 224²", 224, 1000),
}


def build(name: str, seed: int = 0) -> tuple[Any, str]:
    """Builds a benchmark model in the main process.

    The bundled model needs ``saliency_widgets``; when its trained file is missing, the untrained
    model of the same architecture stands in (timings do not depend on the weights).

    Args:
        name: A key of :data:`MODELS`.
        seed: Seed for the random initial weights of the Keras applications.

    Returns:
        ``(model, note)``: the softmax-headed model and a note on where it came from.
    """
    import keras

    spec = MODELS[name]
    keras.utils.set_random_seed(seed)
    if name == "shapes":
        from saliency_widgets import zoo

        try:
            return zoo.load_shapes_model(), "bundled zoo/data/shapes_cnn.keras"
        except FileNotFoundError:
            from saliency_widgets.zoo.train import build_model

            return build_model(), "bundled model file missing: untrained model, same architecture"
    shape = (spec.size, spec.size, 3)
    if name == "mobilenetv2":
        return keras.applications.MobileNetV2(weights=None, input_shape=shape), "random weights"
    if name == "resnet50v2":
        return keras.applications.ResNet50V2(weights=None, input_shape=shape), "random weights"
    raise ValueError(f"unknown model {name!r}: expected one of {sorted(MODELS)}")


def inputs(name: str, count: int, seed: int = 0) -> np.ndarray:
    """Preprocessed benchmark images ``(count, size, size, 3)`` in ``[-1, 1]``.

    The bundled model gets its own held-out shapes images (so maps are meaningful); the
    applications get smooth random images (random weights make real photographs pointless).

    Args:
        name: A key of :data:`MODELS`.
        count: Number of images.
        seed: Random seed.

    Returns:
        float32 images.
    """
    spec = MODELS[name]
    if name == "shapes":
        from saliency_widgets import zoo

        return zoo.preprocess(zoo.make_shapes(count, seed=zoo.HELD_OUT_SEED).images)
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-1.0, 1.0, size=(count, spec.size // 8, spec.size // 8, 3))
    return np.repeat(np.repeat(coarse, 8, axis=1), 8, axis=2).astype(np.float32)


def logits_model(model: Any) -> Any:
    """A copy of ``model`` whose last layer outputs pre-activation logits.

    For contenders and hand-written tapes, which (like their users) get the softmax removed by
    hand. Rebuilds from the config and copies the weights: the given model is not modified.

    Args:
        model: A functional Keras model ending in a ``Dense`` layer with an activation.

    Returns:
        The logits model.
    """
    import keras

    config = model.get_config()
    for layer in reversed(config["layers"]):
        if layer["class_name"] == "Dense":
            layer["config"]["activation"] = "linear"
            break
    clone = keras.Model.from_config(config)
    clone.set_weights(model.get_weights())
    return clone


def save(model: Any, path: Path) -> Path:
    """Saves ``model`` for the contender processes.

    Args:
        model: The model.
        path: A ``.keras`` file path.

    Returns:
        ``path``.
    """
    model.save(path)
    return path


def load(path: Path) -> Any:
    """Loads a model saved by :func:`save` (in any process with Keras 3).

    Args:
        path: The ``.keras`` file.

    Returns:
        The model.
    """
    import keras

    return keras.models.load_model(path, compile=False)
