"""Tests for the synthetic shapes generator (saliency_widgets/zoo/shapes.py and its helpers)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from saliency_widgets.zoo.shapes import (
    BACKGROUNDS,
    CLASS_NAMES,
    FAMILIES,
    FILL_STYLES,
    IMAGE_SIZE,
    ShapeSet,
    make_shapes,
    preprocess,
)

N = 400
# 4-connected dilation/erosion within each image, never across the batch axis.
_CROSS_3D = np.zeros((3, 3, 3), dtype=bool)
_CROSS_3D[1] = ndimage.generate_binary_structure(2, 1)


@pytest.fixture(scope="module")
def shapes() -> ShapeSet:
    return make_shapes(N, seed=7)


@pytest.fixture(scope="module", params=FAMILIES[1:])
def held_out_family(request: pytest.FixtureRequest) -> tuple[str, ShapeSet]:
    return request.param, make_shapes(160, seed=7, family=request.param)


def test_shapes_dtypes_and_shapes(shapes: ShapeSet) -> None:
    assert IMAGE_SIZE == 64
    assert len(shapes) == N
    assert shapes.images.shape == (N, 64, 64, 3)
    assert shapes.images.dtype == np.uint8
    assert shapes.labels.shape == (N,)
    assert shapes.labels.dtype == np.int64
    assert shapes.masks.shape == (N, 64, 64)
    assert shapes.masks.dtype == np.bool_
    assert shapes.fills.shape == shapes.backgrounds.shape == (N,)


def test_eight_distinct_classes() -> None:
    assert CLASS_NAMES == (
        "circle", "square", "triangle", "star", "cross", "ring", "diamond", "hexagon"
    )  # fmt: skip


def test_same_seed_gives_identical_bytes(shapes: ShapeSet) -> None:
    again = make_shapes(N, seed=7)
    assert again.images.tobytes() == shapes.images.tobytes()
    assert np.array_equal(again.labels, shapes.labels)
    assert np.array_equal(again.masks, shapes.masks)
    assert np.array_equal(again.fills, shapes.fills)


def test_different_seed_or_family_gives_different_images(shapes: ShapeSet) -> None:
    other = make_shapes(N, seed=8)
    assert (other.images != shapes.images).any(axis=(1, 2, 3)).all()
    assert not np.array_equal(other.masks, shapes.masks)
    sketches = make_shapes(16, seed=7, family="sketch")
    assert (sketches.images != shapes.images[:16]).any(axis=(1, 2, 3)).all()


def test_smaller_set_is_a_prefix(shapes: ShapeSet) -> None:
    # 130 crosses a chunk boundary of the generator.
    prefix = make_shapes(130, seed=7)
    assert np.array_equal(prefix.images, shapes.images[:130])
    assert np.array_equal(prefix.masks, shapes.masks[:130])


def test_classes_are_balanced(shapes: ShapeSet) -> None:
    counts = np.bincount(shapes.labels, minlength=len(CLASS_NAMES))
    assert counts.max() - counts.min() <= 1
    assert np.array_equal(shapes.labels[: len(CLASS_NAMES)], np.arange(len(CLASS_NAMES)))


def test_training_style_mixes_every_fill_and_background(shapes: ShapeSet) -> None:
    fills = np.bincount(shapes.fills, minlength=len(FILL_STYLES)) / N
    np.testing.assert_allclose(fills, [0.4, 0.3, 0.3], atol=0.07)
    backgrounds = np.bincount(shapes.backgrounds, minlength=len(BACKGROUNDS)) / N
    np.testing.assert_allclose(backgrounds[:5], 0.2, atol=0.06)
    assert backgrounds[5:].sum() == 0  # no photo, no paper
    # Fill style and background are drawn independently of the class.
    for label in range(len(CLASS_NAMES)):
        of_class = shapes.labels == label
        assert len(np.unique(shapes.fills[of_class])) == 3
        assert len(np.unique(shapes.backgrounds[of_class])) == 5


def test_held_out_families_are_labelled(held_out_family: tuple[str, ShapeSet]) -> None:
    family, shapes = held_out_family
    expected = "photo" if family == "photo" else "paper"
    assert (shapes.backgrounds == BACKGROUNDS.index(expected)).all()
    if family == "sketch":
        assert (shapes.fills == FILL_STYLES.index("outlined")).all()
    else:
        assert len(np.unique(shapes.fills)) == 3


def test_masks_cover_a_plausible_fraction(shapes: ShapeSet) -> None:
    fraction = shapes.masks.mean(axis=(1, 2))
    # Smallest: thin diamonds/triangles at 28% of the side (~1.5%); largest: discs at 64% (~33%).
    assert fraction.min() > 0.01
    assert fraction.max() < 0.36
    circle = fraction[shapes.labels == CLASS_NAMES.index("circle")].mean()
    ring = fraction[shapes.labels == CLASS_NAMES.index("ring")].mean()
    assert 0.55 < ring / circle < 0.8  # a ring's hole is ~30% of its disc


def test_masks_are_one_connected_object(shapes: ShapeSet) -> None:
    sizes = []
    for mask in shapes.masks:
        labelled, _ = ndimage.label(mask)
        sizes.append(np.bincount(labelled.ravel())[1:].max() / mask.sum())
    # Occluding bars may cut a thin arm off, but the object stays essentially one piece.
    assert np.median(sizes) == 1.0
    assert np.mean(np.asarray(sizes) > 0.7) > 0.97


def test_filled_objects_match_their_masks(shapes: ShapeSet) -> None:
    images = shapes.images.astype(np.float64)
    cores = ndimage.binary_erosion(shapes.masks, structure=_CROSS_3D, iterations=4)
    outer = ndimage.binary_dilation(shapes.masks, structure=_CROSS_3D, iterations=2)
    outer &= ~ndimage.binary_dilation(shapes.masks, structure=_CROSS_3D)
    agree = []
    for image, core, ring, fill in zip(images, cores, outer, shapes.fills, strict=True):
        if fill != FILL_STYLES.index("filled") or core.sum() < 20:
            continue
        colour = np.median(image[core], axis=0)
        distance = np.linalg.norm(image - colour, axis=-1)
        # Inside: the fill, up to its gentle shading, noise and compression.
        inside = (distance[core] < 60).mean()
        # Just outside: mostly something else (the colour was picked for contrast).
        outside = (distance[ring] < 25).mean()
        agree.append(inside > 0.8 and outside < 0.5)
    assert len(agree) > 100
    assert np.mean(agree) > 0.9


def test_sketch_ink_lies_on_the_mask() -> None:
    sketches = make_shapes(96, seed=3, family="sketch")
    brightness = sketches.images.astype(np.float64).mean(axis=-1)
    paper = np.median(brightness, axis=(1, 2), keepdims=True)
    ink = brightness < paper - 100  # dark pen strokes; ruling lines and grain are pale
    assert ink.sum() > 96 * 60
    assert ink[sketches.masks].sum() / ink.sum() > 0.97


def test_colour_does_not_reveal_the_class(shapes: ShapeSet) -> None:
    object_colour = np.stack(
        [image[mask].mean(axis=0) for image, mask in zip(shapes.images, shapes.masks, strict=True)]
    )
    hue_proxy = np.argmax(object_colour, axis=1)
    for label in range(len(CLASS_NAMES)):
        dominant = np.bincount(hue_proxy[shapes.labels == label], minlength=3)
        # Every class shows objects whose dominant channel is each of red, green and blue.
        assert (dominant > 0).all()


def test_preprocess_maps_pixel_range_onto_minus_one_one() -> None:
    pixels = np.array([0, 127.5, 255], dtype=np.float64)
    assert preprocess(pixels).tolist() == [-1.0, 0.0, 1.0]
    assert preprocess(np.array([0, 255], dtype=np.uint8)).tolist() == [-1.0, 1.0]
    batch = preprocess(np.zeros((2, 3, 4, 4, 3), dtype=np.uint8))
    assert batch.shape == (2, 3, 4, 4, 3)
    assert batch.dtype == np.float32


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        make_shapes(-1, seed=0)
    with pytest.raises(ValueError, match="at least 16"):
        make_shapes(4, seed=0, size=8)
    with pytest.raises(ValueError, match="multiple of 8"):
        make_shapes(4, seed=0, size=20)
    with pytest.raises(ValueError, match="family"):
        make_shapes(4, seed=0, family="oil painting")
    assert make_shapes(0, seed=0).images.shape == (0, 64, 64, 3)
