"""Deterministic synthetic "shapes on clutter" images with ground-truth object masks.

Each image holds exactly one large object whose *shape* is the class. Everything else is chosen
so that it carries no information about the class: the object's colour is a random saturated
colour, its size, position and rotation are random, and the background is a textured, cluttered
scene (smooth colour gradient, low-frequency noise, optional stripes, thin line segments and small
blobs). A model that classifies these images well must therefore look at the object, which is
what makes the set useful for checking saliency maps: the mask says where a good map should point.

Objects carry a 2-pixel cartoon outline (a dark or light shade of their colour) *inside* their
mask. Besides looking natural, it matters for saliency: a flat object's shape lives in one edge,
so gradient maps straddle the mask boundary and their maximum falls outside it about half the
time; with the outline, the shape is drawn by two edges whose midline lies inside the mask. (For
the same network and training run, the blurred gradient maximum landed on the mask in 72% of
correctly classified held-out images with flat objects, and in 95% with outlined ones.)

The generator is pure numpy and vectorized over the batch. Images are generated in fixed-size
chunks, each from its own random stream, so ``make_shapes(k, seed)`` is a prefix of
``make_shapes(n, seed)`` for ``k <= n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saliency_widgets.zoo._raster import (
    bilinear_matrix,
    erode,
    hsv_to_rgb,
    inside_polygon,
    local_coordinates,
    masked_mean,
    regular_polygon,
    segment_distance2,
)

__all__ = ["CLASS_NAMES", "HELD_OUT_SEED", "IMAGE_SIZE", "ShapeSet", "make_shapes", "preprocess"]

CLASS_NAMES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "diamond",
    "hexagon",
)
"""Class names, indexed by label."""

IMAGE_SIZE = 64
"""Side of the (square) images, in pixels."""

HELD_OUT_SEED = 20_240
"""Seed of the evaluation set ``make_shapes(1000, HELD_OUT_SEED)``, never used for training."""

_CHUNK = 128  # images per random stream; fixed so that smaller sets are prefixes of larger ones
_SIZE_RANGE = (0.35, 0.60)  # object diameter as a fraction of the image side
_RING_INNER = 0.55  # inner radius of the ring, relative to its outer radius
_STAR_INNER = 0.45  # inner radius of the five-pointed star
_CROSS_HALF_WIDTH = 0.32  # half width of a cross arm
_DIAMOND_HALF_WIDTH = 0.6  # a rhombus, deliberately not a rotated square
_OUTLINE_WIDTH = 2.0  # pixels; the object's outline is part of the object (and of its mask)
_MAX_LINES = 5
_MAX_BLOBS = 8


@dataclass(frozen=True)
class ShapeSet:
    """A batch of generated images.

    Attributes:
        images: ``(n, size, size, 3)`` uint8 RGB images.
        labels: ``(n,)`` int64 class indices into :data:`CLASS_NAMES`.
        masks: ``(n, size, size)`` bool, True exactly on the object's pixels.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray

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


