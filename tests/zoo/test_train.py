"""Tests for the training script of the bundled model (saliency_widgets/zoo/train.py)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from scipy import ndimage

from saliency_widgets import zoo
from saliency_widgets.zoo import train


@pytest.fixture(scope="module")
def shapes() -> zoo.ShapeSet:
    return zoo.make_shapes(300, seed=5)


def test_dihedral_gives_the_eight_symmetries_of_the_square() -> None:
    image = np.arange(2 * 2 * 1).reshape(1, 2, 2, 1)  # [[0, 1], [2, 3]]
    results = [train.dihedral(image, np.array([op]))[0, ..., 0].tolist() for op in range(8)]
    assert results[0] == [[0, 1], [2, 3]]
    assert results[1] == [[1, 3], [0, 2]]  # a quarter turn counter-clockwise
    assert results[4] == [[1, 0], [3, 2]]  # mirrored left to right
    assert len({str(r) for r in results}) == 8


def test_loss_weights_favour_the_hard_cases(shapes: zoo.ShapeSet) -> None:
    weights = train.loss_weights(shapes)
    assert weights.shape == (300,) and weights.dtype == np.float32
    assert weights.mean() == pytest.approx(1.0, abs=1e-6)
    hard = np.isin(shapes.backgrounds, [zoo.BACKGROUNDS.index(k) for k in train.HARD_BACKGROUNDS])
    outlined = shapes.fills == zoo.FILL_STYLES.index("outlined")
    easy = weights[~hard & ~outlined]
    assert np.ptp(easy) == 0  # one weight for all easy images
    np.testing.assert_allclose(weights[hard & ~outlined], easy[0] * 1.5, rtol=1e-6)
    np.testing.assert_allclose(weights[hard & outlined], easy[0] * 2.25, rtol=1e-6)
    with pytest.raises(ValueError, match="train_set must carry fills and backgrounds"):
        train.loss_weights(zoo.ShapeSet(shapes.images, shapes.labels, shapes.masks))


def _crop_and_resize(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Bilinear resampling of ``box`` (top, left, bottom, right; 1 = last pixel) at full size."""
    last = image.shape[0] - 1
    steps = np.arange(image.shape[0]) / last
    ys = (box[0] + steps * (box[2] - box[0])) * last
    xs = (box[1] + steps * (box[3] - box[1])) * last
    grid = np.meshgrid(ys, xs, indexing="ij")
    channels = [
        ndimage.map_coordinates(image[..., c].astype(np.float64), grid, order=1, mode="nearest")
        for c in range(image.shape[-1])
    ]
    return np.stack(channels, axis=-1)


def test_zoom_boxes_enlarge_half_the_objects_and_keep_them_whole(shapes: zoo.ShapeSet) -> None:
    boxes = train.zoom_boxes(shapes.masks, np.random.default_rng(1), 0.5, 1.3)
    assert boxes.shape == (300, 4) and boxes.dtype == np.float32
    window = boxes[:, 2] - boxes[:, 0]
    np.testing.assert_allclose(boxes[:, 3] - boxes[:, 1], window, atol=1e-6)  # square windows
    assert boxes.min() >= 0.0 and boxes.max() <= 1.0 + 1e-6
    zoomed = window < 1.0
    assert 0.4 < zoomed.mean() < 0.6
    np.testing.assert_array_equal(
        boxes[~zoomed], np.tile([0.0, 0.0, 1.0, 1.0], (int((~zoomed).sum()), 1))
    )
    assert 1.25 < (1.0 / window[zoomed]).max() <= 1.3 + 1e-5
    for mask, box in zip(shapes.masks, boxes, strict=True):
        rows = np.flatnonzero(mask.any(axis=1)) / 63
        cols = np.flatnonzero(mask.any(axis=0)) / 63
        assert box[0] - 1e-6 <= rows.min() and rows.max() <= box[2] + 1e-6
        assert box[1] - 1e-6 <= cols.min() and cols.max() <= box[3] + 1e-6
    # An enlarged object covers more of the image: its mask resampled the same way grows.
    index = int(np.flatnonzero(zoomed)[0])
    grown = _crop_and_resize(shapes.masks[index, ..., None].astype(float), boxes[index]) > 0.5
    assert grown.sum() > shapes.masks[index].sum() * 1.0 / window[index] ** 2 * 0.8


