"""SaliencyWidget's kernel side without a browser: the protocol a view speaks, numbers, cache,
latest-wins, errors, export. The browser side is tested in chromium (tests/widget/browser/)."""

from __future__ import annotations

import io
import json
import re
import time

import numpy as np
import pytest
import tensorflow as tf
from builders import WIDGET_CLASS_NAMES, unit_range
from PIL import Image

import saliency_widgets as sw
from saliency_widgets import display, explorer
from saliency_widgets.methods import METHODS, MethodSpec
from saliency_widgets.predict import scores_to_probabilities
from saliency_widgets.widget import SaliencyWidget
from saliency_widgets.widget.testing import View

NAMES = WIDGET_CLASS_NAMES
preprocess = unit_range


def signed_gradient(model, image, class_index):
    """The signed map by hand: the channel gradient with the largest magnitude, per pixel."""
    logits_model = sw.inspection.explained_model(model).model
    x = tf.constant(preprocess(image[None]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        score = logits_model(x)[0, class_index]
    g = tape.gradient(score, x).numpy()[0]
    return np.take_along_axis(g, np.abs(g).argmax(-1)[..., None], -1)[..., 0]


def softmax(model, images):
    logits = sw.inspection.explained_model(model).model(preprocess(images)).numpy()
    return scores_to_probabilities(logits, "softmax")


def test_starts_on_the_first_image_and_its_predicted_class(make, softmax_cnn, pictures):
    widget, _view = make(labels=np.arange(9) % 5)
    probabilities = softmax(softmax_cnn, pictures)
    top = int(np.argmax(probabilities[0]))
    assert widget.selection == {"image": 0, "class_index": top, "method": "gradients"}
    np.testing.assert_allclose(widget.probabilities, probabilities, rtol=1e-4, atol=1e-6)
    order = np.argsort(-probabilities, axis=1, kind="stable")
    assert widget.predictions["top"] == order.tolist()  # k=5 of 5 classes
    np.testing.assert_allclose(
        widget.predictions["probabilities"],
        np.take_along_axis(probabilities, order, 1),
        atol=1e-5,
    )
    assert widget.status["done"] == widget.status["total"] == 9
    assert widget.status["text"].startswith("Ready")
    expected = np.abs(signed_gradient(softmax_cnn, pictures[0], top))
    np.testing.assert_allclose(widget.current_map(), expected / expected.max(), atol=1e-5)
    meta = widget.meta
    assert meta["classNames"] == NAMES and meta["labels"] == (np.arange(9) % 5).tolist()
    assert meta["live"] is True and meta["count"] == 9 and meta["topK"] == 5
    assert [m["name"] for m in meta["methods"]] == list(METHODS)


def test_a_click_sends_the_signed_maps_of_the_image_top_classes(make, softmax_cnn, pictures):
    widget, view = make(prefetch=False)
    view.click(image=4)
    widget.wait()
    probabilities = softmax(softmax_cnn, pictures)
    top = int(np.argmax(probabilities[4]))
    assert widget.selection == {"image": 4, "class_index": top, "method": "gradients"}
    (content, buffers), *_ = [m for m in view.messages("maps") if m[0]["image"] == 4]
    assert content["classes"] == np.argsort(-probabilities[4], kind="stable").tolist()
    assert content["shape"] == [12, 12] and len(buffers[0]) == 5 * 12 * 12
    np.testing.assert_allclose(content["probabilities"], np.sort(probabilities[4])[::-1], atol=1e-5)
    held = view.maps(4, "gradients")
    for index in content["classes"]:
        exact = signed_gradient(softmax_cnn, pictures[4], index)
        step = np.abs(exact).max() / 127
        np.testing.assert_allclose(held[index], exact, atol=step / 2 + 1e-7)
    # A class click: the view already holds the map; the kernel is told, computes nothing.
    calls = len(view.messages("maps"))
    third = content["classes"][2]
    view.click(class_index=third)
    widget.wait()
    assert widget.selection["class_index"] == third
    assert len(view.messages("maps")) == calls
    expected = np.abs(signed_gradient(softmax_cnn, pictures[4], third))
    np.testing.assert_allclose(widget.current_map(), expected / expected.max(), atol=1e-5)


def test_select_from_python_reaches_the_views_and_signs_are_display_options(make):
    widget, view = make(prefetch=False)
    widget.select(image=6, class_index=1, sign="positive")
    widget.wait()
    assert widget.selection == {"image": 6, "class_index": 1, "method": "gradients"}
    assert {"selection": widget.selection} in view.updates
    assert widget.view["sign"] == "positive" and widget.sign == "positive"
    signed = view.maps(6, "gradients")[1]
    positive = widget.current_map()
    np.testing.assert_allclose(positive, np.maximum(signed, 0) / signed.max(), atol=0.01)
    widget.select(sign="negative")
    negative = widget.current_map()
    assert np.all((positive == 0) | (negative == 0))  # where one part shows, the other is 0
    widget.set_view(cmap="gray", clip=95.0, blend="mask", compare="classes")
    assert widget.view == {
        "sign": "negative", "cmap": "gray", "alpha": 0.6, "blend": "mask", "clip": 95.0,
        "compare": "classes", "outline": True,
    }  # fmt: skip
    with pytest.raises(ValueError, match="image=9 is out of range"):
        widget.select(image=9)
    with pytest.raises(ValueError, match="method='nope'"):
        widget.select(method="nope")
    with pytest.raises(ValueError, match="sign must be one of"):
        widget.select(sign="both")
    with pytest.raises(TypeError, match="unknown view option 'colour'"):
        widget.set_view(colour="red")


def test_a_class_outside_the_top_k_is_computed_with_them(make, count_engine_calls):
    widget, view = make(top_k=2, prefetch=False)
    assert len(count_engine_calls) == 1  # the top-2 classes of image 0, in one call
    call = count_engine_calls[0]
    assert call["x"].shape == (1, 12, 12, 3) and call["batch_size"] == 1
    assert call["indices"].shape == (1, 3)  # top-2 + the selected class, padded
    top = widget.predictions["top"][0]
    outside = next(c for c in range(5) if c not in top)
    view.click(class_index=outside)
    widget.wait()
    assert len(count_engine_calls) == 2 and outside in count_engine_calls[-1]["indices"][0]
    content, _ = view.messages("maps")[-1]
    assert content["classes"] == [*top, outside]
    view.click(class_index=top[0])
    view.click(class_index=outside)
    widget.wait()
    assert len(count_engine_calls) == 2


def test_cache_answers_views_and_cosmetic_options_compute_nothing(make, count_engine_calls):
    widget, view = make(top_k=2, prefetch=False)
    view.click(image=1)
    widget.wait()
    assert len(count_engine_calls) == 2
    before = len(view.messages("maps"))
    view.click(image=0)
    view.want(0, ["gradients"])  # a view that lacks what the kernel has: answered from cache
    widget.wait()
    assert len(count_engine_calls) == 2 and len(view.messages("maps")) == before + 1
    widget.set_view(sign="negative", cmap="gray", alpha=0.3, clip=90.0, blend="mask")
    widget.select(sign="positive")
    widget.wait()
    assert len(count_engine_calls) == 2  # signs and looks are drawn from the same maps
    widget.clear_cache()
    widget.wait()
    assert len(count_engine_calls) == 3


def test_neighbours_are_prefetched_and_pushed_to_the_views(make, count_engine_calls):
    widget, view = make(prefetch=True)
    assert len(count_engine_calls) == 2  # image 0 and its only neighbour, image 1
    view.click(image=1)
    widget.wait()
    assert len(count_engine_calls) == 3  # image 1 was cached; image 2 is prefetched now
    assert {content["image"] for content, _ in view.messages("maps")} >= {1, 2}


def test_latest_selection_wins_under_a_slow_model(
    softmax_cnn, pictures, slow_model, count_engine_calls
):
    model = slow_model(softmax_cnn)
    widget = SaliencyWidget(model, pictures, preprocess=preprocess, prefetch=False)
    view = View(widget)
    try:
        widget.wait(timeout=120)
        calls_before = len(count_engine_calls)
        model.hold()  # the model now computes slower than any click
        rng = np.random.default_rng(0)
        for image in rng.integers(0, 9, 200):
            view.click(image=int(image))
        view.click(image=8)
        model.release()
        widget.wait(timeout=120)
        assert widget.selection["image"] == 8
        # Only the image being computed when the clicks began and the last one were computed.
        computed = [call["x"][0] for call in count_engine_calls[calls_before:]]
        assert 1 <= len(computed) <= 2
        np.testing.assert_array_equal(computed[-1], preprocess(pictures[8]))
        assert view.messages("maps")[-1][0]["image"] == 8
        top = int(np.argmax(widget.probabilities[8]))
        assert widget.selection["class_index"] == top
    finally:
        model.release()
        widget.close()


def test_images_the_model_cannot_take_are_reported(make, pictures):
    images = pictures.astype(np.float32)
    images[3, 0, 0, 0] = np.nan
    widget, view = make(images=images)
    view.click(image=3)
    widget.wait()
    assert "NaN" in widget.status["errors"]["3"]
    assert widget.probabilities is not None and np.isnan(widget.probabilities[3]).all()
    view.want(3, ["gradients"])
    assert view.messages("failed")[-1][0] == {
        "kind": "failed",
        "image": 3,
        "methods": ["gradients"],
    }
    with pytest.raises(RuntimeError, match="NaN"):
        widget.current_map()
    view.click(image=4)  # the widget stays usable
    assert widget.current_map().shape == (12, 12)


def test_a_failing_method_is_reported_and_others_still_work(make, monkeypatch):
    def broken(model, inputs, indices=None):
        raise ValueError("this method needs a convolution named 'nowhere'")

    monkeypatch.setitem(METHODS, "broken", MethodSpec("broken", broken, label="Broken"))
    widget, view = make(prefetch=False)
    assert {"name": "broken", "label": "Broken"} in widget.meta["methods"]
    view.click(method="broken")
    widget.wait()
    message = widget.status["failures"]["0/broken"]
    assert "Could not compute the maps: ValueError: this method needs" in message
    assert view.messages("failed")[-1][0]["methods"] == ["broken"]
    with pytest.raises(RuntimeError, match="nowhere"):
        widget.current_map()
    view.click(method="gradients")
    assert widget.current_map().max() == pytest.approx(1.0)


def test_compare_modes_ask_for_what_they_lack(make, count_engine_calls, monkeypatch):
    widget, view = make(
        top_k=3, prefetch=False, methods=["gradients", "input_x_gradient", "gradcam"]
    )
    assert [m["name"] for m in widget.meta["methods"]] == [
        "gradients",
        "input_x_gradient",
        "gradcam",
    ]
    view.want(0, ["input_x_gradient", "gradcam"])
    widget.wait()
    assert len(count_engine_calls) == 3  # one engine call per method
    assert {c["method"].__name__ for c in count_engine_calls} == {
        "gradients", "input_x_gradient", "gradcam",
    }  # fmt: skip
    assert set(view.maps(0, "gradcam")) == set(widget.predictions["top"][0])
    widget.set_view(compare="classes")
    figure = widget.to_figure()
    assert len(figure.axes) == 12  # three classes × image, map + its colour bar, overlay
    widget.set_view(compare="methods")
    assert len(widget.to_figure().axes) == 12
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        SaliencyWidget(widget._model, np.zeros((1, 12, 12, 3)), methods="gradients,magic")


def test_pictures_thumbnails_and_masks_for_the_view(make, pictures):
    masks = np.zeros((9, 12, 12), bool)
    masks[:, 3:8, 2:6] = True
    widget, view = make(masks=masks, prefetch=False)
    assert widget.meta["masks"] is True
    view.ask_images([2])
    content, buffers = view.messages("image")[-1]
    assert content == {"kind": "image", "index": 2, "thumb": False}
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(buffers[0]))), pictures[2])
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(buffers[1]))) > 127, masks[2])
    view.ask_images([0, 1], thumbs=True)
    thumbs = view.messages("image")[-2:]
    assert [c["index"] for c, _ in thumbs] == [0, 1] and all(len(b) == 1 for _, b in thumbs)
    with pytest.raises(ValueError, match=r"masks\[0\] has shape"):
        SaliencyWidget(widget._model, pictures, masks=np.zeros((9, 4, 4), bool))


