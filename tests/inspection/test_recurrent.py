"""Recurrent image models: the CAM family and LRP refuse them by layer name, before tracing."""

from __future__ import annotations

import numpy as np
import pytest

import saliency_widgets as sw
from saliency_widgets.inspection import recurrent_layers
from tests.builders import convlstm_strips, gap_dense, rows_lstm
from tests.plain_errors import check_plain_error

X = np.random.default_rng(3).random((2, 12, 12, 3), dtype=np.float32)
CAM_REFUSAL = (
    "the model is recurrent over the image (layer {layer}): from that layer on, activations "
    "are laid out by time step, not by pixel, so no CAM of them is a map of the image. Pass "
    "layer= a spatial layer before it, or use a method that explains any model (gradients, "
    "integrated_gradients, smoothgrad, occlusion or rise)"
)


def test_recurrent_layers_are_found_by_path() -> None:
    assert recurrent_layers(rows_lstm()) == ["'rows_lstm' (LSTM)"]
    assert recurrent_layers(convlstm_strips()) == ["'strips' (ConvLSTM2D)"]
    assert recurrent_layers(gap_dense()) == []


@pytest.mark.parametrize("method", ["gradcam", "scorecam", "eigencam", "guided_gradcam"])
@pytest.mark.parametrize(
    ("build", "layer"),
    [(rows_lstm, "'rows_lstm' (LSTM)"), (convlstm_strips, "'strips' (ConvLSTM2D)")],
)
def test_cams_refuse_a_recurrent_model_naming_the_layer(method: str, build, layer: str) -> None:
    with pytest.raises(ValueError) as error:
        getattr(sw, method)(build(), X, 0)
    assert str(error.value) == "layer=None: " + CAM_REFUSAL.format(layer=layer)
    check_plain_error(error.value)


def test_a_cam_layer_after_the_recurrence_is_refused_and_one_before_it_works() -> None:
    model = convlstm_strips()
    with pytest.raises(ValueError, match=r"^layer='strips': the model is recurrent over the image"):
        sw.gradcam(model, X, 0, layer="strips")
    _, maps = sw.gradcam(model, X, 0, layer="stem", postprocessing=None, verbose=False)
    assert maps.shape == (2, 12, 12, 1) and np.isfinite(maps).all() and maps.max() > 0


def test_lrp_refuses_a_recurrent_model_naming_the_layer() -> None:
    with pytest.raises(ValueError) as error:
        sw.lrp(rows_lstm(), X, 0)
    assert str(error.value).startswith(
        "rule='composite': LRP has no rule for the recurrent layer 'rows_lstm' (LSTM): a "
        "recurrent cell's gates multiply activations"
    ) or str(error.value).startswith("LRP has no rule for the recurrent layer 'rows_lstm' (LSTM)")
    check_plain_error(error.value)


@pytest.mark.parametrize("method", ["gradients", "integrated_gradients", "occlusion"])
def test_gradient_and_perturbation_methods_explain_recurrent_models(method: str) -> None:
    for build in (rows_lstm, convlstm_strips):
        _, maps = getattr(sw, method)(build(), X, 0, verbose=False)
        assert maps.shape == (2, 12, 12, 1) and np.isfinite(maps).all() and maps.max() > 0
