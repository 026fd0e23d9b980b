"""The display step: how a saliency map becomes pixels, in every view of the package.

:func:`overlay` (a map over its image) and :func:`colorize` (the map alone) are what the widget,
:func:`saliency_widgets.render.render_grid`, the ``saliency-grid`` directive and the
``saliency-widgets render`` command draw with. Presentation only: the engine's maps and the
filters are not changed. A map goes through three steps, plain arithmetic on numbers, so that a
browser can repeat them exactly:

1. **Sign** (:data:`SIGNS`): ``"absolute"`` shows ``|m|``, ``"positive"`` ``max(m, 0)``,
   ``"negative"`` ``max(-m, 0)``. The package's filters already return non-negative maps, which
   ``"absolute"`` (the default) leaves as they are.
2. **Scale** (:func:`levels`): the map is divided by its ``clip``-th percentile (numpy's default
   linear interpolation between the two nearest ranks, over the map's own pixels) and cut to
   ``[0, 1]``; zero stays zero. The level is ``floor(255 * v + 0.5)``, an integer in
   ``[0, 255]``. Gradient maps are sparse, with a few outlier pixels, so dividing by the maximum
   leaves almost everything near black; the 99th percentile (PAIR saliency's
   ``VisualizeImageGrayscale``) spends the colour range on the pixels that matter. A map whose
   percentile is not positive (all zeros, all negative under ``"positive"``) is level 0
   everywhere, never NaN.
3. **Colour and blend** (:func:`blend_levels`): the level indexes a 256-entry colour table
   (:func:`colour_table`), then each pixel is ``floor(image * (1 - w) + colour * w + 0.5)``
   (float64), with the weight ``w`` set by the blend mode (:data:`BLENDS`):

   - ``"heat"``: ``w = alpha`` everywhere: the colour map over the whole image at a fixed
     opacity (tf-keras-vis, Xplique). Low saliency takes the colour map's low end (inferno's
     black: the image is dimmed there), high saliency its bright end.
   - ``"mask"``: ``w = alpha * level / 255``: opacity grows with saliency, so the image shows
     untouched where the map is low.
   - ``"mask-image"``: ``w = alpha * (255 - level) / 255`` towards black: no colour, the image
     is dimmed where saliency is low and shown as it is where it is high.

:data:`DEFAULT_BLEND` was chosen by measuring every registered method on the bundled samples
(see ``docs/methods.rst``): ``"heat"`` makes the top-decile saliency pixels differ most from
the image for every method, and keeps the map's whole range readable rather than only its peaks.

Example:
    >>> import numpy as np
    >>> from saliency_widgets import display
    >>> saliency = np.array([[0.0, 0.02], [0.04, 1.0]])
    >>> display.levels(saliency, clip=50).tolist()
    [[0, 170], [255, 255]]
"""

from __future__ import annotations

import functools

import numpy as np

BLENDS = ("heat", "mask", "mask-image")
"""Blend modes of a map over its image (see the module's description)."""
DEFAULT_BLEND = "heat"
"""Measured to show every registered method's map best on the bundled samples."""
DEFAULT_CLIP = 99.0
"""The percentile shown at full colour (PAIR saliency's 99th; 100 divides by the maximum)."""
DEFAULT_ALPHA = 0.6
"""Opacity of the colour map (``"heat"``, and the highest of ``"mask"``)."""
DEFAULT_CMAP = "inferno"
"""Perceptually uniform, readable in print and for colour-blind readers."""
SIGNS = ("absolute", "positive", "negative")
"""Which part of a signed map is shown."""
COLOUR_MAPS = ("inferno", "magma", "viridis", "plasma", "cividis", "turbo", "jet", "hot", "gray")
"""The colour maps the interactive views offer (any matplotlib name works in the grid and
:func:`overlay`); each costs the browser a 768-byte table."""


def _numpy(array: object) -> np.ndarray:
    return array.numpy() if hasattr(array, "numpy") else np.asarray(array)


def _as_map(saliency: object) -> np.ndarray:
    array = _numpy(saliency)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 2:
        raise ValueError(f"saliency must be a 2-D map, got shape {array.shape}")
    return array


def check(
    *, clip: float | None = None, blend: str | None = None, alpha: float | None = None
) -> None:
    """Validates display options (``None`` skips one), naming the one at fault.

    Raises:
        ValueError: For ``clip`` outside ``(0, 100]``, an unknown ``blend`` or ``alpha``
            outside ``[0, 1]``.
    """
    if clip is not None and not 0.0 < clip <= 100.0:
        raise ValueError(f"clip must be a percentile in (0, 100], got {clip}")
    if blend is not None and blend not in BLENDS:
        raise ValueError(f"blend must be one of {', '.join(BLENDS)}; got {blend!r}")
    if alpha is not None and not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")


