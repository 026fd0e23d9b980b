"""Image files and batches: the one reader, the one file matcher, the fitting to a model.

Nothing here imports TensorFlow: the Sphinx directive matches files with :func:`match_files`
before it knows whether anything must be computed, and the widget reads files with
:func:`read_image`, so a picture looks the same in a grid, in the widget and on the command line.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from saliency_widgets._messages import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
"""File types :func:`read_image` accepts (anything Pillow reads)."""


def resolve_path(path: str | Path, base: Path | None) -> Path:
    """``path`` with ``~`` expanded, relative to ``base`` unless absolute (or ``base`` is None)."""
    path = Path(path).expanduser()
    return path if path.is_absolute() or base is None else base / path


@dataclass(frozen=True)
class ImageSet:
    """Images to explain, as given, with a short name for each.

    Attributes:
        images: One array per image, ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``,
            ``uint8`` (files) or as the caller gave it; sizes may differ until
            :func:`fit_images` makes them one batch.
        names: A label per image (file stem, or ``"#i"`` for images given as arrays).
        labels: The true class of each image, when the source knows it (e.g.
            :func:`saliency_widgets.zoo.load_samples`), else ``None``.
        masks: ``(N, H, W)`` object masks, when the source has them, else ``None``.
    """

    images: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    labels: np.ndarray | None = None
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


def read_image(path: Path) -> np.ndarray:
    """Reads an image file as ``uint8`` RGB.

    Args:
        path: Any image file Pillow reads.

    Returns:
        ``(H, W, 3)`` uint8 (transparency is composited on white).

    Raises:
        InputError: If the file cannot be read as an image.
    """
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise InputError(f"cannot read image {path}: {error}") from error


def match_files(pattern: str | Path, images: bool = True) -> list[Path]:
    """The files an absolute path, folder or glob pattern names, sorted by name.

    The one matcher of the directive, the CLI and the grid: an existing file is taken as it is
    (``img[1].png`` is no glob), a folder gives the files directly inside it, anything else is
    a glob (``*``, ``?``, ``[..]``, ``**``).

    Args:
        pattern: An absolute path or pattern.
        images: Keep only files with an image suffix (:data:`IMAGE_SUFFIXES`).

    Returns:
        The matching files.
    """
    full = Path(pattern)
    if full.is_file():
        candidates = [full]
    elif full.is_dir():
        candidates = list(full.iterdir())
    else:
        candidates = [Path(p) for p in glob.glob(str(full), recursive=True)]
    return sorted(
        p for p in candidates if p.is_file() and (not images or p.suffix.lower() in IMAGE_SUFFIXES)
    )


def expand_patterns(patterns: Sequence[str], base: Path | None) -> list[Path]:
    """Expands glob patterns (relative to ``base``) to sorted, de-duplicated image files.

    Args:
        patterns: Image files, folders (their images, not recursively) or glob patterns
            (``*``, ``?``, ``[..]``, ``**``); a name that exists is never read as a pattern.
        base: Folder that relative patterns are resolved against.

    Returns:
        The matching files in pattern order, each pattern's matches sorted by name.

    Raises:
        InputError: If a pattern matches no image file.
    """
    files: list[Path] = []
    for pattern in patterns:
        full = resolve_path(pattern, base)
        matches = match_files(full)
        if not matches:
            raise InputError(f"no image matches {pattern!r} (looked for {full})")
        files.extend(m for m in matches if m not in files)
    return files


def checked_image(image: object, what: str) -> np.ndarray:
    """``image`` as a numpy array if it is one picture of numbers.

    Args:
        image: An array or tensor.
        what: Where it came from, for the message (``"images item 3"``).

    Returns:
        The array, unchanged (any numeric dtype).

    Raises:
        InputError: For another rank or channel count, or values that are not numbers.
    """
    array = image.numpy() if hasattr(image, "numpy") else np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        raise InputError(f"{what}: expected an (H, W[, C]) image, got shape {array.shape}")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{what}: expected numbers, got dtype {array.dtype}")
    return array


LUMA = np.array([0.299, 0.587, 0.114], np.float32)
"""RGB weights of a gray level (ITU-R 601-2, what Pillow's ``"L"`` conversion uses)."""


def _fit(image: np.ndarray, size: tuple[int, int], gray: bool) -> np.ndarray:
    """One image at ``size`` with 1 (``gray``) or 3 channels, in its own kind of values."""
    if image.ndim == 3 and image.shape[-1] in (1, 4):
        image = image[..., 0] if image.shape[-1] == 1 else image[..., :3]
    if image.dtype == np.uint8:  # Pillow's own conversions and filter, as for files
        picture = Image.fromarray(image).convert("L" if gray else "RGB")
        if picture.size != (size[1], size[0]):
            picture = picture.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(picture)
        return array[..., None] if array.ndim == 2 else array
    values = image.astype(np.float32)  # model inputs as given: resized, never rescaled
    if gray and values.ndim == 3:
        values = values @ LUMA
    planes = [values] if values.ndim == 2 else list(np.moveaxis(values, -1, 0))
    if not gray and len(planes) == 1:
        planes *= 3
    if values.shape[:2] != size:
        planes = [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(plane)).resize(
                    (size[1], size[0]), Image.Resampling.BILINEAR
                )
            )
            for plane in planes
        ]
    return np.stack(planes, axis=-1)


def fit_images(
    images: ImageSet | Sequence[np.ndarray], size: tuple[int, int] | None, channels: int | None
) -> np.ndarray:
    """Stacks images into one batch of the model's size and channels.

    ``uint8`` pictures stay ``uint8`` (converted and resized by Pillow, as files are); other
    arrays keep their values (float32, resized bilinearly per channel), so that images given
    as model inputs are never rescaled.

    Args:
        images: The images.
        size: ``(H, W)`` the model takes, or ``None`` to use the first image's size.
        channels: Channels the model takes (1 or 3), or ``None`` for 3.

    Returns:
        ``(N, H, W, C)``; images of another size are resized (bilinear).
    """
    pictures = images.images if isinstance(images, ImageSet) else tuple(images)
    size = size or pictures[0].shape[:2]
    fitted = [_fit(image, (int(size[0]), int(size[1])), channels == 1) for image in pictures]
    return np.stack(fitted)


__all__ = [
    "IMAGE_SUFFIXES",
    "ImageSet",
    "checked_image",
    "expand_patterns",
    "fit_images",
    "match_files",
    "read_image",
    "resolve_path",
]
