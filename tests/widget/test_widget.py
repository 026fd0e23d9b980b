"""SaliencyWidget without a browser: events, numbers, cache, latest-wins, errors, export."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

import saliency_widgets as sw
from saliency_widgets import display, filters, render
from saliency_widgets.methods import METHODS, MethodSpec
from saliency_widgets.widget import SaliencyWidget

NAMES = ["circle", "square", "triangle", "star", "cross"]


def preprocess(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32) / 127.5 - 1.0


@pytest.fixture
def make(softmax_cnn, pictures):
    made = []

    def build(model=softmax_cnn, images=pictures, **kwargs):
        kwargs.setdefault("preprocess", preprocess)
        kwargs.setdefault("class_names", NAMES)
        widget = SaliencyWidget(model, images, **kwargs)
        made.append(widget)
        widget.wait(timeout=120)
        return widget

    yield build
    for widget in made:
        widget.close()


def engine_map(model, image, class_index, **options):
    options.setdefault("postprocessing", filters.absolute_normalize)
    _, maps = sw.explain(
        sw.methods.gradient.gradients, model, preprocess(image[None]), [[class_index]], **options
    )
    return maps[0, ..., 0]


def softmax(model, images):
    logits = sw.inspection.explained_model(model).model(preprocess(images)).numpy()
    return render.scores_to_probabilities(logits, "softmax")


def test_starts_on_the_first_image_and_its_predicted_class(make, softmax_cnn, pictures):
    widget = make(labels=np.arange(9) % 5)
    probabilities = softmax(softmax_cnn, pictures)
    top = int(np.argmax(probabilities[0]))
    assert widget.selection == {"image": 0, "class_index": top, "method": "gradients"}
    np.testing.assert_allclose(widget.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        widget.current_map(), engine_map(softmax_cnn, pictures[0], top), atol=1e-5
    )
    picker = widget._ui.classes
    shown = [row.class_index for row in picker.rows if row.layout.display != "none"]
    assert shown == list(np.argsort(-probabilities[0], kind="stable"))  # k=5 of 5 classes
    first = picker.rows[0]
    assert first.button.description == NAMES[top]
    assert first.button.button_style == "primary"
    assert first.text.value == f"{100 * probabilities[0, top]:.1f}%"
    assert first.bar.value == pytest.approx(probabilities[0, top])
    true_row = next(row for row in picker.rows if row.class_index == 0)
    assert "true" in true_row.note.value
    assert widget._ui.progress.value == 9
    assert widget._ui.progress.layout.display == "none"
    assert "Ready" in widget._ui.status.value


def test_clicking_a_thumbnail_then_a_class_changes_the_map(make, softmax_cnn, pictures, frontend):
    widget = make()
    before = frontend.last_value(widget._ui.overlay_panel.image)
    frontend.click(widget._ui.thumbs._buttons[4])
    widget.wait()
    probabilities = softmax(softmax_cnn, pictures)
    top = int(np.argmax(probabilities[4]))
    assert widget.selection["image"] == 4
    assert widget.selection["class_index"] == top
    np.testing.assert_allclose(
        widget.current_map(), engine_map(softmax_cnn, pictures[4], top), atol=1e-5
    )
    after_image = frontend.last_value(widget._ui.overlay_panel.image)
    assert after_image != before
    # The browser got exactly the overlay the renderer makes for this map.
    expected = render.fit_png(
        render.overlay(pictures[4], widget.current_map(), alpha=0.6, cmap="inferno"), 256
    )
    assert after_image == expected
    assert widget._ui.thumbs._cells[4].layout.border.startswith("3px solid #")
    assert widget._ui.thumbs._cells[0].layout.border.endswith("transparent")

    third = widget._ui.classes.rows[2]
    frontend.click(third.button)
    widget.wait()
    assert widget.selection["class_index"] == third.class_index != top
    np.testing.assert_allclose(
        widget.current_map(),
        engine_map(softmax_cnn, pictures[4], third.class_index),
        atol=1e-5,
    )
    assert frontend.last_value(widget._ui.overlay_panel.image) not in (before, after_image)
    assert third.button.button_style == "primary"


def test_select_from_python_moves_every_control(make, frontend):
    widget = make(per_page=4)
    widget.select(image=6, class_index=1, sign="positive")
    widget.wait()
    assert widget.selection == {"image": 6, "class_index": 1, "method": "gradients"}
    assert widget.sign == "positive"
    assert widget._ui.sign.value == "positive"
    assert widget._ui.thumbs.page == 1  # 6 is on the second page of four
    assert widget._ui.caption.value == "image 7 of 9"
    assert widget._ui.overlay_panel.detail.startswith("image 6 · class 1 · gradients")
    frontend.set(widget._ui.sign, index=0)  # the browser sends the index of the toggle
    assert widget.sign == "absolute"
    frontend.click(widget._ui.next)
    assert widget.selection["image"] == 7
    frontend.click(widget._ui.previous)
    frontend.click(widget._ui.previous)
    assert widget.selection["image"] == 5
    with pytest.raises(ValueError, match="image=9 is out of range"):
        widget.select(image=9)
    with pytest.raises(ValueError, match="method='nope'"):
        widget.select(method="nope")
    with pytest.raises(ValueError, match="sign="):
        widget.select(sign="both")


def test_signed_modes_use_signed_gradients(make, softmax_cnn, pictures):
    widget = make()
    widget.select(image=2, class_index=3, sign="positive")
    positive = widget.current_map()
    widget.select(sign="negative")
    negative = widget.current_map()
    expected = {
        name: engine_map(
            softmax_cnn,
            pictures[2],
            3,
            reduce="sum",
            postprocessing=filters.FILTERS[f"{name}_normalize"],
        )
        for name in ("positive", "negative")
    }
    np.testing.assert_allclose(positive, expected["positive"], atol=1e-5)
    np.testing.assert_allclose(negative, expected["negative"], atol=1e-5)
    # Signed sum of channel gradients: where one part is large the other is zero.
    assert np.all((positive == 0) | (negative == 0))


def test_typing_a_class_name_or_index(make, frontend):
    widget = make()
    other = widget._ui.classes.other
    frontend.set(other, value="Star")
    assert widget.selection["class_index"] == 3
    assert other.value == ""
    frontend.set(other, value="1")
    assert widget.selection["class_index"] == 1
    frontend.set(other, value="dragon")
    assert widget.selection["class_index"] == 1
    assert "No class named 'dragon'" in widget._ui.status.value


def test_cache_hits_do_not_recompute(make, count_engine_calls):
    widget = make(prefetch=False, top_k=2)
    assert len(count_engine_calls) == 1  # the top-2 classes of image 0, in one call
    call = count_engine_calls[0]
    assert call["x"].shape == (1, 12, 12, 3)
    assert call["indices"].shape == (1, 3)  # top-2 + the selected class, padded
    assert call["batch_size"] == 1
    top = [row.class_index for row in widget._ui.classes.rows[:2]]
    widget.select(class_index=top[1])
    widget.wait()
    assert len(count_engine_calls) == 1
    widget.select(image=1)
    widget.wait()
    assert len(count_engine_calls) == 2
    widget.select(image=0)
    widget.wait()
    assert len(count_engine_calls) == 2
    outside = next(c for c in range(5) if c not in top)
    widget.select(class_index=outside)
    widget.wait()
    assert len(count_engine_calls) == 3
    assert outside in count_engine_calls[-1]["indices"][0]
    widget.select(class_index=top[0])
    widget.select(class_index=outside)
    widget.wait()
    assert len(count_engine_calls) == 3
    widget.select(sign="negative")
    widget.wait()
    assert len(count_engine_calls) == 4
    widget.select(sign="absolute")
    widget._ui.cmap.value = "gray"
    widget._ui.alpha.value = 0.3
    widget.wait()
    assert len(count_engine_calls) == 4
    widget.clear_cache()
    widget.wait()
    assert len(count_engine_calls) == 5


def test_blend_and_clip_controls_redraw_through_the_display_step(
    make, pictures, frontend, count_engine_calls
):
    widget = make(prefetch=False, blend="mask", clip=95.0)
    ui = widget._ui
    saliency = widget.current_map()
    assert (ui.blend.value, ui.clip.value) == ("mask", 95.0)

    def shown(blend: str, clip: float) -> bytes:
        return render.fit_png(render.overlay(pictures[0], saliency, blend=blend, clip=clip), 256)

    assert ui.overlay_panel.image.value == shown("mask", 95.0)
    calls = len(count_engine_calls)
    frontend.set(ui.blend, index=display.BLENDS.index("mask-image"))
    assert ui.blend.value == "mask-image"
    assert frontend.last_value(ui.overlay_panel.image) == shown("mask-image", 95.0)
    assert frontend.last_value(ui.map_panel.image) == render.fit_png(
        render.colorize(saliency, clip=95.0), 256
    )
    frontend.set(ui.clip, value=100.0)
    assert frontend.last_value(ui.overlay_panel.image) == shown("mask-image", 100.0)
    # The scale under the map: the colour table, and the value full colour stands for.
    assert ui.map_panel.bar.value == render.colour_bar_png("inferno", 256, 10)
    assert f"0 → {saliency.max():.3g} (the maximum)" in ui.map_panel.hint.value
    frontend.set(ui.clip, value=99.0)
    assert "99th percentile; higher saturates" in ui.map_panel.hint.value
    assert len(count_engine_calls) == calls  # presentation only: nothing recomputed
    overlay_axes = widget.to_figure().axes[-1]
    np.testing.assert_array_equal(
        overlay_axes.get_images()[0].get_array(),
        render.overlay(pictures[0], saliency, blend="mask-image", clip=99.0),
    )


def test_neighbours_are_prefetched(make, count_engine_calls):
    widget = make(prefetch=True)
    images = sorted(int(call["x"].sum() != 0) * i for i, call in enumerate(count_engine_calls))
    assert len(count_engine_calls) == 2  # image 0 and its only neighbour, image 1
    assert images == [0, 1]
    widget.select(image=1)
    widget.wait()
    assert len(count_engine_calls) == 3  # image 1 was cached; image 2 is prefetched now
    assert widget.current_map().shape == (12, 12)


def test_latest_selection_wins_under_a_slow_model(
    softmax_cnn, pictures, slow_model, count_engine_calls
):
    model = slow_model(softmax_cnn)
    widget = SaliencyWidget(model, pictures, preprocess=preprocess, prefetch=False)
    try:
        widget.wait(timeout=120)
        shown: list[str] = []
        overlay = widget._ui.overlay_panel
        overlay.title.observe(lambda _: shown.append(overlay.detail), names="value")
        calls_before = len(count_engine_calls)
        model.hold()  # the model now computes slower than any click
        for image in range(1, 9):
            widget.select(image=image)
            time.sleep(0.01)
        last_selected = len(shown)
        assert (
            shown[-1]
            == f"image 8 · class {widget.selection['class_index']} · gradients · absolute · pending"
        )
        model.release()
        widget.wait(timeout=120)
        assert widget.selection["image"] == 8
        assert shown[-1].startswith("image 8 ·") and shown[-1].endswith("ready")
        # Once image 8 was selected, only image 8 was ever drawn: the map of the image that was
        # being computed then was cached, never shown, and the ones in between never computed.
        assert all(text.startswith("image 8 ·") for text in shown[last_selected - 1 :])
        computed = [call["x"][0] for call in count_engine_calls[calls_before:]]
        assert 1 <= len(computed) <= 2
        np.testing.assert_array_equal(computed[-1], preprocess(pictures[8]))
        if len(computed) == 2:  # the one that was running is cached for later
            first = int(
                np.flatnonzero([np.array_equal(computed[0], preprocess(p)) for p in pictures])[0]
            )
            assert (
                widget._state.cache.get(
                    (first, int(widget._state.top[first, 0]), "gradients", "absolute")
                )
                is not None
            )
        top = int(np.argmax(widget.probabilities[8]))
        np.testing.assert_allclose(
            widget.current_map(), engine_map(model, pictures[8], top), atol=1e-5
        )
    finally:
        model.release()
        widget.close()


def test_images_the_model_cannot_take_show_a_message(make, pictures, softmax_cnn):
    images = pictures.astype(np.float32)
    images[3, 0, 0, 0] = np.nan
    widget = make(images=images)
    widget.select(image=3)
    widget.wait()
    assert widget._ui.error.layout.display == "block"
    assert "image 3" in widget._ui.error.value and "NaN" in widget._ui.error.value
    assert "could not be explained" in widget._ui.status.value
    assert widget._ui.thumbs._cells[3].layout.border.startswith("3px solid")  # current
    assert widget._ui.thumbs.failed == {3}
    assert widget.probabilities is not None and np.isnan(widget.probabilities[3]).all()
    with pytest.raises(RuntimeError, match="NaN"):
        widget.current_map()
    widget.select(image=4)  # the widget stays usable
    assert widget._ui.error.layout.display == "none"
    assert widget.current_map().shape == (12, 12)
    assert widget._ui.thumbs._cells[3].layout.border.startswith("3px dashed")


def test_a_failing_method_shows_its_error_and_other_methods_still_work(make, monkeypatch):
    def broken(model, inputs, indices=None):
        raise ValueError("this method needs a convolution named 'nowhere'")

    monkeypatch.setitem(METHODS, "broken", MethodSpec("broken", broken, label="Broken"))
    widget = make(prefetch=False)
    assert ("Broken", "broken") in widget._ui.method.options
    widget.select(method="broken")
    widget.wait()
    assert "Could not compute the maps: ValueError: this method needs" in widget._ui.error.value
    with pytest.raises(RuntimeError, match="nowhere"):
        widget.current_map()
    widget.select(method="gradients")
    assert widget.current_map().max() == pytest.approx(1.0)
    assert widget._ui.error.layout.display == "none"


def test_compare_classes_and_methods(make, monkeypatch):
    spec = METHODS["gradients"]
    monkeypatch.setitem(METHODS, "gradients_mean", MethodSpec("gradients_mean", spec.function,
                        spec.postprocessing, {"reduce": "mean"}, "Mean gradient"))  # fmt: skip
    widget = make(top_k=3, prefetch=False)
    widget._ui.compare.value = "classes"
    widget.wait()
    grid = widget._ui.compare_grid
    assert grid.layout.display == "grid"
    titles = [panel.title.value for panel in grid.children]
    assert len(titles) == 3
    figure = widget.to_figure()
    assert len(figure.axes) == 12  # three classes × image, map + its colour bar, overlay
    widget._ui.compare.value = "methods"
    widget.wait()
    assert len(grid.children) == len(METHODS)
    assert any("Mean gradient" in panel.title.value for panel in grid.children)
    assert len(widget.to_figure().axes) == 4 * len(METHODS)
    widget._ui.compare.value = "single"
    assert grid.layout.display == "none"


def test_figure_png_and_download_link(make, tmp_path, frontend):
    widget = make()
    figure = widget.to_figure()
    bars = [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]
    assert len(figure.axes) == 4 and len(bars) == 1  # image, map + its colour bar, overlay
    top = display.clip_value(widget.current_map())
    assert [t.get_text() for t in bars[0].get_yticklabels()] == ["0", f"≥{top:.2g}"]
    png = widget.to_png()
    assert Image.open(io.BytesIO(png)).size[0] > 300
    path = widget.save_png(tmp_path / "view.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    frontend.click(widget._ui.export)
    assert "data:image/png;base64," in widget._ui.download.value
    assert "download='saliency-image0-class" in widget._ui.download.value


def test_pages_of_thumbnails(make, softmax_cnn):
    many = np.random.default_rng(0).integers(0, 256, size=(21, 12, 12, 3), dtype=np.uint8)
    widget = make(images=many, per_page=8, prefetch=False)
    thumbs = widget._ui.thumbs
    assert thumbs.pages == 3
    assert thumbs.tooltip_of(0) == "image 0"
    frontend_next = thumbs._next
    frontend_next.click()
    assert thumbs.page == 1 and thumbs.tooltip_of(0) == "image 8"
    thumbs._buttons[2].click()
    assert widget.selection["image"] == 10
    thumbs.show_page(2)
    assert thumbs._cells[4].layout.visibility == "visible"  # image 20
    assert thumbs._cells[5].layout.visibility == "hidden"
    widget.select(image=0)
    assert thumbs.page == 0


def test_file_folder_input_and_model_without_declared_classes(
    tmp_path, softmax_cnn, pictures, slow_model
):
    for i, picture in enumerate(pictures[:3]):
        Image.fromarray(picture).save(tmp_path / f"{i:02d}.png")
    model = slow_model(softmax_cnn, seconds=0.0)  # subclassed: classes known after predicting
    widget = SaliencyWidget(model, tmp_path, preprocess=preprocess, prefetch=False)
    try:
        widget.wait(timeout=120)
        assert widget.class_names == [f"class {i}" for i in range(5)]
        assert widget._display.image_title(2) == "2 · 02.png"
        assert widget.current_map().shape == (12, 12)
    finally:
        widget.close()


def test_bad_arguments_raise_at_construction(softmax_cnn, pictures):
    with pytest.raises(TypeError, match=r"keras\.Model"):
        SaliencyWidget(lambda x: x, pictures)
    with pytest.raises(ValueError, match="labels"):
        SaliencyWidget(softmax_cnn, pictures, labels=[0, 1])
    with pytest.raises(ValueError, match="class_names has 2 names"):
        SaliencyWidget(softmax_cnn, pictures, class_names=["a", "b"])
    with pytest.raises(ValueError, match="top_k"):
        SaliencyWidget(softmax_cnn, pictures, top_k=0)
    with pytest.raises(ValueError, match="method="):
        SaliencyWidget(softmax_cnn, pictures, method="magic")
    with pytest.raises(ValueError, match="blend must be one of heat, mask, mask-image"):
        SaliencyWidget(softmax_cnn, pictures, blend="screen")
    with pytest.raises(ValueError, match="clip must be a percentile"):
        SaliencyWidget(softmax_cnn, pictures, clip=0)


def test_is_a_box_made_of_core_widgets_only(make):
    import ipywidgets

    widget = make()
    assert isinstance(widget, ipywidgets.Box)
    modules = set()

    def walk(w):
        modules.add(w._model_module)
        for child in getattr(w, "children", ()):
            walk(child)

    walk(widget)
    assert modules == {"@jupyter-widgets/controls"}
    ipywidgets.Widget.get_manager_state()  # every part serialises (for embedding, Voila)
    assert len(repr(widget)) < 120


def test_the_package_exposes_the_widget_lazily():
    assert sw.SaliencyWidget is SaliencyWidget
    assert sw.widget.SaliencyWidget is SaliencyWidget
