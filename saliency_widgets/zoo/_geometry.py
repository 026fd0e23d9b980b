"""The eight shapes: their outlines in unit coordinates, placement, and exact masks.

Every shape fits in the unit disc; a placed shape is scaled by ``radius``, stretched by
``aspect`` along its own x axis (and ``1 / aspect`` along y), rotated by ``angle`` and centred on
``(cx, cy)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saliency_widgets.zoo._raster import inside_polygon, local_coordinates, regular_polygon

SHAPE_NAMES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "diamond",
    "hexagon",
)

RING_INNER = 0.55  # inner radius of the ring, relative to its outer radius
_STAR_INNER = 0.45  # inner radius of the five-pointed star
_CROSS_HALF_WIDTH = 0.32  # half width of a cross arm
_DIAMOND_HALF_WIDTH = 0.6  # a rhombus, deliberately not a rotated square


@dataclass(frozen=True)
class Placement:
    """Where each object of a chunk goes: ``(b,)`` float32 arrays, lengths in pixels."""

    cx: np.ndarray
    cy: np.ndarray
    radius: np.ndarray
    angle: np.ndarray
    aspect: np.ndarray


def local_frame(
    placement: Placement, idx: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in the unit frame of objects ``idx``: ``(len(idx), H, W)`` each."""
    u, v = local_coordinates(placement.cx[idx], placement.cy[idx], placement.angle[idx], xs, ys)
    scale_u = (placement.radius[idx] * placement.aspect[idx])[:, None, None]
    scale_v = (placement.radius[idx] / placement.aspect[idx])[:, None, None]
    return u / scale_u, v / scale_v


def silhouettes(
    labels: np.ndarray, placement: Placement, xs: np.ndarray, ys: np.ndarray
) -> np.ndarray:
    """Boolean masks ``(b, H, W)``: pixels whose centre lies inside the placed shape."""
    masks = np.zeros((labels.shape[0], ys.shape[1], xs.shape[2]), dtype=bool)
    for label, name in enumerate(SHAPE_NAMES):
        idx = np.flatnonzero(labels == label)
        if idx.size == 0:
            continue
        u, v = local_frame(placement, idx, xs, ys)
        rho = np.hypot(u, v)
        if name == "circle":
            masks[idx] = rho <= 1.0
        elif name == "ring":
            masks[idx] = (rho <= 1.0) & (rho >= RING_INNER)
        else:
            polygon = np.broadcast_to(_POLYGONS[name], (idx.size, *_POLYGONS[name].shape))
            masks[idx] = inside_polygon(polygon.astype(np.float32), u, v)
    return masks


def closed_path(name: str, count: int) -> np.ndarray:
    """``(count, 2)`` points evenly spaced along the outer boundary of a unit shape.

    Polygons keep their corners sharp as long as ``count`` is generous; circle and ring give a
    circle (the ring's inner boundary is the same circle scaled by :data:`RING_INNER`).
    """
    if name in ("circle", "ring"):
        return regular_polygon(count)
    corners = _POLYGONS[name]
    closed = np.concatenate([corners, corners[:1]])
    lengths = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(lengths)])
    targets = np.arange(count) * arc[-1] / count
    return np.stack([np.interp(targets, arc, closed[:, k]) for k in range(2)], axis=-1)


def place(points: np.ndarray, placement: Placement) -> np.ndarray:
    """Map unit-frame points ``(b, P, 2)`` to pixel coordinates of the placed objects."""
    u = points[..., 0] * (placement.radius * placement.aspect)[:, None]
    v = points[..., 1] * (placement.radius / placement.aspect)[:, None]
    cos, sin = np.cos(placement.angle)[:, None], np.sin(placement.angle)[:, None]
    x = placement.cx[:, None] + cos * u - sin * v
    y = placement.cy[:, None] + sin * u + cos * v
    return np.stack([x, y], axis=-1).astype(np.float32)


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
