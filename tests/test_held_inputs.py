"""A model's other inputs on the faces: ``model_inputs=`` (grid, widget) and ``--model-inputs``."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from builders import gap_dense, image_and_metadata

import saliency_widgets as sw
from saliency_widgets import cli, grid
from saliency_widgets._held_inputs import held_inputs
from saliency_widgets._messages import InputError
from saliency_widgets.inspection import explained_model
from saliency_widgets.widget import SaliencyWidget

RNG = np.random.default_rng(5)
IMAGES = RNG.integers(0, 256, (4, 12, 12, 3)).astype(np.uint8)
META = RNG.normal(scale=2.0, size=(4, 4)).astype(np.float32)


def metadata(images: np.ndarray) -> dict[str, np.ndarray]:
    """The metadata of the images (a function of them, as a face calls it)."""
    return {"meta": META[: len(images)]}


@pytest.fixture(scope="module")
def model():
    return image_and_metadata()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            None,
            "the model takes 2 inputs ['img', 'meta']; give the ones other than the images with "
            "model_inputs= (a dict of arrays by input name, or a function images -> dict) in "
            "Python, :model-inputs: module:callable in a directive, --model-inputs "
            "module:callable on the command line",
        ),
        ({"age": META}, "model-inputs: no value for input 'meta'; the model takes ['img', 'meta']"),
        ({"meta": META, "age": META}, "model-inputs: 'age' is not one of the model's other inputs"),
        ({"meta": META[:3]}, "model-inputs: 'meta' has shape (3, 4); expected 4 rows (one per"),
        (lambda images: [META], "model-inputs: expected a dict by input name, got list"),
        (
            lambda images: 1 / 0,
            "model-inputs: the function failed on the images: ZeroDivisionError",
        ),
        ("not a reference", "model-inputs: 'not a reference' is not a module:callable reference"),
    ],
)
def test_other_inputs_that_do_not_fit_are_refused(model, given, message: str) -> None:
    with pytest.raises(InputError) as error:
        held_inputs(model, given, IMAGES)
    assert str(error.value).startswith(message)


def test_one_row_serves_every_image_and_one_input_models_take_none(model) -> None:
    held = held_inputs(model, {"meta": META[1]}, IMAGES)
    assert held is not None and held.explained == "img"
    np.testing.assert_array_equal(held.values["meta"], np.repeat(META[1:2], 4, axis=0))
    fed = held.feed(IMAGES[2:], slice(2, 4))
    assert fed["img"] is not None and np.array_equal(fed["meta"], META[1:3] * 0 + META[1])
    assert held_inputs(gap_dense(), None, IMAGES) is None
    with pytest.raises(InputError, match=r"^model-inputs: the model takes one input"):
        held_inputs(gap_dense(), {"meta": META}, IMAGES)


def test_a_grid_explains_each_image_with_its_own_metadata(model) -> None:
    x = IMAGES.astype(np.float32) / 255.0
    _, result = grid.make_grid(
        model=model,
        images=x,
        options=grid.GridOptions.from_strings({"classes": "top-2"}),
        model_inputs=metadata,
    )
    _, expected = sw.gradients(model, {"img": x, "meta": META}, result.indices)
    np.testing.assert_allclose(result.maps, expected, atol=1e-6)
    _, unlike = sw.gradients(model, {"img": x, "meta": META[::-1].copy()}, result.indices)
    assert np.abs(unlike - expected).max() > 0.05


def test_the_widget_predicts_and_explains_with_the_images_metadata(model) -> None:
    images = IMAGES.astype(np.float32) / 255.0
    widget = SaliencyWidget(model, images, model_inputs=metadata, prefetch=False)
    try:
        widget.wait(timeout=120)
        logits = explained_model(model).model([images, META]).numpy()
        probabilities = sw.predict.scores_to_probabilities(logits, "softmax")
        np.testing.assert_allclose(widget.probabilities, probabilities, rtol=1e-4, atol=1e-6)
        widget.select(image=2, class_index=1)
        widget.wait(timeout=120)
        x = tf.constant(images[2:3])
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = explained_model(model).model([x, tf.constant(META[2:3])])[0, 1]
        grads = np.abs(tape.gradient(score, x).numpy()[0]).max(axis=-1)
        np.testing.assert_allclose(widget.current_map(), grads / grads.max(), atol=1e-5)
    finally:
        widget.close()


def test_the_command_line_takes_model_inputs_by_reference(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "metadata_models.py").write_text(
        textwrap.dedent(
            """
            import numpy as np
            from builders import image_and_metadata

            def build():
                return image_and_metadata()

            def metadata(images):
                return {"meta": np.linspace(-2, 2, 4 * len(images)).reshape(-1, 4)}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "images"
    folder.mkdir()
    from PIL import Image

    for i, image in enumerate(IMAGES):
        Image.fromarray(image).save(folder / f"p{i}.png")
    out = tmp_path / "grid.png"
    common = ["render", "--model", "metadata_models:build", "--images", str(folder / "p*.png")]
    status = cli.main([*common, "--model-inputs", "metadata_models:metadata", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    import metadata_models

    expected, _ = grid.make_grid(
        model="metadata_models:build",
        images=str(folder / "p*.png"),
        model_inputs=metadata_models.metadata,
    )
    assert out.read_bytes() == expected
    assert cli.main([*common, "--out", str(tmp_path / "refused.png")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("saliency-widgets render: error: the model takes 2 inputs")
    assert "--model-inputs module:callable on the command line" in error
    sys.modules.pop("metadata_models", None)
