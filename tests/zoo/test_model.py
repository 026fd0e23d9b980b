"""Tests for the bundled shapes CNN and the zoo loaders (saliency_widgets/zoo/__init__.py)."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import keras
import numpy as np
import pytest
from PIL import Image, ImageDraw

from saliency_widgets import zoo
from saliency_widgets.zoo.evaluate import accuracy_table

# Goals of issue #10: >= 95% on the training style, >= 90% on every held-out style.
GOALS = {"training": 0.95, "photo": 0.90, "sketch": 0.90}
# What the shipped model must keep doing: a little under what it measured on these tests' 400
# images per family (93.5%, 90.75%, 99.25%; the report's 1,000 per family: 95.5%, 90.3%, 98.6%).
FLOORS = {"training": 0.91, "photo": 0.88, "sketch": 0.96}
CLASS_FLOOR = 0.75  # every class, on 50 images per class (worst measured: 0.82, photo squares)
TEST_SEED = zoo.HELD_OUT_SEED + 1  # not the seed the report was computed on


@pytest.fixture(scope="module")
def model() -> keras.Model:
    return zoo.load_shapes_model()


@pytest.fixture(scope="module")
def report() -> dict:
    return json.loads(zoo.model_path().with_suffix(".json").read_text())


def test_model_file_is_small_and_documented(report: dict) -> None:
    path = zoo.model_path()
    assert path.name == "shapes_cnn.keras"
    assert path.stat().st_size < 1_000_000
    assert report["class_names"] == list(zoo.CLASS_NAMES)
    assert report["held_out"]["seed"] == zoo.HELD_OUT_SEED
    assert set(report["families"]) == set(zoo.FAMILIES)
    for family, floor in FLOORS.items():
        figures = report["families"][family]
        assert figures["accuracy"] >= floor, family
        assert set(figures["per_class"]) == set(zoo.CLASS_NAMES)
        assert {"gradients", "gradcam"} <= set(figures["pointing"])


@pytest.fixture(scope="module")
def accuracies(model: keras.Model) -> dict[str, dict]:
    tables = {}
    for family in zoo.FAMILIES:
        shapes = zoo.make_shapes(400, seed=TEST_SEED, family=family)
        probabilities = model.predict(zoo.preprocess(shapes.images), batch_size=200, verbose=0)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
        tables[family] = accuracy_table(probabilities.argmax(axis=1), shapes)
    return tables


@pytest.mark.parametrize("family", zoo.FAMILIES)
def test_accuracy_on_each_family_stays_above_its_floor(accuracies: dict, family: str) -> None:
    table = accuracies[family]
    assert table["accuracy"] >= FLOORS[family], table
    # Every class is recognised, not just most of them.
    assert min(table["per_class"].values()) >= CLASS_FLOOR, table["per_class"]


@pytest.fixture(scope="module")
def report_accuracies(model: keras.Model) -> dict[str, float]:
    """Accuracy on the report's own held-out sets: 1,000 images per family, HELD_OUT_SEED."""
    accuracy = {}
    for family in zoo.FAMILIES:
        shapes = zoo.make_shapes(1_000, seed=zoo.HELD_OUT_SEED, family=family)
        predicted = model.predict(zoo.preprocess(shapes.images), batch_size=250, verbose=0)
        accuracy[family] = float((predicted.argmax(axis=1) == shapes.labels).mean())
    return accuracy


@pytest.mark.parametrize("family", zoo.FAMILIES)
def test_accuracy_meets_the_issue_goal(
    report_accuracies: dict[str, float], report: dict, family: str
) -> None:
    # The report's figure is recomputed from the shipped file, not read back from the JSON.
    measured = report_accuracies[family]
    assert measured == pytest.approx(report["families"][family]["accuracy"], abs=1e-9)
    assert measured >= GOALS[family], measured


def _pil_star(colour: tuple[int, int, int], background: tuple[int, int, int], turn: float):
    """A plain filled five-pointed star, one colour, no outline, drawn by PIL.

    Its outer radius, 20 px (a 62 % wide star), is within the generator's sizes (up to 64 %);
    bigger drawings are tested apart (test_shapes_drawn_with_pil_are_recognised)."""
    image = Image.new("RGB", (64, 64), background)
    angles = -np.pi / 2 + turn + np.arange(10) * np.pi / 5
    radii = np.where(np.arange(10) % 2 == 0, 20.0, 8.6)
    points = [(32 + r * np.cos(a), 33 + r * np.sin(a)) for r, a in zip(radii, angles, strict=True)]
    ImageDraw.Draw(image).polygon(points, fill=colour)
    return np.asarray(image)


