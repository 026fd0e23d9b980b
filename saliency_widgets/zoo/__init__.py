"""The zoo: a bundled synthetic data set and a small CNN trained on it.

The "shapes" set (:func:`make_shapes`) draws one large object per image, filled or outlined, on a
flat, noisy, striped or textured background; the class is the object's shape and the mask says
where it is, so saliency maps can be checked against ground truth. Held-out drawing styles
(:data:`HELD_OUT_FAMILIES`: shapes on photographs, hand-drawn sketches) measure how well a model
recognises shapes it was not trained to see. ``data/shapes_cnn.keras`` is a small CNN trained
on it by :mod:`saliency_widgets.zoo.train`; it takes :func:`preprocess`-ed images and ends in a
softmax ``Dense`` layer named ``"predictions"``, after a ReLU convolution named ``"last_conv"``.
:func:`load_vit_model` gives a small vision transformer trained on the same images
(:mod:`saliency_widgets.zoo.vit`, trained by :mod:`saliency_widgets.zoo.train_vit`), whose
token layers the CAM family folds into its 8×8 patch grid.

Example:
    >>> from saliency_widgets import zoo
    >>> model = zoo.load_shapes_model()
    >>> samples = zoo.load_samples(4)
    >>> probabilities = model.predict(zoo.preprocess(samples.images), verbose=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from saliency_widgets._checks import positive_int
from saliency_widgets.zoo.shapes import (
    BACKGROUNDS,
    CLASS_NAMES,
    FAMILIES,
    FILL_STYLES,
    HELD_OUT_FAMILIES,
    HELD_OUT_SEED,
    IMAGE_SIZE,
    ShapeSet,
    make_shapes,
    preprocess,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "BACKGROUNDS",
    "CLASS_NAMES",
    "FAMILIES",
    "FILL_STYLES",
    "HELD_OUT_FAMILIES",
    "HELD_OUT_SEED",
    "IMAGE_SIZE",
    "ShapeSet",
    "class_names",
    "load_samples",
    "load_shapes_model",
    "load_vit_model",
    "make_shapes",
    "model_path",
    "preprocess",
    "samples_to_png",
]

_DATA = Path(__file__).resolve().parent / "data"


def model_path() -> Path:
    """Return the path of the bundled shapes model.

    Returns:
        Path to ``zoo/data/shapes_cnn.keras`` inside the installed package.
    """
    return _DATA / "shapes_cnn.keras"


def load_shapes_model() -> keras.Model:
    """Load the bundled shapes CNN.

    Each call loads a fresh, independent model (the file is small), so callers may modify the
    returned model freely. Loading uses ``safe_mode=True``: the file holds no Lambda layers and
    needs no custom objects.

    Returns:
        A ``keras.Model`` from ``(batch, 64, 64, 3)`` preprocessed images to softmax probabilities
        over :data:`CLASS_NAMES`.

    Raises:
        FileNotFoundError: If the model file is missing from the installation.
    """
    import keras

    return keras.models.load_model(_bundled(model_path(), "model"), safe_mode=True)


def _bundled(path: Path, what: str) -> Path:
    """Return ``path``, or raise ``FileNotFoundError`` naming ``what`` when it is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"bundled {what} not found at {path}")
    return path


def load_vit_model() -> keras.Model:
    """Load the bundled shapes ViT: the architecture is built in code, the trained weights read.

    Each call builds a fresh, independent model. It takes the same :func:`preprocess`-ed images
    as :func:`load_shapes_model`; its blocks hold tokens ``(batch, 65, 48)``, the class token
    first, then the 8×8 patches, and its softmax head (``"predictions"``) reads the class token.

    Returns and raises as :func:`load_shapes_model` does (``FileNotFoundError`` for missing
    weights).
    """
    from saliency_widgets.zoo.vit import build_vit, vit_weights_path

    model = build_vit()
    model.load_weights(_bundled(vit_weights_path(), "ViT weights"))
    return model


def class_names() -> list[str]:
    """Return the class names, indexed by label.

    Returns:
        A new list, a copy of :data:`CLASS_NAMES`.
    """
    return list(CLASS_NAMES)


def load_samples(n: int = 12, seed: int = HELD_OUT_SEED, family: str = "training") -> ShapeSet:
    """Return deterministic sample images with their labels and object masks.

    With the default seed these are the first ``n`` images of the held-out evaluation set, so
    the bundled model never saw them in training.

    Args:
        n: Number of images; labels cycle through the classes.
        seed: Generator seed.
        family: Drawing style, one of :data:`FAMILIES` (``"photo"`` needs scikit-image).

    Returns:
        The images (uint8), labels and masks.
    """
    return make_shapes(n, seed=seed, family=family)


def samples_to_png(
    directory: str | Path, n: int = 12, seed: int = HELD_OUT_SEED, scale: int = 1
) -> list[Path]:
    """Write sample images to PNG files, named after their index and class.

    Args:
        directory: Output folder, created if missing.
        n: Number of images.
        seed: Generator seed (see :func:`load_samples`).
        scale: Integer upscaling factor (nearest neighbour), for crisper display.

    Returns:
        The written paths, in sample order, e.g. ``directory / "00_circle.png"``.

    Raises:
        TypeError: If ``scale`` is not an int.
        ValueError: If ``scale`` is below 1.
    """
    from PIL import Image

    scale = positive_int("scale", scale)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    samples = load_samples(n, seed)
    digits = max(2, len(str(n - 1)))
    paths = []
    for index, (image, label) in enumerate(zip(samples.images, samples.labels, strict=True)):
        pixels = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
        path = directory / f"{index:0{digits}d}_{CLASS_NAMES[label]}.png"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths
