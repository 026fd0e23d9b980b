"""Deterministic synthetic "shapes" images, drawn in many styles, with ground-truth object masks.

Each image holds exactly one large object whose *shape* is the class. Everything else is drawn
at random so that it carries no information about the class, and so that a model trained on the
images recognises a shape however it is drawn (domain randomisation):

- the object is **filled**, **outlined** (a 1–3 px stroke inside its boundary, the inside showing
  the background) or **both**, in colours picked for contrast with what lies under it;
- its size, position, rotation and aspect (±10 %) are random;
- the background is **flat**, **noisy**, a **gradient**, **striped** (soft to hard bands,
  sometimes a checkerboard) or a procedural **texture** (fractal noise or marble veins), with
  thin lines and small blobs as clutter;
- sometimes a bar or a blob is drawn over part of the object (at most a quarter of it);
- the picture may then be blurred, gets pixel noise, and may go through JPEG-like compression.

That is the ``"training"`` family. Two more families are never trained on, to measure how well
the model generalises: ``"photo"`` draws the same objects over crops of photographs (bundled with
scikit-image, which this family needs), and ``"sketch"`` draws them as hand-drawn pen strokes on
paper (wobbly, not quite closed, sometimes hatched).

Masks are exact: ``True`` on the pixels whose centre lies inside the shape's region (for an
outlined object, its stroke and what it encloses) and not under an occluder; for a sketch, inside
the traced path or under the pen.

The generator is pure numpy and vectorized over the batch. Images are generated in fixed-size
chunks, each from its own random stream, so ``make_shapes(k, seed)`` is a prefix of
``make_shapes(n, seed)`` for ``k <= n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saliency_widgets.zoo._backgrounds import (
    TRAINING_BACKGROUNDS,
    ellipse,
    photo_backgrounds,
    random_colours,
    training_backgrounds,
    uniform,
)
from saliency_widgets.zoo._geometry import SHAPE_NAMES, Placement, silhouettes
from saliency_widgets.zoo._raster import (
    erode,
    gaussian_blur,
    jpeg_like,
    masked_mean,
    segment_distance2,
)
from saliency_widgets.zoo._sketch import draw_sketches

__all__ = [
    "BACKGROUNDS",
    "CLASS_NAMES",
    "FAMILIES",
    "FILL_STYLES",
    "HELD_OUT_FAMILIES",
    "HELD_OUT_SEED",
    "IMAGE_SIZE",
    "ShapeSet",
    "make_shapes",
    "preprocess",
]

CLASS_NAMES: tuple[str, ...] = SHAPE_NAMES
"""Class names, indexed by label."""

IMAGE_SIZE = 64
"""Side of the (square) images, in pixels."""

HELD_OUT_SEED = 20_240
"""Seed of the evaluation sets ``make_shapes(n, HELD_OUT_SEED, family=...)``, never trained on."""

FAMILIES: tuple[str, ...] = ("training", "photo", "sketch")
"""Drawing styles :func:`make_shapes` knows; the model is trained on ``"training"`` only."""

HELD_OUT_FAMILIES: tuple[str, ...] = FAMILIES[1:]
"""Styles the bundled model never saw in training."""

FILL_STYLES: tuple[str, ...] = ("filled", "outlined", "filled+outlined")
"""How an object is drawn, indexed by :attr:`ShapeSet.fills`."""

BACKGROUNDS: tuple[str, ...] = (*TRAINING_BACKGROUNDS, "photo", "paper")
"""Background kinds, indexed by :attr:`ShapeSet.backgrounds`."""

_CHUNK = 128  # images per random stream; fixed so that smaller sets are prefixes of larger ones
_SIZE_RANGE = (0.28, 0.64)  # object diameter as a fraction of the image side
_ASPECT_RANGE = (0.9, 1.1)  # stretch along the object's own axis (diamonds stay rhombi)
_FILL_PROBABILITIES = (0.4, 0.3, 0.3)  # filled, outlined, both
_OUTLINE_WIDTHS = (1.0, 1.5, 2.0, 2.5, 3.0)  # pixels, inside the object's boundary
_OCCLUDERS = 2  # at most, each drawn with probability _OCCLUSION
_OCCLUSION = 0.2
_MAX_OCCLUDED = 0.25  # an occluder hiding more of the object than this is not drawn


@dataclass(frozen=True)
class ShapeSet:
    """A batch of generated images.

    Attributes:
        images: ``(n, size, size, 3)`` uint8 RGB images.
        labels: ``(n,)`` int64 class indices into :data:`CLASS_NAMES`.
        masks: ``(n, size, size)`` bool, True exactly on the object's pixels.
        fills: ``(n,)`` int8 indices into :data:`FILL_STYLES` (sketches count as outlined).
        backgrounds: ``(n,)`` int8 indices into :data:`BACKGROUNDS`.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    fills: np.ndarray | None = None
    backgrounds: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def preprocess(images: np.ndarray) -> np.ndarray:
    """Map pixel values from ``[0, 255]`` to the model's input range ``[-1, 1]``.

    Args:
        images: uint8 or float array with values in ``[0, 255]``, any shape (typically
            ``(..., H, W, 3)``).

    Returns:
        float32 array of the same shape, ``images / 127.5 - 1``.

    Example:
        >>> preprocess(np.array([0, 255], dtype=np.uint8)).tolist()
        [-1.0, 1.0]
    """
    return np.asarray(images, dtype=np.float32) / np.float32(127.5) - np.float32(1.0)