def test_bad_messages_from_a_view_change_nothing(make):
    widget, view = make(prefetch=False)
    selection = dict(widget.selection)
    for content in (
        {"kind": "want", "image": 99, "methods": ["gradients"]},
        {"kind": "want", "image": 0, "methods": ["nope"]},
        {"kind": "images", "indices": "all"},
        {"kind": "fly"},
    ):
        view.send_raw(content)
    view.click(image=0, class_index=42)  # out of range: the kernel keeps its selection
    widget.wait()
    assert widget._state.selection.class_index == selection["class_index"]
    assert view.messages("maps") == [] or all(c["image"] == 0 for c, _ in view.messages("maps"))


def test_a_224_map_costs_at_most_60_kb_on_the_wire():
    model = tf.keras.Sequential(
        [
            tf.keras.Input((224, 224, 3)),
            tf.keras.layers.Conv2D(4, 3),
            tf.keras.layers.GlobalAveragePooling2D(),
            tf.keras.layers.Dense(3),
        ]
    )
    images = np.random.default_rng(0).integers(0, 256, (2, 224, 224, 3), dtype=np.uint8)
    widget = SaliencyWidget(model, images, top_k=1, prefetch=False)
    view = View(widget)
    try:
        widget.wait(timeout=120)
        view.want(0, ["gradients"])
        content, buffers = view.messages("maps")[-1]
        per_map = (len(buffers[0]) + len(json.dumps(content))) / len(content["classes"])
        assert per_map <= 60_000
        assert len(buffers[0]) == len(content["classes"]) * 224 * 224
    finally:
        widget.close()


