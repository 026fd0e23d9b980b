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

from saliency_widgets._messages import GridError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
"""File types :func:`read_image` accepts (anything Pillow reads)."""


def resolve_path(path: str | Path, base: Path | None) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() or base is None else base / path


@dataclass(frozen=True)
class ImageSet:
    """Images to explain, as displayed, with a short name for each.

    Attributes:
        images: One ``uint8`` array per image, ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``;
            sizes may differ until :func:`fit_images` makes them one batch.
        names: A label per image (file stem, or ``"#i"`` for images from a reference).
    """

    images: tuple[np.ndarray, ...]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)


def read_image(path: Path) -> np.ndarray:
    """Reads an image file as ``uint8`` RGB.

    Args:
        path: Any image file Pillow reads.

    Returns:
        ``(H, W, 3)`` uint8 (transparency is composited on white).

    Raises:
        GridError: If the file cannot be read as an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("RGBA", "LA", "P"):
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        raise GridError(f"cannot read image {path}: {error}") from error


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
        GridError: If a pattern matches no image file.
    """
    files: list[Path] = []
    for pattern in patterns:
        full = resolve_path(pattern, base)
        matches = match_files(full)
        if not matches:
            raise GridError(f"no image matches {pattern!r} (looked for {full})")
        files.extend(m for m in matches if m not in files)
    return files


def _as_uint8(image: np.ndarray, what: str) -> np.ndarray:
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise GridError(f"{what}: expected an (H, W[, C]) image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    from saliency_widgets.render import to_display_image

    return to_display_image(image)


def fit_images(images: ImageSet, size: tuple[int, int] | None, channels: int | None) -> np.ndarray:
    """Stacks images into one ``uint8`` batch of the model's size and channels.

    Args:
        images: The images.
        size: ``(H, W)`` the model takes, or ``None`` to use the first image's size.
        channels: Channels the model takes (1 or 3), or ``None`` for 3.

    Returns:
        ``(N, H, W, C)`` uint8; images of another size are resized (bilinear).
    """
    from PIL import Image

    size = size or images.images[0].shape[:2]
    mode = "L" if channels == 1 else "RGB"
    batch = []
    for image in images.images:
        picture = Image.fromarray(image[..., :3] if image.ndim == 3 else image)
        picture = picture.convert(mode)
        if picture.size != (size[1], size[0]):
            picture = picture.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(picture)
        batch.append(array[..., None] if array.ndim == 2 else array)
    return np.stack(batch)
