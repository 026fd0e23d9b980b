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
from saliency_widgets.widget.testing import find, shown

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
    rows = find(widget, "sw-class-row")
    listed = [row.class_index for row in rows if row.layout.display != "none"]
    assert listed == list(np.argsort(-probabilities[0], kind="stable"))  # k=5 of 5 classes
    first = rows[0]
    assert first.button.description == NAMES[top]
    assert first.button.button_style == "primary"
    assert first.text.value == f"{100 * probabilities[0, top]:.1f}%"
    assert first.bar.value == pytest.approx(probabilities[0, top])
    true_row = next(row for row in rows if row.class_index == 0)
    assert "true" in true_row.note.value
    (progress,) = find(widget, "sw-progress")
    assert progress.value == 9
    assert progress.layout.display == "none"
    assert "Ready" in find(widget, "sw-status-line")[0].value == shown(widget).status


def test_clicking_a_thumbnail_then_a_class_changes_the_map(make, softmax_cnn, pictures, frontend):
    widget = make()
    (overlay,) = find(widget, "sw-view-overlay")
    before = frontend.last_value(overlay)
    frontend.click(find(widget, "sw-thumb")[4])
    widget.wait()
    probabilities = softmax(softmax_cnn, pictures)
    top = int(np.argmax(probabilities[4]))
    assert widget.selection["image"] == 4
    assert widget.selection["class_index"] == top
    np.testing.assert_allclose(
        widget.current_map(), engine_map(softmax_cnn, pictures[4], top), atol=1e-5
    )
    after_image = frontend.last_value(overlay)
    assert after_image != before
    # The browser got exactly the overlay the renderer makes for this map.
    expected = render.fit_png(
        render.overlay(pictures[4], widget.current_map(), alpha=0.6, cmap="inferno"), 256
    )
    assert after_image == expected
    cells = find(widget, "sw-thumb-cell")
    assert cells[4].layout.border.startswith("3px solid #")
    assert cells[0].layout.border.endswith("transparent")

    third = find(widget, "sw-class-row")[2]
    frontend.click(third.button)
    widget.wait()
    assert widget.selection["class_index"] == third.class_index != top
    np.testing.assert_allclose(
        widget.current_map(),
        engine_map(softmax_cnn, pictures[4], third.class_index),
        atol=1e-5,
    )
    assert frontend.last_value(overlay) not in (before, after_image)
    assert third.button.button_style == "primary"


def test_select_from_python_moves_every_control(make, frontend):
    widget = make(per_page=4)
    widget.select(image=6, class_index=1, sign="positive")
    widget.wait()
    assert widget.selection == {"image": 6, "class_index": 1, "method": "gradients"}
    assert widget.sign == "positive"
    (sign,) = find(widget, "sw-sign")
    assert sign.value == "positive"
    assert find(widget, "sw-thumbs")[0].page == 1  # 6 is on the second page of four
    assert find(widget, "sw-caption")[0].value == "image 7 of 9"
    assert shown(widget).overlay.detail.startswith("image 6 · class 1 · gradients")
    frontend.set(sign, index=0)  # the browser sends the index of the toggle
    assert widget.sign == "absolute"
    frontend.click(find(widget, "sw-next")[0])
    assert widget.selection["image"] == 7
    frontend.click(find(widget, "sw-previous")[0])
    frontend.click(find(widget, "sw-previous")[0])
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
    (other,) = find(widget, "sw-other-class")
    frontend.set(other, value="Star")
    assert widget.selection["class_index"] == 3
    assert other.value == ""
    frontend.set(other, value="1")
    assert widget.selection["class_index"] == 1
    frontend.set(other, value="dragon")
    assert widget.selection["class_index"] == 1
    assert "No class named 'dragon'" in shown(widget).status