def test_figure_and_png(make, tmp_path):
    widget, _ = make()
    figure = widget.to_figure()
    bars = [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]
    assert len(figure.axes) == 4 and len(bars) == 1  # image, map + its colour bar, overlay
    top = display.clip_value(widget.current_map())
    assert [t.get_text() for t in bars[0].get_yticklabels()] == ["0", f"≥{top:.2g}"]
    png = widget.to_png()
    assert Image.open(io.BytesIO(png)).size[0] > 300
    path = widget.save_png(tmp_path / "view.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _payload(text: str) -> dict:
    found = re.search(r'<script type="application/json">(.*?)</script>', text, flags=re.S)
    return json.loads(found.group(1))


def test_the_output_carries_the_static_explorer_of_the_widget_state(make):
    widget, _view = make(per_page=4, prefetch=False)
    widget.select(image=5)
    widget.wait()
    data, _ = widget._repr_mimebundle_()
    assert set(data) == {"text/plain", "application/vnd.jupyter.widget-view+json", "text/html"}
    assert "http:" not in data["text/html"] and "https:" not in data["text/html"]
    payload = _payload(data["text/html"])
    meta = payload["meta"]
    assert meta["names"] == ["image 4", "image 5", "image 6", "image 7"]  # its page of images
    assert meta["start"] == {
        "image": 1,
        "classIndex": widget.selection["class_index"],
        "method": "gradients",
    }
    strips = payload["maps"]["gradients"]["strips"]
    assert [s is not None for s in strips] == [False, True, False, False]  # what was computed
    assert payload["predictions"]["top"] == widget.predictions["top"][4:8]


def test_to_html_says_what_it_weighs_and_refuses_too_many_images(make, capsys):
    widget, _ = make(prefetch=False, masks=np.ones((9, 12, 12), bool))
    with pytest.raises(
        ValueError, match=r"9 images would make a page of about .* MB \(max_images=4\)"
    ):
        widget.to_html(max_images=4)
    text = widget.to_html("gradients", images=[1, 3])
    assert re.search(
        r"Explorer of 2 images × top-5 × 1 methods: about [\d.]+ MB", capsys.readouterr().err
    )
    payload = _payload(text)
    assert payload["meta"]["names"] == ["image 1", "image 3"] and len(payload["masks"]) == 2
    with pytest.raises(ValueError, match=r"images\[\]=12 is out of range"):
        widget.to_html(images=[12])


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
        assert widget.meta["classNames"] == widget.class_names
        assert widget.meta["names"] == ["00.png", "01.png", "02.png"]
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
    with pytest.raises(ValueError, match="compare must be one of"):
        SaliencyWidget(softmax_cnn, pictures, compare="all")


def test_is_an_anywidget_drawn_by_the_explorer_module(make):
    import anywidget
    import ipywidgets

    widget, _ = make()
    assert isinstance(widget, anywidget.AnyWidget) and isinstance(widget, ipywidgets.DOMWidget)
    assert widget._esm == explorer.asset("explorer.js")
    assert "export default { render }" in widget._esm
    state = widget.get_state()
    assert set(state) >= {"meta", "predictions", "status", "selection", "view"}
    assert len(repr(widget)) < 120


def test_the_package_exposes_the_widget_lazily():
    assert sw.SaliencyWidget is SaliencyWidget
    assert sw.widget.SaliencyWidget is SaliencyWidget


def test_waiting_stops_at_its_timeout(softmax_cnn, pictures, slow_model):
    model = slow_model(softmax_cnn)
    model.hold()
    widget = SaliencyWidget(model, pictures, preprocess=preprocess, prefetch=False)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"still computing after 0\.2 s"):
            widget.wait(timeout=0.2)
        assert time.monotonic() - started < 5
    finally:
        model.release()
        widget.close()