def make_shapes(n: int, seed: int, size: int = IMAGE_SIZE, family: str = "training") -> ShapeSet:
    """Generate ``n`` labelled images of shapes, drawn in one of :data:`FAMILIES`.

    Labels cycle through the classes (``label = index % len(CLASS_NAMES)``), so every class has
    ``n // C`` or ``n // C + 1`` images. The same ``(n, seed, size, family)`` always gives
    identical bytes, and the first ``k`` images of a set do not depend on ``n``.

    Args:
        n: Number of images (``>= 0``).
        seed: Seed of the random streams.
        size: Image side in pixels (``>= 16``, a multiple of 8).
        family: ``"training"`` (the randomised style the bundled model learned), or a held-out
            style: ``"photo"`` (needs scikit-image) or ``"sketch"``.

    Returns:
        The images, labels, object masks, fill styles and background kinds.

    Raises:
        ValueError: If ``n`` is negative, ``size`` is invalid or ``family`` is unknown.

    Example:
        >>> shapes = make_shapes(16, seed=0)
        >>> shapes.images.shape, shapes.labels[:3].tolist()
        ((16, 64, 64, 3), [0, 1, 2])
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if size < 16 or size % 8:
        raise ValueError(f"size must be at least 16 and a multiple of 8, got {size}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    fills = np.empty(n, dtype=np.int8)
    backgrounds = np.empty(n, dtype=np.int8)
    labels = (np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    code = FAMILIES.index(family)
    for chunk, start in enumerate(range(0, n, _CHUNK)):
        stop = min(start + _CHUNK, n)
        # The training family keeps the two-number stream of earlier releases' generator.
        rng = np.random.default_rng([seed, chunk] if code == 0 else [seed, chunk, code])
        chunk_labels = (np.arange(start, start + _CHUNK) % len(CLASS_NAMES)).astype(np.int64)
        drawn = _render_chunk(rng, chunk_labels, size, family)
        for out, values in zip((images, masks, fills, backgrounds), drawn, strict=True):
            out[start:stop] = values[: stop - start]
    return ShapeSet(images, labels, masks, fills, backgrounds)


def _render_chunk(
    rng: np.random.Generator, labels: np.ndarray, size: int, family: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Render one chunk; the random draws happen in a fixed order, whatever the labels."""
    b = labels.shape[0]
    coords = np.arange(size, dtype=np.float32) + np.float32(0.5)
    xs = coords[None, None, :]
    ys = coords[None, :, None]

    radius = uniform(rng, *_SIZE_RANGE, b) * np.float32(size / 2)
    aspect = uniform(rng, *_ASPECT_RANGE, b)
    reach = radius * np.maximum(aspect, 1 / aspect)
    placement = Placement(
        cx=uniform(rng, reach, size - reach),
        cy=uniform(rng, reach, size - reach),
        radius=radius,
        angle=uniform(rng, 0.0, 2 * np.pi, b),
        aspect=aspect,
    )
    if family == "sketch":
        image, masks = draw_sketches(rng, labels, placement, xs, ys)
        fills = np.full(b, FILL_STYLES.index("outlined"), dtype=np.int8)
        kinds = np.full(b, BACKGROUNDS.index("paper"), dtype=np.int8)
    else:
        if family == "photo":
            background = photo_backgrounds(rng, b, size, xs, ys)
            kinds = np.full(b, BACKGROUNDS.index("photo"), dtype=np.int8)
        else:
            background, kinds = training_backgrounds(rng, b, size, xs, ys)
        image, masks, fills = _draw_objects(rng, labels, placement, background, xs, ys)
    image = _degrade(rng, image)
    image *= np.float32(255.0)
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8), masks, fills.astype(np.int8), kinds.astype(np.int8)