def signed(saliency: object, sign: str = "absolute") -> np.ndarray:
    """The part of a map that is shown, as non-negative float64 (NaN and infinities as 0).

    Args:
        saliency: ``(H, W)`` or ``(H, W, 1)`` map.
        sign: One of :data:`SIGNS`.

    Returns:
        ``(H, W)`` float64, ``>= 0``.

    Raises:
        ValueError: For an unknown sign or a map that is not 2-D.
    """
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {', '.join(SIGNS)}; got {sign!r}")
    values = _as_map(saliency).astype(np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    if sign == "absolute":
        return np.abs(values)
    return np.maximum(values if sign == "positive" else -values, 0.0)


def clip_value(
    saliency: object, clip: float | None = DEFAULT_CLIP, sign: str = "absolute"
) -> float:
    """The map value drawn at full colour: the ``clip``-th percentile of the shown map.

    Args:
        saliency: ``(H, W)`` map.
        clip: Percentile in ``(0, 100]``; ``None`` takes the map as already in ``[0, 1]`` (1.0).
        sign: One of :data:`SIGNS`.

    Returns:
        The value (0.0 for a map with nothing to show).
    """
    if clip is None:
        return 1.0
    check(clip=clip)
    values = signed(saliency, sign)
    return float(np.percentile(values, clip)) if values.size else 0.0


def levels(
    saliency: object, clip: float | None = DEFAULT_CLIP, sign: str = "absolute"
) -> np.ndarray:
    """Scales a map for display: ``floor(255 * min(m / clip_value, 1) + 0.5)``.

    Args:
        saliency: ``(H, W)`` or ``(H, W, 1)`` map.
        clip: Percentile shown at full colour, in ``(0, 100]``; ``None`` shows the values as they
            are, cut to ``[0, 1]`` (raw maps already in ``[0, 1]``).
        sign: One of :data:`SIGNS`.

    Returns:
        ``(H, W)`` uint8 levels: 0 for no saliency, 255 at or above the clip value.
    """
    values = signed(saliency, sign)
    top = clip_value(values, clip)
    if not top > 0.0:
        return np.zeros(values.shape, np.uint8)
    scaled = np.minimum(values / top, 1.0)
    return np.floor(scaled * 255.0 + 0.5).astype(np.uint8)


@functools.cache
def colour_table(cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """The 256 colours of a matplotlib colour map: entry ``i`` is ``cmap(i / 255)``.

    Args:
        cmap: A matplotlib colour map name.

    Returns:
        ``(256, 3)`` uint8, read-only (the same array for the same name).

    Raises:
        ValueError: For an unknown colour map.
    """
    import matplotlib

    if cmap not in matplotlib.colormaps:
        raise ValueError(f"cmap: {cmap!r} is not a matplotlib colour map")
    rgba = matplotlib.colormaps[cmap](np.arange(256) / 255.0)
    table = np.floor(rgba[:, :3] * 255.0 + 0.5).astype(np.uint8)
    table.flags.writeable = False
    return table


def colour(level: np.ndarray, cmap: str = DEFAULT_CMAP) -> np.ndarray:
    """Colours display levels with :func:`colour_table`.

    Args:
        level: uint8 levels from :func:`levels`.
        cmap: Colour map name.

    Returns:
        ``level.shape + (3,)`` uint8 RGB.
    """
    return colour_table(cmap)[np.asarray(level, np.uint8)]


def _resize_nearest(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    rows = (np.arange(size[0]) * array.shape[0] / size[0]).astype(int)
    cols = (np.arange(size[1]) * array.shape[1] / size[1]).astype(int)
    return array[rows][:, cols]


def blend_levels(
    image: np.ndarray,
    level: np.ndarray,
    mode: str = DEFAULT_BLEND,
    alpha: float = DEFAULT_ALPHA,
    cmap: str = DEFAULT_CMAP,
) -> np.ndarray:
    """Blends display levels over an image: ``floor(image * (1 - w) + target * w + 0.5)``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        level: ``(H', W')`` uint8 levels; resized to the image (nearest) when sizes differ.
        mode: One of :data:`BLENDS`: ``w = alpha`` (heat), ``alpha * level / 255`` (mask), or
            ``alpha * (255 - level) / 255`` towards black (mask-image).
        alpha: Opacity in ``[0, 1]``.
        cmap: Colour map name (unused by ``"mask-image"``).

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    check(blend=mode, alpha=alpha)
    level = np.asarray(level, np.uint8)
    if level.shape != image.shape[:2]:
        level = _resize_nearest(level, image.shape[:2])
    base = image[..., :3].astype(np.float64)
    steps = level.astype(np.float64)[..., None]
    if mode == "heat":
        weight = np.full((*level.shape, 1), float(alpha))
    elif mode == "mask":
        weight = alpha * steps / 255.0
    else:
        weight = alpha * (255.0 - steps) / 255.0
    target = 0.0 if mode == "mask-image" else colour(level, cmap).astype(np.float64)
    return np.floor(base * (1.0 - weight) + target * weight + 0.5).astype(np.uint8)


OUTLINE_COLOUR = (0, 229, 255)
"""The true object's outline: cyan, apart from every offered colour map."""


def outline(
    picture: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int] = OUTLINE_COLOUR
) -> np.ndarray:
    """Draws a mask's boundary over a picture, as the browser views do.

    The boundary is the mask's pixels with a 4-neighbour outside it (or on the picture's edge).

    Args:
        picture: ``(H, W, 3)`` uint8.
        mask: ``(H, W)`` boolean.
        colour: RGB.

    Returns:
        A new ``(H, W, 3)`` uint8 array.
    """
    inside = np.pad(np.asarray(mask, bool), 1)
    interior = (
        inside[1:-1, 1:-1]
        & inside[:-2, 1:-1]
        & inside[2:, 1:-1]
        & inside[1:-1, :-2]
        & inside[1:-1, 2:]
    )
    boundary = inside[1:-1, 1:-1] & ~interior
    drawn = np.array(picture, dtype=np.uint8, copy=True)
    drawn[boundary] = colour
    return drawn


def to_display_image(image: object) -> np.ndarray:
    """Converts an image to ``uint8`` RGB(A) or 2-D for display.

    Floats in ``[0, 1]`` are scaled by 255, floats in ``[-1, 1]`` (the usual ``x/127.5 - 1``
    preprocessing) are mapped back, any other float range is min-max scaled.

    Args:
        image: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` array.

    Returns:
        A ``uint8`` array, ``(H, W)`` for single-channel images.
    """
    image = _numpy(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype == np.uint8:
        return image
    image = image.astype(np.float32)
    low, high = float(np.nanmin(image)), float(np.nanmax(image))
    if low >= 0.0 and high <= 1.0:
        scaled = image
    elif low >= -1.0 and high <= 1.0:
        scaled = (image + 1.0) / 2.0
    elif low >= 0.0 and high <= 255.0:
        scaled = image / 255.0
    else:
        scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return (np.clip(np.nan_to_num(scaled), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_rgb(image: object) -> np.ndarray:
    """An image as displayed, ``(H, W, 3)`` uint8 RGB (gray repeated, alpha dropped).

    Args:
        image: Any format :func:`to_display_image` accepts.

    Returns:
        A contiguous ``(H, W, 3)`` uint8 array.
    """
    base = to_display_image(image)
    rgb = np.repeat(base[..., None], 3, axis=-1) if base.ndim == 2 else base[..., :3]
    return np.ascontiguousarray(rgb)


def colorize(
    saliency: object,
    cmap: str = DEFAULT_CMAP,
    clip: float | None = DEFAULT_CLIP,
    sign: str = "absolute",
) -> np.ndarray:
    """Colours a 2-D map for display: :func:`levels`, then its colours.

    Args:
        saliency: ``(H, W)`` or ``(H, W, 1)`` values (NaN shown as 0).
        cmap: A matplotlib colour map name.
        clip: Percentile drawn at full colour (default 99); ``None`` takes the values as they
            are, cut to ``[0, 1]``.
        sign: Which part of a signed map is shown (:data:`SIGNS`).

    Returns:
        ``(H, W, 3)`` uint8.
    """
    return colour(levels(saliency, clip, sign), cmap)


def overlay(
    image: object,
    saliency: object,
    alpha: float = DEFAULT_ALPHA,
    cmap: str = DEFAULT_CMAP,
    *,
    blend: str = DEFAULT_BLEND,
    clip: float | None = DEFAULT_CLIP,
    sign: str = "absolute",
) -> np.ndarray:
    """Shows a map over its image: the display step every view of the package uses.

    :func:`levels` scales the map by its ``clip``-th percentile, :func:`blend_levels` colours it
    and blends it over the image (the module's description gives the exact arithmetic).

    Example:
        >>> picture = overlay(np.zeros((4, 4, 3), np.uint8), np.eye(4), alpha=1.0, cmap="gray")
        >>> picture[:2, :2, 0].tolist()
        [[255, 0], [0, 255]]

    Args:
        image: The displayed image (any format :func:`to_display_image` accepts).
        saliency: ``(H', W')`` map; resized to the image (nearest) when sizes differ.
        alpha: Opacity of the colour map in ``[0, 1]`` (the highest opacity for ``"mask"``).
        cmap: Colour map name.
        blend: ``"heat"`` (default), ``"mask"`` or ``"mask-image"``.
        clip: Percentile drawn at full colour (default 99); ``None`` takes the values as they
            are, cut to ``[0, 1]``.
        sign: Which part of a signed map is shown (:data:`SIGNS`).

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        ValueError: For ``alpha``, ``blend``, ``clip`` or ``sign`` out of their ranges.
    """
    check(clip=clip, blend=blend, alpha=alpha)
    return blend_levels(to_rgb(image), levels(saliency, clip, sign), blend, alpha, cmap)


__all__ = [
    "BLENDS",
    "COLOUR_MAPS",
    "DEFAULT_ALPHA",
    "DEFAULT_BLEND",
    "DEFAULT_CLIP",
    "DEFAULT_CMAP",
    "OUTLINE_COLOUR",
    "SIGNS",
    "blend_levels",
    "check",
    "clip_value",
    "colorize",
    "colour",
    "colour_table",
    "levels",
    "outline",
    "overlay",
    "signed",
    "to_display_image",
    "to_rgb",
]