def test_the_first_maps_picture_and_thumbnails_are_kept_for_views_made_later(make, pictures):
    widget, _ = make(per_page=4)
    kept = widget.first
    kinds = [(m["content"]["kind"], m["content"].get("thumb")) for m in kept]
    # ... and, once computed, the first map's trust figures (tests/widget/test_trust.py)
    assert kinds == [("maps", None), ("image", False)] + [("image", True)] * 4 + [("scores", None)]
    assert kept[-1]["content"]["card"] == widget.current_scores().to_dict()
    maps = kept[0]["content"]
    assert (maps["image"], maps["method"]) == (0, "gradients")
    levels = np.frombuffer(kept[0]["buffers"][0], np.int8).reshape(-1, *maps["shape"])
    expected = signed_gradient(widget._model, pictures[0], maps["classes"][0])
    # the kept levels are the kernel's map, quantised: same peak, same signs where it is large
    peak = np.abs(expected).max()
    large = np.abs(expected) > 0.2 * peak
    assert np.array_equal(np.sign(levels[0])[large], np.sign(expected)[large])
    assert [m["content"]["index"] for m in kept[2:-1]] == [0, 1, 2, 3]
    picture = np.asarray(Image.open(io.BytesIO(kept[1]["buffers"][0])))
    assert picture.shape[:2] == pictures[0].shape[:2]
    widget.clear_cache()
    assert widget.first == []
