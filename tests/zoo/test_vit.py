"""Tests for the bundled shapes ViT (saliency_widgets/zoo/vit.py and ``zoo.load_vit_model``)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import saliency_widgets as sw
from saliency_widgets import zoo
from saliency_widgets.inspection import spatial_model
from saliency_widgets.metrics import energy_in_mask
from saliency_widgets.widget import SaliencyWidget
from saliency_widgets.zoo.vit import vit_weights_path

ACCURACY_FLOOR = 0.70  # on 64 held-out images (train_vit measured 83.6 % on 512)
SAMPLES = zoo.load_samples(64)


@pytest.fixture(scope="module")
def vit() -> keras.Model:
    return zoo.load_vit_model()


def test_the_weights_file_is_small_and_loads_into_a_fresh_model(vit: keras.Model) -> None:
    assert vit_weights_path().stat().st_size < 1_300_000
    other = zoo.load_vit_model()
    assert other is not vit
    x = zoo.preprocess(SAMPLES.images[:4])
    np.testing.assert_allclose(other.predict(x, verbose=0), vit.predict(x, verbose=0), atol=1e-6)


def test_the_vit_classifies_held_out_shapes(vit: keras.Model) -> None:
    probabilities = vit.predict(zoo.preprocess(SAMPLES.images), verbose=0)
    assert probabilities.shape == (64, len(zoo.CLASS_NAMES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == SAMPLES.labels))
    assert accuracy >= ACCURACY_FLOOR


def test_gradcam_reads_a_token_layer_and_lands_on_the_object(vit: keras.Model) -> None:
    chosen = spatial_model(vit)
    assert chosen.tokens is not None
    assert (chosen.tokens.prefix, chosen.tokens.height, chosen.tokens.width) == (1, 8, 8)
    assert chosen.path == "block2_norm1"  # not the 4-D patch embedding, though the head is softmax
    images, masks = zoo.preprocess(SAMPLES.images[:8]), SAMPLES.masks[:8]
    _, maps = sw.gradcam(vit, images, SAMPLES.labels[:8], verbose=False)
    maps = np.asarray(maps)
    assert maps.shape[:3] == (8, 64, 64)
    energy = energy_in_mask(maps, masks)
    share = masks.mean(axis=(1, 2))
    assert np.mean(energy) > 1.5 * np.mean(share)  # measured: 0.205 against 0.117


def test_the_widget_explains_the_vit_with_gradcam(vit: keras.Model) -> None:
    widget = SaliencyWidget(
        vit, SAMPLES.images[:2], preprocess=zoo.preprocess, method="gradcam", prefetch=False
    )
    try:
        widget.wait(timeout=120)
        shown = widget.current_map()
        assert shown.shape[:2] == (64, 64)
        assert np.isfinite(shown).all() and shown.max() > 0
        x = zoo.preprocess(SAMPLES.images[:1])
        top = int(vit.predict(x, verbose=0).argmax())
        _, expected = sw.gradcam(vit, x, [top], verbose=False)
        expected = np.asarray(expected)[0].squeeze()
        correlation = np.corrcoef(shown.ravel(), expected.ravel())[0, 1]
        assert correlation > 0.99  # the engine's Grad-CAM map, from the token layer
    finally:
        widget.close()