def test_a_plain_star_drawn_with_pil_is_a_star(model: keras.Model) -> None:
    stars = np.stack(
        [
            _pil_star((230, 200, 20), (255, 255, 255), 0.0),
            _pil_star((200, 30, 30), (240, 240, 240), 0.3),
            _pil_star((20, 20, 20), (250, 250, 245), 1.0),
            _pil_star((40, 90, 220), (30, 30, 40), 2.0),
        ]
    )
    probabilities = model.predict(zoo.preprocess(stars), verbose=0)
    names = [zoo.CLASS_NAMES[k] for k in probabilities.argmax(axis=1)]
    assert names == ["star"] * 4, probabilities.round(2)


def _pil_outline(name: str, radius: float, turn: float) -> np.ndarray | None:
    """Vertices of a PIL polygon for ``name`` around the origin, or None for round shapes."""

    def regular(corners: int, radii: tuple[float, ...] = (1.0,)) -> np.ndarray:
        count = corners * len(radii)
        angles = -np.pi / 2 + np.arange(count) * 2 * np.pi / count
        lengths = np.resize(np.asarray(radii), count)
        return np.stack([lengths * np.cos(angles), lengths * np.sin(angles)], axis=1)

    arm, half = 0.85, 0.27  # a plus sign whose arms are about a third of its span
    polygons = {
        "square": regular(4),
        "triangle": regular(3),
        "star": regular(5, (1.0, 0.45)),
        "hexagon": regular(6),
        "diamond": regular(4) * [0.6, 1.0],
        "cross": np.array(
            [
                [half, -half],
                [arm, -half],
                [arm, half],
                [half, half],
                [half, arm],
                [-half, arm],
                [-half, half],
                [-arm, half],
                [-arm, -half],
                [-half, -half],
                [-half, -arm],
                [half, -arm],
            ]
        ),
    }
    if name not in polygons:
        return None
    c, s = np.cos(turn), np.sin(turn)
    return polygons[name] @ np.array([[c, s], [-s, c]]) * radius


def _pil_drawing(name: str, rng: np.random.Generator, radius_range: tuple[float, float]):
    """The issue's experiment: a filled shape, one colour, no outline, drawn by PIL (aliased),
    on a flat or lightly noisy background with up to three thin lines; size, place and turn
    random. Written apart from the generator, so it shares none of its code."""
    radius = rng.uniform(*radius_range)
    cx, cy = rng.uniform(radius + 2, 62 - radius, 2)
    colour, background = rng.integers(0, 256, (2, 3))
    while np.abs(colour - background).sum() < 150:
        colour, background = rng.integers(0, 256, (2, 3))
    mask = Image.new("L", (64, 64), 0)
    pen = ImageDraw.Draw(mask)
    points = _pil_outline(name, radius, rng.uniform(0, 2 * np.pi))
    if points is None:  # circle or ring
        pen.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=255)
        if name == "ring":
            hole = 0.55 * radius
            pen.ellipse([cx - hole, cy - hole, cx + hole, cy + hole], fill=0)
    else:
        pen.polygon([(cx + x, cy + y) for x, y in points], fill=255)
    noise = rng.normal(0, 8, (64, 64, 1)) * (rng.uniform() < 0.5)
    canvas = Image.fromarray(np.clip(background + noise, 0, 255).astype(np.uint8))
    for _ in range(rng.integers(0, 4)):
        colour_of_line = tuple(int(v) for v in rng.integers(0, 256, 3))
        ImageDraw.Draw(canvas).line(list(rng.uniform(0, 64, 4)), fill=colour_of_line, width=1)
    image = np.array(canvas)
    image[np.asarray(mask) > 127] = colour
    return image


