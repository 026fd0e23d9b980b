"""The docs' model with two inputs: the bundled classifier's scores plus a class prior.

``image`` goes through the bundled shape classifier; ``prior`` (8 log-odds, one per class) is
added to its pre-softmax scores before the softmax. The maps are about the image; the prior,
held fixed, decides which class each image's top-1 map explains.
"""

from __future__ import annotations

import keras
import numpy as np

from saliency_widgets import zoo
from saliency_widgets.inspection import explained_model


def load_model() -> keras.Model:
    """``[image (64, 64, 3), prior (8,)] -> probabilities (8,)``, the bundled weights inside."""
    scores = explained_model(zoo.load_shapes_model()).model  # its pre-softmax scores
    image = keras.Input((64, 64, 3), name="image")
    prior = keras.Input((8,), name="prior")
    total = keras.layers.Add(name="with_prior")([scores(image), prior])
    return keras.Model([image, prior], keras.layers.Softmax(name="probabilities")(total))


def no_prior(images: np.ndarray) -> dict[str, np.ndarray]:
    """A flat prior for every image: the bundled model's own predictions."""
    return {"prior": np.zeros((len(images), 8), np.float32)}


def ring_prior(images: np.ndarray) -> dict[str, np.ndarray]:
    """Rings favoured by 12 log-odds for every image."""
    prior = np.zeros((len(images), 8), np.float32)
    prior[:, zoo.class_names().index("ring")] = 12.0
    return {"prior": prior}
