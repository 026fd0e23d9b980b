"""Image segments for XRAI: Felzenszwalb's graph segmentation at several scales, dilated.

Plain numpy and scikit-image, no TensorFlow: :mod:`~saliency_widgets.methods.xrai` runs it on
the host (``tf.numpy_function``) and does the rest in TensorFlow. The procedure is PAIR
``saliency``'s: each image is scaled to ``[-1, 1]`` and resized to 224×224 (the scale of the
segmentation parameters), segmented by ``skimage.segmentation.felzenszwalb`` at six scales
(σ = 0.8, at least 150 pixels a segment), the label images are resized back (nearest), every
label becomes a mask, and every mask is dilated by a disk of 5 pixels so that segments overlap
across edges.
"""

from __future__ import annotations

import numpy as np

SCALES = (50, 100, 150, 250, 500, 1200)
"""Felzenszwalb ``scale`` values, from fine to coarse segments."""
SIGMA = 0.8
"""Gaussian pre-smoothing of the segmentation."""
MIN_SIZE = 150
"""Smallest segment, in pixels of the 224×224 working image."""
WORKING_SIZE = (224, 224)
"""The size images are segmented at (PAIR's), whatever their own."""
DILATION = 5
"""Radius of the disk each mask is dilated by, in pixels of the image."""


def felzenszwalb_masks(image: np.ndarray) -> np.ndarray:
    """The overlapping segments XRAI ranks, for one image.

    Args:
        image: ``(H, W, C)`` image, any value range.

    Returns:
        ``(S, H, W)`` boolean masks, the segments of every scale in turn (a label that vanished
        in the resize gives an empty mask, as in PAIR's).

    Raises:
        ModuleNotFoundError: Without scikit-image (``pip install scikit-image``).
    """
    from scipy import ndimage
    from skimage import segmentation
    from skimage.morphology import disk
    from skimage.transform import resize

    # In the image's own precision (float32 from the engine), as PAIR scales it: segments
    # depend on the last bits of the values.
    image = np.asarray(image)
    low, high = image.min(), image.max()
    unit = (image - low) / (high - low) if high > low else np.zeros_like(image)
    scaled = resize(
        unit * 2.0 + -1.0,
        WORKING_SIZE,
        order=3,
        mode="constant",
        preserve_range=True,
        anti_aliasing=True,
    )
    masks: list[np.ndarray] = []
    for scale in SCALES:
        labels = segmentation.felzenszwalb(scaled, scale=scale, sigma=SIGMA, min_size=MIN_SIZE)
        labels = resize(
            labels,
            image.shape[:2],
            order=0,
            preserve_range=True,
            mode="constant",
            anti_aliasing=False,
        ).astype(int)
        masks.extend(labels == label for label in range(labels.min(), labels.max() + 1))
    # One binary dilation of the whole stack (the disk spans only the image axes): the same
    # masks as dilating each in turn, in a fraction of the time.
    return ndimage.binary_dilation(np.stack(masks), structure=disk(DILATION)[None].astype(bool))


def segment_batch(images: np.ndarray) -> np.ndarray:
    """:func:`felzenszwalb_masks` of each image of ``(B, H, W, C)``, padded with empty masks.

    Args:
        images: A batch of images.

    Returns:
        ``(B, S, H, W)`` boolean masks, ``S`` the largest count in the batch; an empty mask is
        never chosen by XRAI (it adds no pixel).
    """
    per_image = [felzenszwalb_masks(image) for image in np.asarray(images)]
    count = max((len(masks) for masks in per_image), default=0)
    out = np.zeros((len(per_image), count, *np.shape(images)[1:3]), bool)
    for row, masks in zip(out, per_image, strict=True):
        row[: len(masks)] = masks
    return out


__all__ = ["DILATION", "MIN_SIZE", "SCALES", "SIGMA", "felzenszwalb_masks", "segment_batch"]
