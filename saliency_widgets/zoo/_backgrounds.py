"""Backgrounds for the shapes generator: the training kinds, photographs and paper.

Every function draws a whole chunk at once and returns ``(b, size, size, 3)`` float32 images in
``[0, 1]``. Random draws happen in a fixed order whatever is selected, so a chunk's images depend
only on its random stream.
"""

from __future__ import annotations

import functools

import numpy as np

from saliency_widgets.zoo._raster import (
    crop_resample,
    hsv_to_rgb,
    local_coordinates,
    segment_distance2,
    smooth_noise,
)

TRAINING_BACKGROUNDS: tuple[str, ...] = ("flat", "noisy", "gradient", "striped", "texture")
"""The background kinds of the training style, in the order of their codes."""

# Photographs bundled with scikit-image (no download): colour scenes and grey textures.
_COLOUR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
_GREY_PHOTOS = ("brick", "grass", "gravel", "camera", "coins")

_MAX_LINES = 5
_MAX_BLOBS = 8


def uniform(
    rng: np.random.Generator,
    low: float | np.ndarray,
    high: float | np.ndarray,
    size: int | tuple[int, ...] | None = None,
) -> np.ndarray:
    """Uniform draws as float32, so that all image arithmetic stays in single precision."""
    return rng.uniform(low, high, size).astype(np.float32)