def make_shapes(n: int, seed: int, size: int = IMAGE_SIZE) -> ShapeSet:
    """Generate ``n`` labelled images of shapes on cluttered backgrounds.

    Labels cycle through the classes (``label = index % len(CLASS_NAMES)``), so every class has
    ``n // C`` or ``n // C + 1`` images. The same ``(n, seed, size)`` always gives identical bytes,
    and the first ``k`` images of a set do not depend on ``n``.

    Args:
        n: Number of images (``>= 0``).
        seed: Seed of the random streams.
        size: Image side in pixels (``>= 16``).

    Returns:
        The images, labels and object masks.

    Raises:
        ValueError: If ``n`` is negative or ``size`` is below 16.

    Example:
        >>> shapes = make_shapes(16, seed=0)
        >>> shapes.images.shape, shapes.labels[:3].tolist()
        ((16, 64, 64, 3), [0, 1, 2])
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    if size < 16:
        raise ValueError(f"size must be at least 16, got {size}")
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    masks = np.empty((n, size, size), dtype=bool)
    labels = (np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    for chunk, start in enumerate(range(0, n, _CHUNK)):
        stop = min(start + _CHUNK, n)
        rng = np.random.default_rng([seed, chunk])
        chunk_labels = (np.arange(start, start + _CHUNK) % len(CLASS_NAMES)).astype(np.int64)
        chunk_images, chunk_masks = _render_chunk(rng, chunk_labels, size)
        images[start:stop] = chunk_images[: stop - start]
        masks[start:stop] = chunk_masks[: stop - start]
    return ShapeSet(images=images, labels=labels, masks=masks)


def _render_chunk(
    rng: np.random.Generator, labels: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Render one chunk; the random draws happen in a fixed order, whatever the labels."""
    b = labels.shape[0]
    coords = np.arange(size, dtype=np.float32) + np.float32(0.5)
    xs = coords[None, None, :]
    ys = coords[None, :, None]

    background = _background(rng, b, size, xs, ys)
    radius = _uniform(rng, *_SIZE_RANGE, b) * np.float32(size / 2)
    cx = _uniform(rng, radius, size - radius)
    cy = _uniform(rng, radius, size - radius)
    angle = _uniform(rng, 0.0, 2 * np.pi, b)
    candidates = _saturated_colours(rng, (b, 4))
    shading = _uniform(rng, -0.15, 0.15, (b, 2))

    masks = _object_masks(labels, cx, cy, radius, angle, xs, ys)

    outline = masks & ~erode(masks, _OUTLINE_WIDTH)

    # Pick, among a few random saturated colours, the one farthest from the background under the
    # object, so that no object is invisible; the colour stays uninformative about the class.
    under = masked_mean(background, masks)
    distance = np.linalg.norm(candidates - under[:, None, :], axis=-1)
    colour = candidates[np.arange(b), distance.argmax(axis=1)]
    # A cartoon outline, darker or lighter than the fill, drawn inside the mask: the object keeps
    # its exact extent, and its shape is drawn by two edges (outline|background, fill|outline).
    # Of a dark and a light shade, take the one farther from the background along the outline.
    shades = np.stack([0.35 * colour, 0.35 * colour + 0.65], axis=1)
    along = masked_mean(background, outline)
    lighter = np.linalg.norm(shades - along[:, None, :], axis=-1).argmax(axis=1)
    outline_colour = shades[np.arange(b), lighter]

    # A gentle linear shading across the object, so it is not a perfectly flat patch.
    image = background
    bi, yi, xi = np.nonzero(masks)
    gain = (
        1.0
        + shading[bi, 0] * (xs[0, 0, xi] - cx[bi]) / radius[bi]
        + shading[bi, 1] * (ys[0, yi, 0] - cy[bi]) / radius[bi]
    )
    image[bi, yi, xi] = np.clip(colour[bi] * gain[:, None], 0.0, 1.0)
    bi, yi, xi = np.nonzero(outline)
    image[bi, yi, xi] = outline_colour[bi]

    image += np.float32(0.015) * rng.standard_normal(image.shape, dtype=np.float32)
    image *= np.float32(255.0)
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8), masks