def _draw_objects(
    rng: np.random.Generator,
    labels: np.ndarray,
    placement: Placement,
    background: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the objects (filled, outlined or both) and occluders over ``background``."""
    b = labels.shape[0]
    fills = np.asarray(rng.choice(len(FILL_STYLES), size=b, p=_FILL_PROBABILITIES))
    width_code = rng.integers(0, len(_OUTLINE_WIDTHS), b)
    fill_candidates = random_colours(rng, (b, 4), value=(0.1, 1.0))
    outline_candidates = random_colours(rng, (b, 4), value=(0.05, 1.0))
    shaded_outline = uniform(rng, 0, 1, b) < 0.5
    shading = uniform(rng, -0.15, 0.15, (b, 2))

    silhouette = silhouettes(labels, placement, xs, ys)
    band = np.zeros_like(silhouette)
    for code, width in enumerate(_OUTLINE_WIDTHS):
        chosen = width_code == code
        band[chosen] = silhouette[chosen] & ~erode(silhouette[chosen], width)

    # Of a few random colours, take the one farthest from what lies under the object (or under
    # its outline), so that no object is invisible; the colour stays uninformative.
    rows = np.arange(b)
    under = masked_mean(background, silhouette)
    fill_colour = fill_candidates[rows, _farthest(fill_candidates, under)]
    along = masked_mean(background, band)
    plain_outline = outline_candidates[rows, _farthest(outline_candidates, along)]
    # Filled and outlined objects get a cartoon outline: a dark or light shade of the fill (the
    # one farther from the background), or another colour far from the fill.
    shades = np.stack([0.35 * fill_colour, 0.35 * fill_colour + 0.65], axis=1)
    shade = shades[rows, _farthest(shades, along)]
    contrasting = outline_candidates[rows, _farthest(outline_candidates, fill_colour)]
    cartoon_outline = np.where(shaded_outline[:, None], shade, contrasting)
    outline_colour = np.where((fills == 1)[:, None], plain_outline, cartoon_outline)

    image = background
    bi, yi, xi = np.nonzero(silhouette & (fills != 1)[:, None, None])
    gain = (
        1.0
        + shading[bi, 0] * (xs[0, 0, xi] - placement.cx[bi]) / placement.radius[bi]
        + shading[bi, 1] * (ys[0, yi, 0] - placement.cy[bi]) / placement.radius[bi]
    )
    image[bi, yi, xi] = np.clip(fill_colour[bi] * gain[:, None], 0.0, 1.0)
    bi, yi, xi = np.nonzero(band & (fills != 0)[:, None, None])
    image[bi, yi, xi] = outline_colour[bi]

    occluded = _draw_occluders(rng, image, silhouette, placement, xs, ys)
    return image, silhouette & ~occluded, fills


def _farthest(candidates: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Index ``(b,)`` of the candidate ``(b, k, 3)`` farthest from ``reference`` ``(b, 3)``."""
    return np.linalg.norm(candidates - reference[:, None, :], axis=-1).argmax(axis=1)


def _draw_occluders(
    rng: np.random.Generator,
    image: np.ndarray,
    silhouette: np.ndarray,
    placement: Placement,
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """Draw bars and blobs over parts of the objects, in place; return what they cover."""
    b = image.shape[0]
    active = uniform(rng, 0, 1, (b, _OCCLUDERS)) < _OCCLUSION
    is_bar = uniform(rng, 0, 1, (b, _OCCLUDERS)) < 0.5
    # Anchored within the object's radius, so they actually cross it.
    offset = uniform(rng, -1, 1, (b, _OCCLUDERS, 2)) * placement.radius[:, None, None]
    anchor = np.stack([placement.cx, placement.cy], axis=-1)[:, None, :] + offset
    direction = uniform(rng, 0, np.pi, (b, _OCCLUDERS))
    length = uniform(rng, 0.5, 1.5, (b, _OCCLUDERS)) * placement.radius[:, None]
    bar_width = uniform(rng, 1.0, 2.5, (b, _OCCLUDERS))
    blob_axes = uniform(rng, 0.15, 0.4, (b, _OCCLUDERS, 2)) * placement.radius[:, None, None]
    colours = random_colours(rng, (b, _OCCLUDERS))

    area = np.maximum(silhouette.sum(axis=(1, 2)), 1)
    covered = np.zeros_like(silhouette)
    for k in range(_OCCLUDERS):
        step = np.stack([np.cos(direction[:, k]), np.sin(direction[:, k])], axis=-1)
        half = (length[:, k] / 2)[:, None] * step
        ends = np.stack([anchor[:, k] - half, anchor[:, k] + half], axis=1)
        bar = segment_distance2(ends, xs, ys) <= (bar_width[:, k] ** 2)[:, None, None]
        blob = ellipse(anchor[:, k], blob_axes[:, k], direction[:, k], xs, ys)
        shape = np.where(is_bar[:, k, None, None], bar, blob)
        hidden = (shape | covered) & silhouette
        small = hidden.sum(axis=(1, 2)) <= _MAX_OCCLUDED * area
        shape &= (active[:, k] & small)[:, None, None]
        bi, yi, xi = np.nonzero(shape)
        image[bi, yi, xi] = colours[bi, k]
        covered |= shape
    return covered


def _degrade(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Blur some images, add pixel noise to all, and compress some like a JPEG."""
    b = image.shape[0]
    blurred = uniform(rng, 0, 1, b) < 0.3
    sigma = uniform(rng, 0.3, 1.2, b)
    noise_level = uniform(rng, 0.0, 0.03, (b, 1, 1, 1))
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    compressed = uniform(rng, 0, 1, b) < 0.3
    quality = uniform(rng, 15.0, 70.0, b)

    if blurred.any():
        image[blurred] = gaussian_blur(image[blurred], sigma[blurred])
    image = np.clip(image + noise_level * noise, 0.0, 1.0)
    if compressed.any():
        image[compressed] = jpeg_like(image[compressed], quality[compressed])
    return image