def test_cache_hits_do_not_recompute(make, count_engine_calls):
    widget = make(prefetch=False, top_k=2)
    assert len(count_engine_calls) == 1  # the top-2 classes of image 0, in one call
    call = count_engine_calls[0]
    assert call["x"].shape == (1, 12, 12, 3)
    assert call["indices"].shape == (1, 3)  # top-2 + the selected class, padded
    assert call["batch_size"] == 1
    top = [row.class_index for row in find(widget, "sw-class-row")[:2]]
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
    find(widget, "sw-cmap")[0].value = "gray"
    find(widget, "sw-alpha")[0].value = 0.3
    widget.wait()
    assert len(count_engine_calls) == 4
    widget.clear_cache()
    widget.wait()
    assert len(count_engine_calls) == 5


def test_blend_and_clip_controls_redraw_through_the_display_step(
    make, pictures, frontend, count_engine_calls
):
    widget = make(prefetch=False, blend="mask", clip=95.0)
    ((blend,), (clip,)) = find(widget, "sw-blend"), find(widget, "sw-clip")
    ((overlay,), (map_image,)) = find(widget, "sw-view-overlay"), find(widget, "sw-view-map")
    ((bar,), (hint,)) = find(widget, "sw-scale-bar"), find(widget, "sw-scale-hint")
    saliency = widget.current_map()
    assert (blend.value, clip.value) == ("mask", 95.0)

    def expected(blend: str, clip: float) -> bytes:
        return render.fit_png(render.overlay(pictures[0], saliency, blend=blend, clip=clip), 256)

    assert overlay.value == expected("mask", 95.0) == shown(widget).overlay.png
    calls = len(count_engine_calls)
    frontend.set(blend, index=display.BLENDS.index("mask-image"))
    assert blend.value == "mask-image"
    assert frontend.last_value(overlay) == expected("mask-image", 95.0)
    assert frontend.last_value(map_image) == render.fit_png(
        render.colorize(saliency, clip=95.0), 256
    )
    frontend.set(clip, value=100.0)
    assert frontend.last_value(overlay) == expected("mask-image", 100.0)
    # The scale under the map: the colour table, and the value full colour stands for.
    assert bar.value == render.colour_bar_png("inferno", 256, 10)
    assert f"0 → {saliency.max():.3g} (the maximum)" in hint.value
    frontend.set(clip, value=99.0)
    assert "99th percentile; higher saturates" in hint.value
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
        drawn: list[str] = []
        (title,) = find(widget, "sw-view-overlay-title")
        title.observe(lambda _: drawn.append(shown(widget).overlay.detail), names="value")
        calls_before = len(count_engine_calls)
        model.hold()  # the model now computes slower than any click
        for image in range(1, 9):
            widget.select(image=image)
            time.sleep(0.01)
        last_selected = len(drawn)
        assert (
            drawn[-1]
            == f"image 8 · class {widget.selection['class_index']} · gradients · absolute · pending"
        )
        model.release()
        widget.wait(timeout=120)
        assert widget.selection["image"] == 8
        assert drawn[-1].startswith("image 8 ·") and drawn[-1].endswith("ready")
        # Once image 8 was selected, only image 8 was ever drawn: the map of the image that was
        # being computed then was cached, never shown, and the ones in between never computed.
        assert all(text.startswith("image 8 ·") for text in drawn[last_selected - 1 :])
        computed = [call["x"][0] for call in count_engine_calls[calls_before:]]
        assert 1 <= len(computed) <= 2
        np.testing.assert_array_equal(computed[-1], preprocess(pictures[8]))
        top = int(np.argmax(widget.probabilities[8]))
        np.testing.assert_allclose(
            widget.current_map(), engine_map(model, pictures[8], top), atol=1e-5
        )
        if len(computed) == 2:  # the one that was running is cached for later
            first = int(
                np.flatnonzero([np.array_equal(computed[0], preprocess(p)) for p in pictures])[0]
            )
            calls = len(count_engine_calls)
            widget.select(image=first)
            assert widget.current_map().shape == (12, 12)
            assert len(count_engine_calls) == calls
    finally:
        model.release()
        widget.close()


