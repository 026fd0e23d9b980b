"""The widget's trust panel, kernel side: figures after the maps, kept, latest-wins, sanity."""

from __future__ import annotations

import time

import numpy as np
import pytest
from builders import unit_range as preprocess

from saliency_widgets import metrics
from saliency_widgets.widget import _compute


@pytest.fixture
def masks(pictures):
    found = np.zeros(pictures.shape[:3], bool)
    found[:, 3:8, 2:9] = True
    return found


@pytest.fixture
def count_scoring(monkeypatch):
    """Counts the scorecards the worker computes, by map."""
    calls: list[tuple[int, str]] = []
    original = _compute.score_map

    def counting(model, x, saliency, class_index, method, mask):
        calls.append((class_index, method))
        return original(model, x, saliency, class_index, method, mask)

    monkeypatch.setattr(_compute, "score_map", counting)
    return calls


def test_the_scores_message_is_the_scorecard_of_the_map_sent(make, pictures, masks):
    widget, view = make(masks=masks, prefetch=False)
    selection = widget.selection
    key = (selection["image"], selection["class_index"], selection["method"])
    sent = view.messages("scores")
    assert len(sent) == 1
    content = sent[0][0]
    assert (content["image"], content["class_index"], content["method"]) == key
    signed = widget._state.cache.get(key)
    expected = metrics.scorecard(
        widget._model,
        preprocess(pictures[:1]),
        signed[None],
        [key[1]],
        masks=masks[:1],
    )[0][0]
    assert content["card"] == expected.to_dict()
    assert content["card"]["localisation"]["mask_share"] == pytest.approx(35 / 144, abs=1e-6)
    assert widget.current_scores() == expected
    # Kept for views made later, after the first maps (they then ask for nothing).
    assert widget.first[-1]["content"] == content


def test_integrated_gradients_has_a_completeness_gap(make, pictures):
    widget, _ = make(methods=["integrated_gradients"], method="integrated_gradients")
    card = widget.current_scores()
    key = widget._state.selection.key()
    signed = widget._state.cache.get(key)
    expected = metrics.scorecard(
        widget._model, preprocess(pictures[:1]), signed[None], [key[1]], attributions=signed[None]
    )[0][0]
    assert card.completeness == pytest.approx(expected.completeness)
    assert 0 <= card.completeness < 0.2  # 64 steps on a small CNN


def test_figures_are_kept_and_switching_back_sends_them_from_the_cache(make, count_scoring):
    widget, view = make(top_k=2, prefetch=False)
    view.click(image=1)
    widget.wait()
    first = widget.selection
    assert count_scoring == [
        (widget._state.top_class(0), "gradients"),
        (first["class_index"], "gradients"),
    ]
    view.click(image=0)
    widget.wait()
    before = len(view.messages("scores"))
    view.ask_scores(0, ["gradients"], widget.selection["class_index"])  # a view that lacks them
    widget.wait()
    assert len(count_scoring) == 2  # nothing computed again
    assert len(view.messages("scores")) == before + 1
    assert view.messages("scores")[-1][0]["card"] == widget.current_scores().to_dict()


def test_the_ranking_request_scores_every_method_after_their_maps(make, count_scoring):
    widget, view = make(methods=["gradients", "gradcam", "input_x_gradient"], prefetch=False)
    c = widget.selection["class_index"]
    view.want(0, ["gradcam", "input_x_gradient"], c)
    view.ask_scores(0, ["gradients", "gradcam", "input_x_gradient"], c)
    widget.wait()
    assert sorted(count_scoring) == sorted(
        [(c, "gradients"), (c, "gradcam"), (c, "input_x_gradient")]
    )
    cards = {m["method"]: m["card"] for m, _ in view.messages("scores")}
    assert set(cards) == {"gradients", "gradcam", "input_x_gradient"}
    assert cards["input_x_gradient"]["completeness"] is not None
    assert cards["gradcam"]["completeness"] is None


def test_a_new_selection_drops_the_stale_scoring(make, slow_model, softmax_cnn, count_scoring):
    """While image 1's maps compute, the user moves on to image 2: image 1's figures are never
    computed (its maps may be), image 2's are."""
    model = slow_model(softmax_cnn)
    widget, view = make(model=model, prefetch=False)
    model.hold()  # the model now computes slower than any click
    try:
        calls = model.calls
        view.click(image=1)
        deadline = time.monotonic() + 60
        while model.calls == calls and time.monotonic() < deadline:  # image 1's maps started
            time.sleep(0.01)
        assert widget._state.running is not None and widget._state.running.image == 1
        view.click(image=2)
    finally:
        model.release()
    widget.wait(timeout=120)
    assert (1, widget._state.top_class(1), "gradients") in widget._state.cache  # maps: yes
    assert [image for image, _, _ in widget._state.cards] == [0, 2]  # figures: no
    assert [m["image"] for m, _ in view.messages("scores")] == [0, 2]
    assert len(count_scoring) == 2


def test_the_sanity_button_runs_the_check_on_the_worker(make, pictures, softmax_cnn):
    widget, view = make(prefetch=False)
    weights = [w.copy() for w in softmax_cnn.get_weights()]
    s = widget.selection
    view.ask_sanity(s["image"], s["method"], s["class_index"])
    widget.wait()
    ((content, _),) = view.messages("sanity")
    expected = metrics.sanity_check(
        "gradients", softmax_cnn, preprocess(pictures[:1]), [s["class_index"]]
    )[0][0]
    assert content["check"] == expected.to_dict()
    assert content["check"]["layers"] and content["check"]["threshold"] == 0.5
    assert widget.check_sanity() == expected  # kept: no second run
    assert len(view.messages("sanity")) == 1
    assert all((a == b).all() for a, b in zip(weights, softmax_cnn.get_weights(), strict=True))


def test_bad_figure_requests_change_nothing(make):
    widget, view = make(prefetch=False)
    before = dict(widget._state.cards)
    for content in (
        {"kind": "scores", "image": 99, "methods": ["gradients"], "class_index": 0},
        {"kind": "scores", "image": 0, "methods": ["nope"], "class_index": 0},
        {"kind": "sanity", "image": 0, "method": "gradients", "class_index": 99},
        {"kind": "sanity", "image": 0, "method": "gradients"},
    ):
        view.send_raw(content)
    widget.wait()
    assert widget._state.cards == before and view.messages("sanity") == []
    assert widget._state.sanity_wanted is None


def test_metrics_off_scores_nothing(make, count_scoring):
    widget, view = make(metrics=False, prefetch=False)
    assert count_scoring == [] and view.messages("scores") == []
    assert widget.meta["metrics"] is False and widget.meta["sanity"] is True