def random_colours(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    saturation: tuple[float, float] = (0.0, 1.0),
    value: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Random RGB colours ``(*shape, 3)`` in ``[0, 1]`` with HSV saturation/value in the ranges."""
    hsv = np.stack(
        [
            rng.uniform(0, 1, shape),
            rng.uniform(*saturation, shape),
            rng.uniform(*value, shape),
        ],
        axis=-1,
    )
    return hsv_to_rgb(hsv)


def training_backgrounds(
    rng: np.random.Generator, b: int, size: int, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One of :data:`TRAINING_BACKGROUNDS` per image, with clutter: images and kind codes."""
    kinds = rng.integers(0, len(TRAINING_BACKGROUNDS), b)
    first = random_colours(rng, (b,))[:, None, None, :]
    second = random_colours(rng, (b,))[:, None, None, :]
    third = random_colours(rng, (b,))[:, None, None, :]
    direction = uniform(rng, 0, 2 * np.pi, b)[:, None, None]
    centred_x, centred_y = xs - size / 2, ys - size / 2
    along = np.cos(direction) * centred_x + np.sin(direction) * centred_y  # (b, H, W)

    # Per-pixel noise and low-frequency blotches (both tinted or grey).
    grain = rng.standard_normal((b, size, size, 3), dtype=np.float32)
    grain = np.where(uniform(rng, 0, 1, (b, 1, 1, 1)) < 0.5, grain, grain[..., :1])
    grain_level = uniform(rng, 0.03, 0.12, (b, 1, 1, 1))
    blotches = smooth_noise(rng.standard_normal((b, 6, 6, 3), dtype=np.float32), size)
    blotch_level = uniform(rng, 0.03, 0.12, (b, 1, 1, 1))

    # Stripes from soft sinusoids to hard bands, sometimes crossed into a checkerboard.
    period = uniform(rng, 3.0, 16.0, b)[:, None, None]
    phase = uniform(rng, 0, 2 * np.pi, (b, 2))
    hardness = uniform(rng, 1.0, 8.0, b)[:, None, None]
    checker = (uniform(rng, 0, 1, b) < 0.3)[:, None, None]
    across = -np.sin(direction) * centred_x + np.cos(direction) * centred_y
    wave = np.sin(2 * np.pi * along / period + phase[:, 0, None, None])
    wave_across = np.sin(2 * np.pi * across / period + phase[:, 1, None, None])
    wave = np.where(checker, wave * wave_across, wave)
    stripe = np.clip(0.5 + 0.5 * hardness * wave, 0.0, 1.0)[..., None]

    # Procedural texture: fractal value noise, sometimes turned into marble veins, through a
    # three-colour palette.
    octaves = [4, 8, 16, 32]
    persistence = uniform(rng, 0.35, 0.8, b)[:, None, None]
    fractal = np.zeros((b, size, size), dtype=np.float32)
    for level, grid in enumerate(octaves):
        coarse = rng.standard_normal((b, grid, grid, 1), dtype=np.float32)
        fractal += persistence**level * smooth_noise(coarse, size)[..., 0]
    marble = (uniform(rng, 0, 1, b) < 0.4)[:, None, None]
    frequency = uniform(rng, 0.1, 0.5, b)[:, None, None]
    veins = np.sin(frequency * along + 2.5 * fractal)
    low = fractal.min(axis=(1, 2), keepdims=True)
    high = fractal.max(axis=(1, 2), keepdims=True)
    t = np.where(marble, 0.5 + 0.5 * veins, (fractal - low) / np.maximum(high - low, 1e-6))
    t = t[..., None]
    texture = np.where(
        t < 0.5, first + (second - first) * 2 * t, second + (third - second) * (2 * t - 1)
    )

    ramp = np.clip(along / size + 0.5, 0.0, 1.0)[..., None]
    options = {
        "flat": first + 0.01 * grain,
        "noisy": first + grain_level * grain + blotch_level * blotches,
        "gradient": first + (second - first) * ramp + 0.5 * blotch_level * blotches,
        "striped": first + (second - first) * stripe,
        "texture": texture,
    }
    image = np.empty((b, size, size, 3), dtype=np.float32)
    for code, name in enumerate(TRAINING_BACKGROUNDS):
        chosen = kinds == code
        image[chosen] = options[name][chosen]
    np.clip(image, 0.0, 1.0, out=image)
    draw_clutter(rng, image, xs, ys)
    return image, kinds


def draw_clutter(
    rng: np.random.Generator, image: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> None:
    """Draw 0–5 thin line segments, then 0–8 small blobs, in random colours, in place."""
    b, size = image.shape[:2]
    n_lines = np.asarray(rng.integers(0, _MAX_LINES + 1, b))
    ends = uniform(rng, -0.1 * size, 1.1 * size, (b, _MAX_LINES, 2, 2))
    width = uniform(rng, 0.5, 1.2, (b, _MAX_LINES))
    # Blobs are tiny ellipses, far smaller than any object, so they are never a class shape.
    n_blobs = np.asarray(rng.integers(0, _MAX_BLOBS + 1, b))
    blob_centre = uniform(rng, 0, size, (b, _MAX_BLOBS, 2))
    blob_axes = uniform(rng, 0.8, 3.5, (b, _MAX_BLOBS, 2))
    blob_angle = uniform(rng, 0, np.pi, (b, _MAX_BLOBS))
    colours = random_colours(rng, (b, _MAX_LINES + _MAX_BLOBS))

    # Each pixel keeps the index of the last item drawn over it; colours are gathered once.
    top = np.full((b, size, size), -1, dtype=np.int8)
    for k in range(_MAX_LINES):
        near = segment_distance2(ends[:, k], xs, ys) <= (width[:, k] ** 2)[:, None, None]
        top[near & (k < n_lines)[:, None, None]] = k
    for k in range(_MAX_BLOBS):
        inside = ellipse(blob_centre[:, k], blob_axes[:, k], blob_angle[:, k], xs, ys)
        top[inside & (k < n_blobs)[:, None, None]] = _MAX_LINES + k
    bi, yi, xi = np.nonzero(top >= 0)
    image[bi, yi, xi] = colours[bi, top[bi, yi, xi]]


def ellipse(
    centre: np.ndarray, axes: np.ndarray, angle: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Filled ellipses ``(b, H, W)``: centres ``(b, 2)``, semi-axes ``(b, 2)``, angles ``(b,)``."""
    u, v = local_coordinates(centre[:, 0], centre[:, 1], angle, xs, ys)
    return (u / axes[:, 0, None, None]) ** 2 + (v / axes[:, 1, None, None]) ** 2 <= 1.0


@functools.cache
def _photos() -> tuple[np.ndarray, ...]:
    """The photographs as float32 ``(H, W, 3)`` arrays in ``[0, 1]`` (grey ones repeated)."""
    try:
        from skimage import data
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the 'photo' family cuts its backgrounds from photographs bundled with "
            "scikit-image; install it (pip install scikit-image)"
        ) from error
    photos = [getattr(data, name)()[..., :3] for name in _COLOUR_PHOTOS]
    photos += [np.repeat(getattr(data, name)()[..., None], 3, axis=-1) for name in _GREY_PHOTOS]
    return tuple(np.asarray(photo, dtype=np.float32) / 255.0 for photo in photos)


def photo_backgrounds(
    rng: np.random.Generator, b: int, size: int, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Crops of scikit-image's photographs, rescaled and flipped, grey ones tinted; with clutter."""
    photos = _photos()
    which = rng.integers(0, len(photos), b)
    side = uniform(rng, size, 3.0 * size, b)
    corner = uniform(rng, 0, 1, (b, 2))
    flip = uniform(rng, 0, 1, (b, 2)) < 0.5
    tint = random_colours(rng, (b,), saturation=(0.2, 0.8), value=(0.7, 1.0))
    image = np.empty((b, size, size, 3), dtype=np.float32)
    for index, photo in enumerate(photos):
        chosen = np.flatnonzero(which == index)
        height, width = photo.shape[:2]
        crop = np.minimum(side[chosen], min(height, width) - 1)
        top = corner[chosen, 0] * (height - 1 - crop)
        left = corner[chosen, 1] * (width - 1 - crop)
        image[chosen] = crop_resample(photo, top, left, crop, size)
        if index >= len(_COLOUR_PHOTOS):
            image[chosen] *= tint[chosen, None, None, :]
    image = np.where(flip[:, 0, None, None, None], image[:, ::-1], image)
    image = np.where(flip[:, 1, None, None, None], image[:, :, ::-1], image)
    image = np.ascontiguousarray(image)
    draw_clutter(rng, image, xs, ys)
    return image


def paper_backgrounds(
    rng: np.random.Generator, b: int, size: int, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Light paper with grain, sometimes ruled or squared in a pale ink, never cluttered."""
    paper = random_colours(rng, (b,), saturation=(0.0, 0.15), value=(0.82, 1.0))
    grain = rng.standard_normal((b, size, size, 1), dtype=np.float32)
    grain_level = uniform(rng, 0.005, 0.03, (b, 1, 1, 1))
    shade = smooth_noise(rng.standard_normal((b, 3, 3, 1), dtype=np.float32), size)
    ruling = rng.integers(0, 3, b)  # plain, ruled, squared
    spacing = uniform(rng, 5.0, 10.0, b)[:, None, None]
    offset = uniform(rng, 0, 10.0, (b, 2))
    rule_colour = random_colours(rng, (b,), saturation=(0.2, 0.6), value=(0.6, 0.95))
    image = paper[:, None, None, :] + grain_level * grain + 0.03 * shade
    rows = np.abs((ys + offset[:, 0, None, None]) % spacing - spacing / 2) < 0.5
    cols = np.abs((xs + offset[:, 1, None, None]) % spacing - spacing / 2) < 0.5
    lines = (rows & (ruling >= 1)[:, None, None]) | (cols & (ruling == 2)[:, None, None])
    bi, yi, xi = np.nonzero(lines)
    image[bi, yi, xi] = 0.5 * image[bi, yi, xi] + 0.5 * rule_colour[bi]
    return np.clip(image, 0.0, 1.0)