def test_images_the_model_cannot_take_show_a_message(make, pictures, softmax_cnn):
    images = pictures.astype(np.float32)
    images[3, 0, 0, 0] = np.nan
    widget = make(images=images)
    widget.select(image=3)
    widget.wait()
    (error,) = find(widget, "sw-error")
    cells = find(widget, "sw-thumb-cell")
    assert error.layout.display == "block"
    assert "image 3" in error.value and "NaN" in error.value
    assert "NaN" in shown(widget).error
    assert "could not be explained" in shown(widget).status
    assert cells[3].layout.border.startswith("3px solid")  # current
    assert find(widget, "sw-thumbs")[0].failed == {3}
    assert widget.probabilities is not None and np.isnan(widget.probabilities[3]).all()
    with pytest.raises(RuntimeError, match="NaN"):
        widget.current_map()
    widget.select(image=4)  # the widget stays usable
    assert error.layout.display == "none"
    assert widget.current_map().shape == (12, 12)
    assert cells[3].layout.border.startswith("3px dashed")


def test_a_failing_method_shows_its_error_and_other_methods_still_work(make, monkeypatch):
    def broken(model, inputs, indices=None):
        raise ValueError("this method needs a convolution named 'nowhere'")

    monkeypatch.setitem(METHODS, "broken", MethodSpec("broken", broken, label="Broken"))
    widget = make(prefetch=False)
    assert ("Broken", "broken") in find(widget, "sw-method")[0].options
    widget.select(method="broken")
    widget.wait()
    (error,) = find(widget, "sw-error")
    assert "Could not compute the maps: ValueError: this method needs" in error.value
    with pytest.raises(RuntimeError, match="nowhere"):
        widget.current_map()
    widget.select(method="gradients")
    assert widget.current_map().max() == pytest.approx(1.0)
    assert error.layout.display == "none"


def test_compare_classes_and_methods(make, monkeypatch):
    spec = METHODS["gradients"]
    monkeypatch.setitem(METHODS, "gradients_mean", MethodSpec("gradients_mean", spec.function,
                        spec.postprocessing, {"reduce": "mean"}, "Mean gradient"))  # fmt: skip
    widget = make(top_k=3, prefetch=False)
    (mode,) = find(widget, "sw-compare-mode")
    mode.value = "classes"
    widget.wait()
    (grid,) = find(widget, "sw-compare-grid")
    assert grid.layout.display == "grid"
    titles = [panel.title for panel in shown(widget).compare]
    assert len(titles) == len(find(widget, "sw-compare")) == 3
    figure = widget.to_figure()
    assert len(figure.axes) == 12  # three classes × image, map + its colour bar, overlay
    mode.value = "methods"
    widget.wait()
    assert len(grid.children) == len(METHODS)
    assert any("Mean gradient" in title.value for title in find(grid, "sw-compare-title"))
    assert len(widget.to_figure().axes) == 4 * len(METHODS)
    mode.value = "single"
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
    frontend.click(find(widget, "sw-export")[0])
    (download,) = find(widget, "sw-download")
    assert "data:image/png;base64," in download.value
    assert "download='saliency-image0-class" in download.value


def test_pages_of_thumbnails(make, softmax_cnn):
    many = np.random.default_rng(0).integers(0, 256, size=(21, 12, 12, 3), dtype=np.uint8)
    widget = make(images=many, per_page=8, prefetch=False)
    (thumbs,) = find(widget, "sw-thumbs")
    buttons = find(widget, "sw-thumb")
    assert thumbs.pages == 3
    assert buttons[0].tooltip == "image 0"
    find(widget, "sw-next-page")[0].click()
    assert thumbs.page == 1 and buttons[0].tooltip == "image 8"
    assert find(widget, "sw-page")[0].value == "page 2 / 3"
    buttons[2].click()
    assert widget.selection["image"] == 10
    thumbs.show_page(2)
    cells = find(widget, "sw-thumb-cell")
    assert cells[4].layout.visibility == "visible"  # image 20
    assert cells[5].layout.visibility == "hidden"
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
        assert find(widget, "sw-thumb")[2].tooltip == "2 · 02.png"
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
