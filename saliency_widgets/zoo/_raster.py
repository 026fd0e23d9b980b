"""Vectorized numpy raster primitives for the shapes generator.

Every function works on a whole batch at once: grids are ``(b, H, W)``, per-image parameters have
a leading ``b`` axis, and pixel centres sit at half-integer coordinates.
"""

from __future__ import annotations

import numpy as np


def masked_mean(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean colour ``(b, 3)`` of ``(b, H, W, 3)`` images over ``(b, H, W)`` masks."""
    b = masks.shape[0]
    area = np.maximum(masks.sum(axis=(1, 2)), 1)[:, None]
    return np.matmul(masks.reshape(b, 1, -1), images.reshape(b, -1, 3))[:, 0] / area


def erode(masks: np.ndarray, radius: float) -> np.ndarray:
    """Binary erosion of ``(b, H, W)`` masks by a disc; pixels beyond the border count as False."""
    reach = int(radius)
    padded = np.pad(masks, ((0, 0), (reach, reach), (reach, reach)))
    eroded = masks.copy()
    height, width = masks.shape[1:]
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if 0 < dy * dy + dx * dx <= radius * radius:
                top, left = reach + dy, reach + dx
                eroded &= padded[:, top : top + height, left : left + width]
    return eroded


def regular_polygon(sides: int, radii: tuple[float, ...] = (1.0,)) -> np.ndarray:
    """Vertices ``(sides * len(radii), 2)`` of a regular polygon or star on the unit circle."""
    count = sides * len(radii)
    theta = np.pi / 2 + 2 * np.pi * np.arange(count) / count
    r = np.resize(np.asarray(radii, dtype=np.float64), count)
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=-1)


def inside_polygon(vertices: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Even-odd test of points ``(u, v)`` (``(b, H, W)``) against polygons ``(b, V, 2)``."""
    inside = np.zeros(u.shape, dtype=bool)
    following = np.roll(vertices, -1, axis=1)
    for k in range(vertices.shape[1]):
        x1, y1 = vertices[:, k, 0, None, None], vertices[:, k, 1, None, None]
        x2, y2 = following[:, k, 0, None, None], following[:, k, 1, None, None]
        crosses = (y1 > v) != (y2 > v)
        dy = np.where(y2 == y1, 1.0, y2 - y1)
        x_at = x1 + (v - y1) * (x2 - x1) / dy
        inside ^= crosses & (u < x_at)
    return inside


def local_coordinates(
    cx: np.ndarray, cy: np.ndarray, angle: np.ndarray, xs: np.ndarray, ys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-grid coordinates relative to a centre, rotated by ``-angle``: ``(b, H, W)`` each."""
    dx = xs - cx[:, None, None].astype(np.float32)
    dy = ys - cy[:, None, None].astype(np.float32)
    cos = np.cos(angle)[:, None, None].astype(np.float32)
    sin = np.sin(angle)[:, None, None].astype(np.float32)
    return cos * dx + sin * dy, -sin * dx + cos * dy


def segment_distance2(ends: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Squared distance from pixel centres to segments ``ends`` (``(b, 2, 2)``): ``(b, H, W)``."""
    x1, y1 = ends[:, 0, 0, None, None], ends[:, 0, 1, None, None]
    x2, y2 = ends[:, 1, 0, None, None], ends[:, 1, 1, None, None]
    ex, ey = x2 - x1, y2 - y1
    length2 = np.maximum(ex * ex + ey * ey, 1e-6)
    t = np.clip(((xs - x1) * ex + (ys - y1) * ey) / length2, 0.0, 1.0)
    px = xs - (x1 + t * ex)
    py = ys - (y1 + t * ey)
    return px * px + py * py


def bilinear_matrix(source: int, target: int) -> np.ndarray:
    """``(target, source)`` matrix that linearly interpolates a length-``source`` signal."""
    position = np.clip((np.arange(target) + 0.5) * source / target - 0.5, 0, source - 1)
    low = np.minimum(np.floor(position).astype(int), source - 2)
    weight = position - low
    matrix = np.zeros((target, source), dtype=np.float32)
    matrix[np.arange(target), low] = 1 - weight
    matrix[np.arange(target), low + 1] = weight
    return matrix


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Convert HSV in ``[0, 1]`` to RGB in ``[0, 1]``; any leading shape."""
    h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    k = (np.array([5.0, 3.0, 1.0]) + h[..., None] * 6.0) % 6.0
    channel = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return (v[..., None] * (1.0 - s[..., None] * channel)).astype(np.float32)
