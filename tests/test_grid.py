"""Saliency grids: option parsing, inputs by name, the sources, the maps and the picture."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
from builders import small_cnn
from PIL import Image

import saliency_widgets as sw
from saliency_widgets import _named_inputs as inputs
from saliency_widgets import grid
from saliency_widgets._image_files import ImageSet, fit_images
from saliency_widgets.grid import ClassSelection, GridOptions, InputError
from saliency_widgets.sources import load_sources

NAMES = ["zero", "one", "two", "three", "four"]


@pytest.fixture
def softmax_model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.keras"
    small_cnn(activation="softmax").save(path)
    return path


@pytest.fixture
def image_files(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(3)
    folder = tmp_path / "images"
    folder.mkdir()
    paths = []
    for i in range(5):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (24, 24, 3)).astype(np.uint8)).save(path)
        paths.append(path)
    return paths


# --- options --------------------------------------------------------------------------------


def test_class_selection_parses_top_k_names_and_indices():
    assert ClassSelection.parse("top-3") == ClassSelection(top=3)
    assert ClassSelection.parse(" TOP2 ") == ClassSelection(top=2)
    assert ClassSelection.parse("predicted") == ClassSelection(top=1)
    assert ClassSelection.parse("star, 3,ring") == ClassSelection(None, ("star", 3, "ring"))
    with pytest.raises(InputError, match="top-K"):
        ClassSelection.parse("top-0")
    with pytest.raises(InputError, match="classes"):
        ClassSelection.parse(" , ")


def test_class_selection_resolves_indices():
    logits = np.array([[0.1, 3.0, 2.0], [5.0, 1.0, 4.0]])
    assert ClassSelection(top=2).indices(logits, []).tolist() == [[1, 2], [0, 2]]
    names = ["a", "b", "c"]
    assert ClassSelection(None, ("c", 0)).indices(logits, names).tolist() == [[2, 0], [2, 0]]
    with pytest.raises(InputError, match="'d' is not a class name; known: a, b, c"):
        ClassSelection(None, ("d",)).indices(logits, names)
    with pytest.raises(InputError, match="index 3 out of range"):
        ClassSelection(None, (3,)).indices(logits, names)
    with pytest.raises(InputError, match="no class names"):
        ClassSelection(None, ("a",)).indices(logits, [])
    with pytest.raises(InputError, match="top-4 but the model has 3 classes"):
        ClassSelection(top=4).indices(logits, names)


def test_params_are_literals_or_bare_words():
    assert grid.parse_params("") == {}
    parsed = grid.parse_params("samples=16, noise=0.1, layer=last_conv, baseline='zeros', x=None")
    assert parsed == {
        "samples": 16,
        "noise": 0.1,
        "layer": "last_conv",
        "baseline": "zeros",
        "x": None,
    }
    assert grid.parse_params("size=(2, 3), flag=True") == {"size": (2, 3), "flag": True}
    with pytest.raises(InputError, match="name=value"):
        grid.parse_params("16")
    with pytest.raises(InputError, match="not a list"):
        grid.parse_params("samples=")
    with pytest.raises(InputError, match="'samples' must be a literal"):
        grid.parse_params("samples=len(x)")


def test_display_options_default_to_heat_at_the_99th_percentile():
    options = GridOptions()
    assert (options.blend, options.clip, options.alpha) == ("heat", 99.0, 0.6)
    parsed = GridOptions.from_strings({"blend": " Mask-Image", "clip": "97.5"})
    assert (parsed.blend, parsed.clip) == ("mask-image", 97.5)
    assert {"blend", "clip"} <= set(GridOptions.KEYS)


def test_the_directive_takes_every_grid_option():
    from sphinxext.saliency_grid import GRID_OPTIONS

    assert set(GRID_OPTIONS) == set(GridOptions.KEYS)


def test_options_from_strings_name_the_bad_option():
    options = GridOptions.from_strings(
        {"cols": " 3", "overlay": "0.25", "panels": "image map", "cmap": "viridis", "dpi": "50"}
    )
    assert (options.cols, options.alpha, options.panels, options.cmap, options.dpi) == (
        3,
        0.25,
        ("image", "map"),
        "viridis",
        50,
    )
    for key, value, message in [
        ("cols", "four", "cols: 'four' is not a int"),
        ("cols", "0", r"cols: 0 is outside \[1, 64\]"),
        ("overlay", "1.5", r"overlay: alpha must be in \[0, 1\], got 1.5"),
        ("cmap", "rainbowz", "not a matplotlib colour map"),
        ("panels", "image", "shows no saliency"),
        ("panels", "overlay, heat", "distinct names among image, map, overlay"),
        ("colour", "red", r"unknown option\(s\) \['colour'\]"),
        ("blend", "screen", "blend: 'screen'; expected one of heat, mask, mask-image"),
        ("clip", "0", r"clip: clip must be a percentile in \(0, 100\], got 0.0"),
        ("clip", "nan", r"clip: clip must be a percentile in \(0, 100\], got nan"),
        ("clip", "p99", "clip: 'p99' is not a float"),
    ]:
        with pytest.raises(InputError, match=message):
            GridOptions.from_strings({key: value})


def test_clip_takes_the_display_steps_range():
    assert GridOptions.from_strings({"clip": "0.5"}).clip == 0.5  # (0, 100], as display.check


def test_method_params_are_checked_against_its_signature(cnn):
    images = load_sources(cnn, np.zeros((1, 12, 12, 3), np.uint8))
    for options, message in [
        (GridOptions(method="nope"), "method: method='nope'"),
        (
            GridOptions(params={"samples": 3}),
            "params: gradients() got unexpected parameter samples",
        ),
        (GridOptions(postprocessing="blur"), "postprocessing: 'blur'"),
    ]:
        with pytest.raises(InputError, match=re.escape(message)):
            grid.compute_grid(images, options)


# --- inputs by name ---------------------------------------------------------------------------


def test_references_import_call_and_bind_literal_arguments():
    assert inputs.is_reference("saliency_widgets.zoo:load_samples(4, seed=1)")
    assert not inputs.is_reference("images/*.png")
    assert not inputs.is_reference("C:/images/*.png")
    samples = inputs.produce("saliency_widgets.zoo:load_samples(4, seed=1)")
    assert samples.images.shape == (4, 64, 64, 3)
    assert inputs.produce("saliency_widgets.zoo:CLASS_NAMES")[0] == "circle"
    scale = inputs.function("numpy:multiply(2)")
    assert scale(np.array([1, 2])).tolist() == [2, 4]
    with pytest.raises(InputError, match="cannot import 'no_such_module'"):
        inputs.produce("no_such_module:f")
    with pytest.raises(InputError, match="has no attribute 'nothing'"):
        inputs.produce("saliency_widgets.zoo:nothing")
    with pytest.raises(InputError, match="must be Python literals"):
        inputs.produce("saliency_widgets.zoo:load_samples(n)")
    with pytest.raises(InputError, match="not callable"):
        inputs.function("saliency_widgets.zoo:CLASS_NAMES")


def test_images_from_globs_paths_and_references(tmp_path, image_files):
    found = inputs.load_images("images/img[1-3].png", base=tmp_path)
    assert found.names == ("img1", "img2", "img3")
    assert np.array_equal(found.images[0], np.asarray(Image.open(image_files[1])))
    both = inputs.load_images([str(image_files[4]), "images/img0.png"], base=tmp_path)
    assert both.names == ("img4", "img0")
    shapes = inputs.load_images("saliency_widgets.zoo:load_samples(3)")
    assert shapes.names == ("#0", "#1", "#2") and shapes.images[0].shape == (64, 64, 3)
    with pytest.raises(InputError, match=r"no image matches 'images/\*\.jpg'"):
        inputs.load_images("images/*.jpg", base=tmp_path)
    (tmp_path / "images" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="cannot read image"):
        inputs.load_images("images/broken.png", base=tmp_path)
    with pytest.raises(InputError, match="cannot read image circle"):
        inputs.load_images("saliency_widgets.zoo:class_names")  # names, taken as file paths
    with pytest.raises(InputError, match="gave int, not images"):
        inputs.load_images("saliency_widgets.zoo:IMAGE_SIZE")


def test_transparent_and_odd_sized_images_become_one_batch(tmp_path):
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, 10:, 3] = 255  # left half transparent: composited on white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    Image.fromarray(np.full((40, 40), 7, np.uint8)).save(tmp_path / "b.png")
    found = inputs.load_images("*.png", base=tmp_path)
    assert found.images[0][0, 0].tolist() == [255, 255, 255]
    assert found.images[0][0, 15].tolist() == [255, 0, 0]
    batch = fit_images(found, (12, 12), 3)
    assert batch.shape == (2, 12, 12, 3) and batch.dtype == np.uint8
    assert batch[1].min() == batch[1].max() == 7
    assert fit_images(found, (8, 8), 1).shape == (2, 8, 8, 1)


def test_class_names_from_files_lists_and_references(tmp_path):
    (tmp_path / "names.txt").write_text("cat\n\ndog\n")
    (tmp_path / "report.json").write_text(json.dumps({"class_names": ["x", "y"]}))
    (tmp_path / "list.json").write_text(json.dumps(["p", "q"]))
    assert inputs.load_class_names("names.txt", tmp_path) == ["cat", "dog"]
    assert inputs.load_class_names("report.json", tmp_path) == ["x", "y"]
    assert inputs.load_class_names("list.json", tmp_path) == ["p", "q"]
    assert inputs.load_class_names(" a, b ,c ") == ["a", "b", "c"]
    assert inputs.load_class_names("saliency_widgets.zoo:class_names")[:2] == ["circle", "square"]
    assert inputs.load_class_names(None) == []
    with pytest.raises(InputError, match="class names file not found"):
        inputs.load_class_names("missing.txt", tmp_path)


def test_model_cache_loads_once_and_reloads_a_changed_file(tmp_path, softmax_model_file):
    cache = inputs.ModelCache()
    first = cache.get("model.keras", tmp_path)
    assert cache.get(str(softmax_model_file)) is first
    assert cache.loads == 1
    small_cnn(activation="softmax", seed=5).save(softmax_model_file)
    second = cache.get(softmax_model_file)
    assert second is not first and cache.loads == 2
    reference = cache.get("builders:small_cnn")
    assert cache.get("builders:small_cnn") is reference and cache.loads == 3
    with pytest.raises(InputError, match="model file not found"):
        cache.get("nothing.keras", tmp_path)
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(InputError, match="expected one of"):
        cache.get("weights.txt", tmp_path)
    with pytest.raises(InputError, match=r"gave a list, not a keras\.Model"):
        cache.get("saliency_widgets.zoo:class_names")


# --- the maps and the picture -------------------------------------------------------------------


def test_grid_maps_are_the_engines_maps(tmp_path, softmax_model_file, image_files):
    options = GridOptions(classes=ClassSelection(top=2))
    png, result = grid.make_grid(
        model=softmax_model_file,
        images=[str(p) for p in image_files],
        options=options,
        preprocess="numpy:divide(127.5)",
        class_names=",".join(NAMES),
        models=inputs.ModelCache(),
    )
    model = keras.models.load_model(softmax_model_file)
    first = Image.open(image_files[0]).resize((12, 12), Image.Resampling.BILINEAR)
    assert np.array_equal(result.images[0], np.asarray(first))  # resized to the 12x12 input
    batch = result.images.astype(np.float32) / 127.5
    logits = np.asarray(sw.inspection.explained_model(model).model(batch))
    expected_indices = sw.top_k(logits, 2)
    assert result.indices.tolist() == expected_indices.tolist()
    _, expected = sw.gradients(model, batch, expected_indices)
    np.testing.assert_allclose(result.maps, expected, atol=1e-6)
    probabilities = sw.render.scores_to_probabilities(logits, "softmax")
    i, k = 2, 1
    unit = expected_indices[i, k]
    assert result.titles[i][k] == f"{NAMES[unit]} {100 * probabilities[i, unit]:.1f}%"
    # 5 images, each image + 2 overlays: 2 images per row (8 panels max) and a 0.15 gap, 3 rows.
    assert Image.open(io.BytesIO(png)).size == (int(160 * 6.15), int(160 * 3 * 1.12))


def test_panels_show_the_colour_mapped_map(cnn, images):
    display = ((images - images.min()) / np.ptp(images) * 255).astype(np.uint8)
    sources = load_sources(cnn, ImageSet(tuple(display[:2]), ("a", "b")))
    options = GridOptions(panels=("map",), cmap="gray", classes=ClassSelection(None, (1,)))
    result = grid.compute_grid(sources, options)
    assert result.titles == (("class 1",), ("class 1",))
    figure = grid.grid_figure(result, options)
    assert len(figure.axes) == 2
    shown = figure.axes[0].get_images()[0].get_array()
    expected = sw.render.colorize(result.maps[0, ..., 0], "gray")
    assert np.array_equal(np.asarray(shown), expected)
    assert figure.axes[0].get_title() == "class 1"


def test_overlays_use_the_blend_and_clip_options(cnn, images):
    display = ((images - images.min()) / np.ptp(images) * 255).astype(np.uint8)
    sources = load_sources(cnn, display[:2])
    options = GridOptions.from_strings({"panels": "overlay", "blend": "mask", "clip": "90"})
    result = grid.compute_grid(sources, options)
    shown = grid.grid_figure(result, options).axes[1].get_images()[0].get_array()
    expected = sw.render.overlay(
        display[1], result.maps[1, ..., 0], 0.6, "inferno", blend="mask", clip=90
    )
    assert np.array_equal(np.asarray(shown), expected)


def test_a_failing_model_is_a_grid_error(tmp_path):
    class Exploding(keras.Model):
        def call(self, inputs):
            raise ValueError("\x1b[1mboom\x1b[0m\n\nmore")

    sources = load_sources(Exploding(), [np.zeros((8, 8, 3), np.uint8)])
    failed = r"the model failed on the images: ValueError: .*boom more"
    with pytest.raises(InputError, match=failed):
        grid.compute_grid(sources, GridOptions())


def test_bundled_model_maps_point_at_the_objects():
    samples = sw.zoo.load_samples(16)
    _, result = grid.make_grid(
        model="saliency_widgets.zoo:load_shapes_model",
        images="saliency_widgets.zoo:load_samples(16)",
        preprocess="saliency_widgets.zoo:preprocess",
        class_names="saliency_widgets.zoo:class_names",
        models=inputs.ModelCache(),
    )
    maps = result.maps[..., 0]
    on_object = (maps * samples.masks).sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
    # Each object covers a small part of its image; the saliency on it is well above that share
    # (the bundled model's own accuracy is the zoo's tests' business).
    assert np.median(on_object / samples.masks.mean(axis=(1, 2))) > 1.5
    names = sw.zoo.class_names()
    assert all(
        t[0].startswith(names[k]) for t, k in zip(result.titles, result.indices[:, 0], strict=True)
    )


def test_an_existing_name_is_no_glob_and_a_corrupt_file_is_named(tmp_path):
    Image.fromarray(np.full((4, 4, 3), 90, np.uint8)).save(tmp_path / "img[1].png")
    loaded = inputs.load_images(str(tmp_path / "img[1].png"))
    assert loaded.names == ("img[1]",) and loaded.images[0][0, 0].tolist() == [90, 90, 90]
    folder = inputs.load_images(str(tmp_path))  # a folder: the images inside it
    assert folder.names == ("img[1]",)
    (tmp_path / "zz_broken.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(InputError, match=r"cannot read image .*zz_broken\.png"):
        inputs.load_images(str(tmp_path))


# --- metrics --------------------------------------------------------------------------------


def test_metrics_is_a_switch_and_names_a_bad_value():
    assert GridOptions().metrics is False
    for text, on in [("", True), (" yes", True), ("On", True), ("false", False), ("no", False)]:
        assert GridOptions.from_strings({"metrics": text}).metrics is on
    with pytest.raises(InputError, match=r"metrics: 'maybe': a switch takes no value \(on\)"):
        GridOptions.from_strings({"metrics": "maybe"})


def test_a_caption_prints_the_scorecards_figures():
    from saliency_widgets.metrics import CurveScore, Localisation, Scorecard

    card = Scorecard(
        index=3,
        score="probability",
        fractions=(0.0, 1.0),
        deletion=CurveScore("deletion", 0.2149, 0.4851, (1.0, 0.0), (1.0, 0.0)),
        insertion=CurveScore("insertion", 0.706, 0.4, (0.0, 1.0), (0.0, 1.0)),
        gini=0.6251,
        localisation=Localisation(pointing=True, energy=0.5849, mask_share=0.2151),
    )
    assert card.caption() == (
        "del 0.21 (rand 0.49)",
        "ins 0.71 (rand 0.40)",
        "gini 0.63 · hit ✓",
        "energy 58% (mask 22%)",
    )
    missed = Scorecard(**{**card.__dict__, "localisation": None, "completeness": 0.0042})
    assert missed.caption()[2:] == ("gini 0.63", "completeness gap 0.4%")


def test_metrics_score_each_map_of_the_grid_with_its_mask():
    samples = sw.zoo.load_samples(3)
    options = GridOptions.from_strings({"metrics": "", "classes": "top-2"})
    png, result = grid.make_grid(
        model="saliency_widgets.zoo:load_shapes_model",
        images="saliency_widgets.zoo:load_samples(3)",
        preprocess="saliency_widgets.zoo:preprocess",
        options=options,
    )
    assert result.scores is not None
    captions = result.captions()
    assert captions is not None and len(captions) == 3 and len(captions[0]) == 2
    # The same figures from the public API, called on the grid's own maps.
    model = sw.zoo.load_shapes_model()
    x = sw.zoo.preprocess(samples.images)
    cards = sw.metrics.scorecard(model, x, result.maps, result.indices, masks=samples.masks)
    for i in range(3):
        for k in range(2):
            card, shown = cards[i][k], result.scores[i][k]
            assert shown.deletion.auc == pytest.approx(card.deletion.auc, abs=1e-6)
            assert shown.insertion.random_auc == pytest.approx(card.insertion.random_auc, abs=1e-6)
            assert captions[i][k] == card.caption()
            # Localisation checked by hand on the drawn map: argmax on the object, positive mass.
            one, mask = result.maps[i, ..., k], samples.masks[i].astype(bool)
            hit = bool(mask.flat[np.argmax(one)])
            energy = np.clip(one, 0, None)[mask].sum() / np.clip(one, 0, None).sum()
            assert captions[i][k][2].endswith("hit ✓" if hit else "hit ✗")
            assert captions[i][k][3] == f"energy {energy:.0%} (mask {mask.mean():.0%})"
    # A figure the bundled model earns: its top class's map beats random at deletion on average.
    gains = [row[0].deletion.gain for row in result.scores]
    assert np.mean(gains) > 0.1
    # The captions make the picture taller than the same grid without them.
    plain, _ = grid.make_grid(
        model="saliency_widgets.zoo:load_shapes_model",
        images="saliency_widgets.zoo:load_samples(3)",
        preprocess="saliency_widgets.zoo:preprocess",
        options=GridOptions.from_strings({"classes": "top-2"}),
    )
    scored, unscored = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(plain))
    assert scored.width == unscored.width and scored.height > unscored.height


def test_captions_are_drawn_under_their_class_and_overlap_nothing():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from saliency_widgets import render

    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (2, 16, 16, 3)).astype(np.uint8)
    maps = rng.random((2, 16, 16, 2))
    captions = [[("del 0.10 (rand 0.50)", "gini 0.40")] * 2] * 2
    titles = [["one 10.0%", "two 9.0%"]] * 2

    def figure(**kwargs):
        return render.render_grid(
            images, maps, titles, names=["a", "b"], panels=("image", "overlay"), cols=3, **kwargs
        )

    plain, captioned = figure(), figure(captions=captions)
    # Two rows of one image each; each row grows by two lines of CAPTION_FONT points.
    grown = 2 * (2 * render.CAPTION_FONT * 1.3 / 72 + 0.05)
    assert captioned.get_size_inches()[1] - plain.get_size_inches()[1] == pytest.approx(grown)
    canvas = FigureCanvasAgg(captioned)
    canvas.draw()
    renderer = canvas.get_renderer()
    pictures = [axes for axes in captioned.axes if axes.images]
    texts = [t for axes in captioned.axes if not axes.images for t in axes.texts]
    assert [t.get_text() for t in texts] == ["del 0.10 (rand 0.50)\ngini 0.40"] * 4
    boxes = [t.get_window_extent(renderer) for t in texts]
    panels = [axes.get_window_extent(renderer) for axes in pictures]
    headings = [axes.title.get_window_extent(renderer) for axes in pictures]
    assert not any(box.overlaps(other) for box in boxes for other in panels + headings)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    # Each caption is centred under its class's overlay, just below it (pixels: y grows upwards).
    overlays = [box for box, axes in zip(panels, pictures, strict=True) if axes.title.get_text()]
    overlays = [b for b in overlays if b.x0 > panels[0].x1]  # not the image panels (named)
    for box, panel in zip(boxes, sorted(overlays, key=lambda b: (-b.y0, b.x0)), strict=True):
        assert box.x0 > panel.x0 and box.x1 < panel.x1
        assert (box.x0 + box.x1) / 2 == pytest.approx((panel.x0 + panel.x1) / 2, abs=1)
        assert 0 < panel.y0 - box.y1 < 20


def test_a_scored_integrated_gradients_grid_prints_its_completeness_gap(cnn, images):
    from saliency_widgets.methods.integrated import completeness_gap

    x = images[:3]
    sources = load_sources(cnn, x)
    options = GridOptions.from_strings({"method": "integrated_gradients", "params": "steps=8"})
    scored = GridOptions(**{**options.__dict__, "metrics": True})
    result = grid.compute_grid(sources, scored)
    assert result.scores is not None
    # The gap of the raw attributions, computed here with the public method and check.
    _, raw = sw.integrated_gradients(cnn, x, result.indices, steps=8, postprocessing=None)
    expected = completeness_gap(cnn, x, result.indices, raw)
    gaps = np.array([[card.completeness for card in row] for row in result.scores])
    np.testing.assert_allclose(gaps, expected, rtol=1e-4, atol=1e-6)
    assert (
        expected.max() > 1e-3
    )  # 8 steps: far enough from complete for the check to mean something
    captions = result.captions()
    assert captions is not None
    assert captions[0][0][-1] == f"completeness gap {expected[0, 0]:.1%}"
    # Methods without completeness print none, and no map without masks has localisation.
    plain = grid.compute_grid(sources, GridOptions(metrics=True))
    assert plain.captions() is not None
    assert all(len(lines) == 3 for row in plain.captions() or () for lines in row)
