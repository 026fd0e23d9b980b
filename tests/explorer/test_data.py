"""The explorer's data: what the engine computes for it, and that every entry point agrees."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import tensorflow as tf
from builders import small_cnn

from saliency_widgets import display, explorer
from saliency_widgets.explorer import _encode
from saliency_widgets.predict import predict
from saliency_widgets.widget import _compute


@pytest.fixture(scope="module")
def tiny():
    model = small_cnn()
    images = np.random.default_rng(0).integers(0, 255, (4, 12, 12, 3)).astype(np.uint8)
    return model, images, images.astype(np.float32) / 255.0


def test_top_classes_and_signed_gradients_are_the_analytic_ones(tiny):
    model, images, x = tiny
    data = explorer.explain_top_k(model, images, x, methods=["gradients"], top_k=2)
    logits = predict(model, x).logits
    np.testing.assert_array_equal(data.indices, np.argsort(-logits, axis=1)[:, :2])
    np.testing.assert_allclose(  # no softmax head: the scores are shown as they are
        data.probabilities, np.take_along_axis(logits, data.indices, 1), rtol=1e-6
    )
    assert data.activation == "none"
    inputs = tf.constant(x)
    for k in range(2):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            chosen = tf.gather(model(inputs), data.indices[:, k], axis=1, batch_dims=1)
        gradient = tape.gradient(chosen, inputs).numpy()
        # Signed: the value of the channel with the largest magnitude, so that |m| is
        # Simonyan et al.'s max-of-absolute-values map.
        dominant = np.take_along_axis(gradient, np.abs(gradient).argmax(-1)[..., None], -1)
        np.testing.assert_allclose(data.methods[0].maps[:, k], dominant[..., 0], rtol=1e-5)
        np.testing.assert_allclose(
            np.abs(data.methods[0].maps[:, k]), np.abs(gradient).max(-1), rtol=1e-5
        )
    assert (data.methods[0].maps < 0).any() and (data.methods[0].maps > 0).any()


def test_maps_match_the_widgets_own_engine_calls_and_the_registry_defaults(tiny):
    import saliency_widgets as sw

    model, images, x = tiny
    signed = explorer.explain_top_k(model, images, x, methods=["gradients", "gradcam"], top_k=3)
    for i in range(len(x)):
        classes = tuple(int(c) for c in signed.indices[i])
        for j, name in enumerate(("gradients", "gradcam")):
            widget = _compute.explain_classes(model, x[i], classes, name)
            np.testing.assert_allclose(signed.methods[j].maps[i], widget, rtol=1e-5, atol=1e-7)
    # The absolute view of the signed map is the registry's method itself (Simonyan et al.'s
    # max-of-magnitudes map), before any filter: the same display levels.
    _, default = sw.gradients(model, x, signed.indices, postprocessing=None)
    np.testing.assert_allclose(
        np.abs(signed.methods[0].maps), np.moveaxis(default, -1, 1), rtol=1e-5
    )
    for i in range(len(x)):
        for k in range(3):
            np.testing.assert_array_equal(
                display.levels(signed.methods[0].maps[i, k]), display.levels(default[i, ..., k])
            )


def test_quantised_maps_stay_close_to_the_widgets_display(bundled_data):
    # What the 9-step storage costs against the unquantised maps, at the default clip.
    shown = explorer.shown_maps(bundled_data)
    errors = []
    for method in bundled_data.methods:
        for i in range(len(bundled_data.images)):
            for k in range(3):
                for sign in ("absolute", "positive"):
                    exact = display.levels(method.maps[i, k], sign=sign).astype(int)
                    stored = display.levels(shown[method.name][i, k], sign=sign).astype(int)
                    errors.append(np.abs(exact - stored).mean())
    assert np.mean(errors) < 12  # of 255 (16 images, 4 methods, top-3: 8.8; 7.6 at 11 steps)
    assert np.max(errors) < 25


def test_params_reach_the_methods_that_take_them(tiny):
    model, images, x = tiny
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        explorer.explain_top_k(model, images, x, methods=["gradients", "nope"])
    few = explorer.explain_top_k(
        model,
        images,
        x,
        methods=["smoothgrad", "gradients"],
        top_k=1,
        params={"samples": 2, "seed": 3},
    )
    more = explorer.explain_top_k(
        model, images, x, methods=["smoothgrad"], top_k=1, params={"samples": 3, "seed": 3}
    )
    assert not np.allclose(few.methods[0].maps, more.methods[0].maps)
    assert np.isfinite(few.methods[1].maps).all()


def _payload(text: str) -> dict:
    found = re.search(r'<script type="application/json">(.*?)</script>', text, flags=re.S)
    return json.loads(found.group(1))


def test_save_html_and_explore_write_the_same_explorer(tmp_path):
    from saliency_widgets import cli, zoo
    from saliency_widgets.widget import SaliencyWidget

    samples = zoo.load_samples(4)
    widget = SaliencyWidget(
        zoo.load_shapes_model(),
        samples.images,
        preprocess=zoo.preprocess,
        class_names=zoo.class_names(),
        top_k=3,
        prefetch=False,
    )
    try:
        saved = widget.save_html(tmp_path / "widget.html", methods="gradients")
    finally:
        widget.close()
    out = tmp_path / "cli.html"
    status = cli.main(
        [
            "explore",
            "--model",
            "saliency_widgets.zoo:load_shapes_model",
            "--images",
            "saliency_widgets.zoo:load_samples(4)",
            "--preprocess",
            "saliency_widgets.zoo:preprocess",
            "--class-names",
            "saliency_widgets.zoo:class_names",
            "--classes",
            "top-3",
            "--methods",
            "gradients",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    from_widget, from_cli = (_payload(p.read_text()) for p in (saved, out))
    for key in ("predictions", "maps", "images"):
        assert from_widget[key] == from_cli[key], key
    assert from_widget["meta"]["classNames"] == from_cli["meta"]["classNames"]
    assert from_widget["meta"]["view"] == from_cli["meta"]["view"]
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_explore_refuses_grid_only_options_by_name(tmp_path, capsys):
    from saliency_widgets import cli

    status = cli.main(
        [
            "explore",
            "--model",
            "saliency_widgets.zoo:load_shapes_model",
            "--images",
            "saliency_widgets.zoo:load_samples(2)",
            "--panels",
            "image,map",
            "--out",
            str(tmp_path / "x.html"),
        ]
    )
    assert status == 1
    assert "panels: a grid option that an explorer does not use" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
    assert _encode.DEFAULT_STEPS == 9