@pytest.mark.parametrize(
    ("radius_range", "floor", "class_floor"),
    [
        # The generator's sizes (diameter 28-64 % of the side): 198 of 200 measured (98 %, 96 %
        # for rings and diamonds, 100 % for the rest).
        ((9.0, 20.5), 0.95, 0.88),
        # Bigger than any training object (64-75 % of the side): 92 % measured; stars (64 %) and
        # rings (72 %) suffer, the other classes are all right (96-100 %).
        ((20.5, 24.0), 0.85, 0.56),
    ],
)
def test_shapes_drawn_with_pil_are_recognised(model, radius_range, floor, class_floor) -> None:
    # Issue #10's experiment, redone: the first bundled model scored 13.5 % on such drawings.
    rng = np.random.default_rng(10)
    labels = np.repeat(np.arange(len(zoo.CLASS_NAMES)), 25)
    images = np.stack([_pil_drawing(zoo.CLASS_NAMES[k], rng, radius_range) for k in labels])
    predicted = model.predict(zoo.preprocess(images), verbose=0).argmax(axis=1)
    per_class = {
        n: float((predicted[labels == k] == k).mean()) for k, n in enumerate(zoo.CLASS_NAMES)
    }
    assert (predicted == labels).mean() >= floor, per_class
    assert min(per_class.values()) >= class_floor, per_class


def test_accuracy_table_counts_per_group() -> None:
    shapes = zoo.ShapeSet(
        images=np.zeros((4, 1, 1, 3), np.uint8),
        labels=np.array([0, 0, 1, 1]),
        masks=np.zeros((4, 1, 1), bool),
        fills=np.array([0, 1, 0, 1], np.int8),
        backgrounds=np.array([2, 2, 2, 3], np.int8),
    )
    table = accuracy_table(np.array([0, 1, 1, 1]), shapes)
    assert table["accuracy"] == 0.75
    assert table["per_class"] == {"circle": 0.5, "square": 1.0}
    assert table["per_fill"] == {"filled": 1.0, "outlined": 0.5}
    assert table["per_background"] == {"gradient": 2 / 3, "striped": 1.0}


def test_architecture_contract(model: keras.Model) -> None:
    assert model.input_shape == (None, zoo.IMAGE_SIZE, zoo.IMAGE_SIZE, 3)
    head = model.layers[-1]
    assert head.name == "predictions"
    assert isinstance(head, keras.layers.Dense)
    assert head.activation is keras.activations.softmax
    assert head.units == len(zoo.CLASS_NAMES)
    last_conv = model.get_layer("last_conv")
    assert isinstance(last_conv, keras.layers.Conv2D)
    assert last_conv.output.shape[1:3] in ((8, 8), (16, 16))
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)


def test_loading_uses_safe_mode() -> None:
    with mock.patch.object(keras.models, "load_model", wraps=keras.models.load_model) as load:
        zoo.load_shapes_model()
    load.assert_called_once()
    assert load.call_args.kwargs["safe_mode"] is True


def test_each_load_is_an_independent_model(model: keras.Model) -> None:
    other = zoo.load_shapes_model()
    assert other is not model
    kernel = other.get_layer("predictions").kernel
    assert kernel is not model.get_layer("predictions").kernel
    kernel.assign(np.zeros(kernel.shape, dtype="float32"))
    fresh = zoo.load_shapes_model()
    assert np.abs(fresh.get_layer("predictions").kernel.numpy()).sum() > 0
    assert np.abs(model.get_layer("predictions").kernel.numpy()).sum() > 0


def test_class_names_is_a_copy() -> None:
    names = zoo.class_names()
    assert names == list(zoo.CLASS_NAMES)
    names.append("oops")
    assert zoo.class_names() == list(zoo.CLASS_NAMES)


def test_load_samples_are_the_head_of_the_held_out_set() -> None:
    held_out = zoo.make_shapes(16, seed=zoo.HELD_OUT_SEED)
    samples = zoo.load_samples(12)
    assert samples.images.shape == (12, 64, 64, 3)
    assert np.array_equal(samples.images, held_out.images[:12])
    assert np.array_equal(samples.masks, held_out.masks[:12])
    assert samples.labels.tolist() == [i % len(zoo.CLASS_NAMES) for i in range(12)]


def test_samples_to_png_round_trips(tmp_path: Path) -> None:
    paths = zoo.samples_to_png(tmp_path / "out", n=3, scale=2)
    assert [p.name for p in paths] == ["00_circle.png", "01_square.png", "02_triangle.png"]
    samples = zoo.load_samples(3)
    for path, image in zip(paths, samples.images, strict=True):
        pixels = np.asarray(Image.open(path))
        assert pixels.shape == (128, 128, 3)
        assert np.array_equal(pixels[::2, ::2], image)
    with pytest.raises(ValueError, match="scale"):
        zoo.samples_to_png(tmp_path, n=1, scale=0)
