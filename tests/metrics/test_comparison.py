"""Methods compared on the same images: each row is the mean of the method's own scorecards."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from bundled_shapes import shapes_batch, shapes_model

import saliency_widgets as sw
from saliency_widgets import metrics
from saliency_widgets.methods import get_method


def test_rows_are_the_means_of_scorecards_and_sanity_checks_run_separately():
    model = shapes_model()
    batch = shapes_batch()
    x, labels, masks = batch.x[:3], batch.labels[:3], batch.masks[:3]
    names = ["gradients", "integrated_gradients", "gradcam"]
    rows = metrics.compare_methods(model, x, labels, names, masks=masks, sanity=True)
    assert [row.method for row in rows] == names
    for row in rows:
        spec = get_method(row.method)
        _, maps = sw.explain(
            spec.function, model, x, labels, postprocessing=spec.postprocessing, **spec.params
        )
        raw = None
        if row.method == "integrated_gradients":
            raw = sw.integrated_gradients(
                model, x, labels, postprocessing=None, resizing=False, steps=64
            )[1]
        cards = [
            c[0] for c in metrics.scorecard(model, x, maps, labels, masks=masks, attributions=raw)
        ]
        checks = [c[0] for c in metrics.sanity_check(row.method, model, x, labels, maps=maps)]
        assert row.label == spec.label and row.maps == 3 and row.error is None
        assert row.deletion == pytest.approx(np.mean([c.deletion.auc for c in cards]), abs=1e-6)
        assert row.insertion == pytest.approx(np.mean([c.insertion.auc for c in cards]), abs=1e-6)
        assert row.deletion_random == pytest.approx(
            np.mean([c.deletion.random_auc for c in cards]), abs=1e-6
        )
        assert row.gini == pytest.approx(np.mean([c.gini for c in cards]), abs=1e-9)
        assert row.pointing == pytest.approx(np.mean([c.localisation.pointing for c in cards]))
        assert row.energy == pytest.approx(np.mean([c.localisation.energy for c in cards]))
        assert row.mask_share == pytest.approx(masks.mean())
        assert row.sanity == pytest.approx(np.mean([abs(c.correlation) for c in checks]))
        assert row.flagged == sum(not c.depends_on_model for c in checks)
        if raw is None:
            assert row.completeness is None
        else:
            assert row.completeness == pytest.approx(np.mean([c.completeness for c in cards]))
            assert row.completeness < 0.05  # 64 steps on the bundled model
    # Every method is measured from the same random order, images and masks.
    assert len({row.deletion_random for row in rows}) == 1
    assert len({row.mask_share for row in rows}) == 1
    # Grad-CAM's relevance sits on the object more than the vanilla gradient's (as on the
    # Methods page), and both beat a uniform map.
    by = {row.method: row for row in rows}
    assert by["gradcam"].energy > by["gradients"].energy > by["gradients"].mask_share


def test_a_method_that_fails_gets_a_row_that_says_why():
    keras.utils.set_random_seed(0)
    dense = keras.Sequential(
        [keras.Input((12, 12, 3)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    x = np.random.default_rng(0).random((2, 12, 12, 3)).astype("float32")
    failed, gradients = metrics.compare_methods(dense, x, [0, 1], ["gradcam", "gradients"])
    assert failed.method == "gradcam" and failed.maps == 0 and failed.gain is None
    assert failed.error.startswith("ValueError: layer=None: the model has no layer with a 4-D")
    assert gradients.error is None and gradients.maps == 2 and gradients.score == "logit"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            {"methods": ["gradients", "magic"]},
            r"methods: unknown \['magic'\]; expected names among gradients, smoothgrad",
        ),
        ({"methods": "gradients"}, "methods: expected a list of method names"),
        ({"methods": []}, "methods: expected at least one"),
        ({"masks": np.ones((2, 5, 5), bool)}, r"masks must be \(3, 64, 64\)"),
        ({"indices": None}, "indices: expected the class"),
        ({"x": np.zeros((3, 32, 32, 3))}, "size 32x32 but the model expects 64x64"),
    ],
)
def test_inputs_every_method_shares_are_refused_up_front(change, error):
    batch = shapes_batch()
    arguments = {"x": batch.x[:3], "indices": batch.labels[:3], "methods": ["gradients"]}
    arguments.update(change)
    with pytest.raises(ValueError, match=error):
        metrics.compare_methods(shapes_model(), **arguments)