def test_zoom_probability_zero_keeps_every_image_whole(shapes: zoo.ShapeSet) -> None:
    boxes = train.zoom_boxes(shapes.masks, np.random.default_rng(1), 0.0, 1.3)
    np.testing.assert_array_equal(boxes, np.tile([0.0, 0.0, 1.0, 1.0], (300, 1)))
    # The same random draws are made whatever the probability, so later draws do not move.
    first, second = np.random.default_rng(1), np.random.default_rng(1)
    train.zoom_boxes(shapes.masks, first, 0.0, 1.3)
    train.zoom_boxes(shapes.masks, second, 0.5, 1.3)
    assert first.integers(0, 1 << 30) == second.integers(0, 1 << 30)


def test_training_dataset_equals_its_numpy_twin(shapes: zoo.ShapeSet) -> None:
    dataset, steps = train.training_dataset(
        shapes, epochs=2, batch_size=64, seed=3, zoom_probability=0.5, max_zoom=1.3
    )
    assert steps == 4  # 300 // 64: the last partial batch of each epoch is dropped
    batches = list(dataset)
    assert len(batches) == 8
    rng = np.random.default_rng(3)
    order = np.concatenate([rng.permutation(300)[:256] for _ in range(2)])
    ops = rng.integers(0, 8, order.size)
    boxes = np.concatenate(
        [
            train.zoom_boxes(shapes.masks[order[e * 256 : (e + 1) * 256]], rng, 0.5, 1.3)
            for e in range(2)
        ]
    )
    weights = train.loss_weights(shapes)
    for step, (x, y, w) in enumerate(batches):
        chosen = np.arange(64 * step, 64 * (step + 1))
        cropped = np.stack([_crop_and_resize(shapes.images[order[i]], boxes[i]) for i in chosen])
        expected = zoo.preprocess(train.dihedral(cropped, ops[chosen]))
        np.testing.assert_allclose(x.numpy(), expected, atol=1e-4)
        whole = (boxes[chosen] == [0.0, 0.0, 1.0, 1.0]).all(axis=1)
        # Images kept whole are exactly the generator's pixels, turned.
        np.testing.assert_array_equal(
            x.numpy()[whole],
            zoo.preprocess(train.dihedral(shapes.images[order[chosen]], ops[chosen]))[whole],
        )
        np.testing.assert_array_equal(y.numpy(), shapes.labels[order[chosen]])
        np.testing.assert_array_equal(w.numpy(), weights[order[chosen]])
    # About half the images went through the crop path, the rest were kept whole.
    assert 0.35 < (boxes != [0.0, 0.0, 1.0, 1.0]).any(axis=1).mean() < 0.65
    # Each epoch is a fresh order of distinct images.
    first, second = order[:256], order[256:]
    assert len(set(first)) == 256 and not np.array_equal(first, second)


def test_training_dataset_rejects_a_batch_larger_than_the_set(shapes: zoo.ShapeSet) -> None:
    with pytest.raises(ValueError, match="batch_size must be at most the 300 training images"):
        train.training_dataset(shapes, epochs=1, batch_size=301, seed=0)


def test_a_short_run_writes_a_loadable_model_and_its_report(tmp_path: Path) -> None:
    out = tmp_path / "tiny.keras"
    report = train.train(
        out,
        epochs=2,
        train_size=512,
        batch_size=64,
        warmup_steps=2,
        eval_images=16,
        methods=("gradients",),
        workers=1,
    )
    assert json.loads(out.with_suffix(".json").read_text()) == report
    model = keras.models.load_model(out, safe_mode=True)
    assert [layer.name for layer in model.layers][-3:] == ["last_relu", "gap", "predictions"]
    assert report["parameters"] == model.count_params() == 227_208
    assert report["training"]["epochs"] == 2 and report["training"]["warmup_steps"] == 2
    assert report["training"]["evaluation_seconds"] > 0
    for family in zoo.FAMILIES:
        figures = report["families"][family]
        assert figures["n"] == 16
        assert 0.0 <= figures["accuracy"] <= 1.0
        assert set(figures["pointing"]) == {"centre", "gradients"}
    # The report's accuracy is the saved file's own, recomputed here.
    shapes = zoo.make_shapes(16, zoo.HELD_OUT_SEED, family="sketch")
    predicted = model.predict(zoo.preprocess(shapes.images), verbose=0).argmax(axis=1)
    assert report["families"]["sketch"]["accuracy"] == float((predicted == shapes.labels).mean())