def _background(
    rng: np.random.Generator, b: int, size: int, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Cluttered backgrounds in ``[0, 1]``, shape ``(b, size, size, 3)`` float32."""
    # Smooth gradient between two muted colours along a random direction.
    # Hue anywhere, saturation in [0.1, 0.7], value in [0.25, 0.9].
    scale, offset = np.array([1.0, 0.6, 0.65], np.float32), np.array([0.0, 0.1, 0.25], np.float32)
    start = hsv_to_rgb(_uniform(rng, 0, 1, (b, 3)) * scale + offset)
    end = hsv_to_rgb(_uniform(rng, 0, 1, (b, 3)) * scale + offset)
    direction = _uniform(rng, 0, 2 * np.pi, b)
    t = (
        np.cos(direction)[:, None, None] * (xs - size / 2)
        + np.sin(direction)[:, None, None] * (ys - size / 2)
    ) / size + 0.5
    t = np.clip(t, 0.0, 1.0)[..., None]
    image = start[:, None, None, :] + (end - start)[:, None, None, :] * t

    # Low-frequency colour noise: a coarse random grid, bilinearly upsampled.
    grid = 6
    coarse = rng.standard_normal((b, grid, grid, 3), dtype=np.float32)
    upsample = bilinear_matrix(grid, size)
    rows = np.matmul(upsample, coarse.reshape(b, grid, grid * 3)).reshape(b, size, grid, 3)
    noise = np.matmul(rows.transpose(0, 1, 3, 2), upsample.T).transpose(0, 1, 3, 2)
    image += noise * _uniform(rng, 0.04, 0.12, (b, 1, 1, 1))

    # Stripes (in about half of the images): a sinusoid with random period and orientation.
    has_stripes = _uniform(rng, 0.0, 1.0, b) < 0.5
    period = _uniform(rng, 4.0, 12.0, b)
    stripe_angle = _uniform(rng, 0, np.pi, b)
    phase = _uniform(rng, 0, 2 * np.pi, b)
    amplitude = _uniform(rng, 0.04, 0.12, b) * has_stripes
    projection = np.cos(stripe_angle)[:, None, None] * xs + np.sin(stripe_angle)[:, None, None] * ys
    stripes = np.sin(2 * np.pi * projection / period[:, None, None] + phase[:, None, None])
    image += (amplitude[:, None, None] * stripes)[..., None]
    np.clip(image, 0.0, 1.0, out=image)

    # Thin line segments, then small blobs, in random (often saturated) colours. Each pixel keeps
    # the index of the last item drawn over it, and colours are gathered once at the end.
    n_lines = rng.integers(1, _MAX_LINES + 1, b)
    ends = _uniform(rng, -0.1 * size, 1.1 * size, (b, _MAX_LINES, 2, 2))
    width = _uniform(rng, 0.5, 1.2, (b, _MAX_LINES))
    # Blobs are tiny ellipses, far smaller than any object, so they are never a class shape.
    n_blobs = rng.integers(2, _MAX_BLOBS + 1, b)
    blob_centre = _uniform(rng, 0, size, (b, _MAX_BLOBS, 2))
    blob_axes = _uniform(rng, 0.8, 3.5, (b, _MAX_BLOBS, 2))
    blob_angle = _uniform(rng, 0, np.pi, (b, _MAX_BLOBS))
    clutter_colours = _random_colours(rng, (b, _MAX_LINES + _MAX_BLOBS))

    top = np.full((b, size, size), -1, dtype=np.int8)
    for k in range(_MAX_LINES):
        near = segment_distance2(ends[:, k], xs, ys) <= (width[:, k] ** 2)[:, None, None]
        top[near & (k < n_lines)[:, None, None]] = k
    for k in range(_MAX_BLOBS):
        u, v = local_coordinates(
            blob_centre[:, k, 0], blob_centre[:, k, 1], blob_angle[:, k], xs, ys
        )
        inside = (u / blob_axes[:, k, 0, None, None]) ** 2 + (
            v / blob_axes[:, k, 1, None, None]
        ) ** 2 <= 1.0
        top[inside & (k < n_blobs)[:, None, None]] = _MAX_LINES + k
    bi, yi, xi = np.nonzero(top >= 0)
    image[bi, yi, xi] = clutter_colours[bi, top[bi, yi, xi]]
    return image


def _object_masks(
    labels: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    angle: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
) -> np.ndarray:
    """Boolean masks ``(b, H, W)`` of the objects; every shape fits in its circumscribed disk."""
    b = labels.shape[0]
    masks = np.zeros((b, ys.shape[1], xs.shape[2]), dtype=bool)
    for label, name in enumerate(CLASS_NAMES):
        idx = np.flatnonzero(labels == label)
        if idx.size == 0:
            continue
        u, v = local_coordinates(cx[idx], cy[idx], angle[idx], xs, ys)
        rho = np.hypot(u, v) / radius[idx, None, None]
        if name == "circle":
            masks[idx] = rho <= 1.0
        elif name == "ring":
            masks[idx] = (rho <= 1.0) & (rho >= _RING_INNER)
        else:
            scaled = _POLYGONS[name][None].astype(np.float32) * radius[idx, None, None]
            masks[idx] = inside_polygon(scaled, u, v)
    return masks


def _uniform(
    rng: np.random.Generator,
    low: float | np.ndarray,
    high: float | np.ndarray,
    size: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """Uniform draws as float32, so that all image arithmetic stays in single precision."""
    return rng.uniform(low, high, size).astype(np.float32)


def _cross() -> np.ndarray:
    w = _CROSS_HALF_WIDTH
    arm = float(np.sqrt(1.0 - w * w))  # arm corners lie on the unit circle
    return np.array(
        [
            [w, w],
            [arm, w],
            [arm, -w],
            [w, -w],
            [w, -arm],
            [-w, -arm],
            [-w, -w],
            [-arm, -w],
            [-arm, w],
            [-w, w],
            [-w, arm],
            [w, arm],
        ]
    )


_POLYGONS: dict[str, np.ndarray] = {
    "square": regular_polygon(4),
    "triangle": regular_polygon(3),
    "star": regular_polygon(5, (1.0, _STAR_INNER)),
    "cross": _cross(),
    "diamond": regular_polygon(4) * [_DIAMOND_HALF_WIDTH, 1.0],
    "hexagon": regular_polygon(6),
}


def _saturated_colours(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random vivid RGB colours in ``[0, 1]``, shape ``(*shape, 3)``."""
    hue = rng.uniform(0, 1, shape)
    saturation = rng.uniform(0.7, 1.0, shape)
    value = rng.uniform(0.6, 1.0, shape)
    return hsv_to_rgb(np.stack([hue, saturation, value], axis=-1))


def _random_colours(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Random RGB colours of any saturation and brightness, shape ``(*shape, 3)``, float32."""
    return hsv_to_rgb(rng.uniform(0, 1, (*shape, 3))).astype(np.float32)
