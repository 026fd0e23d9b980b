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


def polyline_distance(points: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Distance ``(b, H, W)`` from pixel centres to open polylines ``points`` (``(b, P, 2)``)."""
    nearest = np.full((points.shape[0], ys.shape[1], xs.shape[2]), np.inf, dtype=np.float32)
    for k in range(points.shape[1] - 1):
        np.minimum(nearest, segment_distance2(points[:, k : k + 2], xs, ys), out=nearest)
    return np.sqrt(nearest)


def smooth_noise(coarse: np.ndarray, size: int) -> np.ndarray:
    """Bilinearly upsample ``(b, g, g, C)`` grids to ``(b, size, size, C)`` (low-pass noise)."""
    b, grid, _, channels = coarse.shape
    upsample = bilinear_matrix(grid, size)
    rows = np.matmul(upsample, coarse.reshape(b, grid, grid * channels))
    rows = rows.reshape(b, size, grid, channels).transpose(0, 1, 3, 2)
    return np.matmul(rows, upsample.T).transpose(0, 1, 3, 2)


def gaussian_blur(images: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Blur ``(b, H, W, C)`` images, each with its own ``sigma`` (``(b,)``, pixels, > 0).

    Edge pixels average over the part of the kernel inside the image (renormalised weights).
    """
    size = images.shape[1]
    offsets = np.arange(size, dtype=np.float32)
    distance2 = (offsets[:, None] - offsets[None, :]) ** 2
    kernel = np.exp(-distance2[None] / (2 * sigma[:, None, None] ** 2)).astype(np.float32)
    kernel /= kernel.sum(axis=2, keepdims=True)
    channels_first = images.transpose(0, 3, 1, 2)
    blurred = kernel[:, None] @ channels_first @ kernel[:, None].transpose(0, 1, 3, 2)
    return np.ascontiguousarray(blurred.transpose(0, 2, 3, 1))


_LUMA_TABLE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.float32,
)
_CHROMA_TABLE = np.full((8, 8), 99, dtype=np.float32)
_CHROMA_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]
_RGB_TO_YCC = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]],
    dtype=np.float32,
)


def _dct_matrix(n: int = 8) -> np.ndarray:
    k, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    matrix = np.sqrt(2 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2)
    return matrix.astype(np.float32)


def jpeg_like(images: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """JPEG artefacts on ``(b, H, W, 3)`` images in ``[0, 1]`` (``H``, ``W`` multiples of 8).

    YCbCr conversion, 2×2 chroma averaging, 8×8 block DCT quantised with the standard tables at
    each image's ``quality`` (``(b,)``, 1–100), and back; entropy coding is lossless, so skipped.
    """
    b, height, width, _ = images.shape
    scale = np.where(quality < 50, 5000.0 / quality, 200.0 - 2.0 * quality).astype(np.float32)
    tables = np.stack([_LUMA_TABLE, _CHROMA_TABLE, _CHROMA_TABLE])  # (3, 8, 8)
    steps = np.maximum(np.floor((tables[None] * scale[:, None, None, None] + 50) / 100), 1.0)
    ycc = images * 255.0 @ _RGB_TO_YCC.T
    ycc[..., 0] -= 128.0
    chroma = ycc[..., 1:].reshape(b, height // 2, 2, width // 2, 2, 2).mean(axis=(2, 4))
    ycc[..., 1:] = np.repeat(np.repeat(chroma, 2, axis=1), 2, axis=2)
    dct = _dct_matrix()
    blocks = ycc.reshape(b, height // 8, 8, width // 8, 8, 3).transpose(0, 5, 1, 3, 2, 4)
    coefficients = dct @ blocks @ dct.T
    step = steps[:, :, None, None]
    blocks = dct.T @ (np.rint(coefficients / step) * step) @ dct
    ycc = blocks.transpose(0, 2, 4, 3, 5, 1).reshape(b, height, width, 3)
    ycc[..., 0] += 128.0
    rgb = ycc @ np.linalg.inv(_RGB_TO_YCC).T.astype(np.float32) / 255.0
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def crop_resample(
    source: np.ndarray, top: np.ndarray, left: np.ndarray, side: np.ndarray, size: int
) -> np.ndarray:
    """Bilinear ``size``×``size`` resamplings of square crops of one ``(H, W, C)`` image.

    Crop ``i`` spans ``side[i]`` source pixels from ``(top[i], left[i])``; returns
    ``(len(top), size, size, C)`` float32.
    """
    steps = (np.arange(size, dtype=np.float32) + 0.5) / size
    height, width = source.shape[:2]
    ys = np.clip(top[:, None] + steps[None] * side[:, None] - 0.5, 0, height - 1.001)
    xs = np.clip(left[:, None] + steps[None] * side[:, None] - 0.5, 0, width - 1.001)
    y0, x0 = ys.astype(int), xs.astype(int)
    wy, wx = (ys - y0)[:, :, None, None], (xs - x0)[:, None, :, None]
    rows0, rows1 = y0[:, :, None], y0[:, :, None] + 1
    cols0, cols1 = x0[:, None, :], x0[:, None, :] + 1
    top_row = source[rows0, cols0] * (1 - wx) + source[rows0, cols1] * wx
    bottom_row = source[rows1, cols0] * (1 - wx) + source[rows1, cols1] * wx
    return (top_row * (1 - wy) + bottom_row * wy).astype(np.float32)
