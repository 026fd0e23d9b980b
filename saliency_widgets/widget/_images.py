"""The widget's pictures: arrays, lists of arrays, file paths or a folder, turned into one list.

The widget shows arrays exactly as given (``originals``) and feeds the model
``preprocess(original)``; this module only gathers them and names them. Files are read by the
package's one image reader (:func:`saliency_widgets._image_files.read_image`: transparency on
white, a clear error naming a file Pillow cannot read), so a picture looks the same in the
widget, in a grid and on the command line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saliency_widgets._image_files import IMAGE_SUFFIXES, match_files, read_image


@dataclass(frozen=True)
class Pictures:
    """Images as the user gave them, with a name for each.

    Attributes:
        originals: One ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` array per image,
            unchanged (uint8 or float); sizes may differ.
        names: A short name per image (the file name, or ``"image 3"``).
    """

    originals: list[np.ndarray]
    names: list[str]

    def __len__(self) -> int:
        return len(self.originals)

    def same_shape(self, indices: Sequence[int]) -> bool:
        """Whether the images at ``indices`` can be stacked into one batch."""
        return len({self.originals[i].shape for i in indices}) <= 1


def _check_array(array: np.ndarray, where: str) -> np.ndarray:
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(f"{where} must hold numbers, got dtype {array.dtype}")
    if array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4)):
        return array
    raise ValueError(
        f"{where} has shape {array.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
    )


def _folder(path: Path) -> list[Path]:
    files = match_files(path)
    if not files:
        raise ValueError(f"folder {str(path)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def load_pictures(images: object) -> Pictures:
    """Gathers the images to explore.

    Args:
        images: A batch ``(N, H, W[, C])`` as a numpy array or tensor, a list of such arrays,
            a list of image file paths, or a folder (every image file in it, sorted by name).

    Returns:
        The images and their names.

    Raises:
        TypeError: For something that is not images.
        ValueError: For an empty input, an array of the wrong rank or a folder with no images.
        FileNotFoundError: For a path that does not exist.

    Example:
        >>> load_pictures(np.zeros((2, 8, 8, 3), np.uint8)).names
        ['image 0', 'image 1']
    """
    if hasattr(images, "numpy") and not isinstance(images, np.ndarray):
        images = images.numpy()
    if isinstance(images, str | os.PathLike):
        path = Path(images)
        if not path.exists():
            raise FileNotFoundError(f"images: no such file or folder {str(path)!r}")
        images = _folder(path) if path.is_dir() else [path]
    if isinstance(images, np.ndarray):
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images has shape {images.shape}; expected a batch (N, H, W) or (N, H, W, C)"
            )
        images = list(images)
    if not isinstance(images, list | tuple):
        raise TypeError(
            "images must be a numpy batch, a list of arrays, a list of file paths or a folder, "
            f"got {type(images).__name__}"
        )
    if len(images) == 0:
        raise ValueError("images is empty: expected at least one image")
    originals, names = [], []
    for i, item in enumerate(images):
        if isinstance(item, str | os.PathLike):
            path = Path(item)
            if not path.is_file():
                raise FileNotFoundError(f"images[{i}]: no such file {str(path)!r}")
            originals.append(_check_array(read_image(path), f"images[{i}] ({path.name})"))
            names.append(path.name)
        else:
            array = item.numpy() if hasattr(item, "numpy") else np.asarray(item)
            originals.append(_check_array(array, f"images[{i}]"))
            names.append(f"image {i}")
    return Pictures(originals, names)


__all__ = ["IMAGE_SUFFIXES", "Pictures", "load_pictures"]
