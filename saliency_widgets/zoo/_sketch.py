"""Hand-drawn-like shapes: wobbly pen strokes on paper (a held-out style, never trained on).

Each outline is traced as one stroke that drifts smoothly off the ideal shape, starts anywhere
along it, and ends with a small gap or overshoot instead of closing exactly; pen width and ink
vary per drawing, and some drawings are hatched. The mask is exact for what is drawn: the pixels
inside the traced path (closed by a straight chord across any gap) or under the stroke.
"""

from __future__ import annotations

import numpy as np

from saliency_widgets.zoo._backgrounds import paper_backgrounds, random_colours, uniform
from saliency_widgets.zoo._geometry import (
    RING_INNER,
    SHAPE_NAMES,
    Placement,
    closed_path,
    place,
)
from saliency_widgets.zoo._raster import inside_polygon, polyline_distance

_POINTS = 40  # stroke vertices per traced outline
_TEMPLATE = 480  # dense samples of each unit outline the strokes are interpolated from
_WOBBLES = 3  # sinusoids of the smooth drift


def draw_sketches(
    rng: np.random.Generator,
    labels: np.ndarray,
    placement: Placement,
    xs: np.ndarray,
    ys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Sketch one shape per image on paper: ``(b, H, W, 3)`` float32 images and bool masks."""
    b, size = labels.shape[0], ys.shape[1]
    image = paper_backgrounds(rng, b, size, xs, ys)
    ink = random_colours(rng, (b,), saturation=(0.0, 0.9), value=(0.05, 0.45))
    width = uniform(rng, 1.0, 2.6, b)
    pressure = uniform(rng, 0.75, 1.0, b)
    hatched = uniform(rng, 0, 1, b) < 0.3
    hatch_angle = uniform(rng, 0, np.pi, b)
    hatch_period = uniform(rng, 3.5, 6.0, b)

    outer = _trace(rng, labels, placement, scale=1.0)
    inner = _trace(rng, labels, placement, scale=RING_INNER)
    is_ring = (labels == SHAPE_NAMES.index("ring"))[:, None, None]
    grid_x, grid_y = np.broadcast_to(xs, (b, size, size)), np.broadcast_to(ys, (b, size, size))
    inside = inside_polygon(outer, grid_x, grid_y)
    inside &= ~(is_ring & inside_polygon(inner, grid_x, grid_y))
    distance = polyline_distance(outer, xs, ys)
    distance = np.where(is_ring, np.minimum(distance, polyline_distance(inner, xs, ys)), distance)

    half = (width / 2)[:, None, None]
    coverage = np.clip(half + 0.5 - distance, 0.0, 1.0)  # antialiased pen
    projection = np.cos(hatch_angle)[:, None, None] * xs + np.sin(hatch_angle)[:, None, None] * ys
    hatch = np.abs((projection % hatch_period[:, None, None]) - hatch_period[:, None, None] / 2)
    hatching = np.clip(0.9 - hatch, 0.0, 1.0) * (inside & hatched[:, None, None])
    coverage = np.maximum(coverage, 0.7 * hatching) * pressure[:, None, None]
    alpha = coverage[..., None]
    image = image * (1 - alpha) + ink[:, None, None, :] * alpha
    masks = inside | (distance <= half)
    return image.astype(np.float32), masks


def _trace(
    rng: np.random.Generator, labels: np.ndarray, placement: Placement, scale: float
) -> np.ndarray:
    """One wobbly, not-quite-closed stroke per image along its shape: ``(b, _POINTS + 1, 2)``."""
    b = labels.shape[0]
    start = uniform(rng, 0, 1, b)
    closure = uniform(rng, -0.04, 0.08, b)  # negative: a gap; positive: an overshoot
    amplitude = uniform(rng, 0.0, 0.035, (b, _WOBBLES, 2))
    frequency = uniform(rng, 0.7, 3.5, (b, _WOBBLES, 2))
    phase = uniform(rng, 0, 2 * np.pi, (b, _WOBBLES, 2))
    jitter = uniform(rng, -0.01, 0.01, (b, _POINTS + 1, 2))

    t = np.linspace(0.0, 1.0, _POINTS + 1, dtype=np.float32)[None] * (1 + closure[:, None])
    t = t + start[:, None]  # (b, P)
    templates = np.stack([closed_path(name, _TEMPLATE) for name in SHAPE_NAMES]) * scale
    position = (t % 1.0) * _TEMPLATE
    low = np.floor(position).astype(int)
    weight = (position - low)[..., None]
    ideal = (
        templates[labels[:, None], low % _TEMPLATE] * (1 - weight)
        + templates[labels[:, None], (low + 1) % _TEMPLATE] * weight
    )
    # Smooth drift along the stroke, not periodic, so its two ends do not meet exactly.
    drift = (
        amplitude[:, None]
        * np.sin(2 * np.pi * frequency[:, None] * t[:, :, None, None] + phase[:, None])
    ).sum(axis=2)
    return place((ideal + drift + jitter).astype(np.float32), placement)
