"""Gradient-weighted CAMs against closed forms on heads whose gradients are known."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import flatten_head, gap_dense, small_vit

import saliency_widgets as sw
from saliency_widgets.methods import METHODS, cams


def features_and_head(model: keras.Model) -> tuple[keras.Model, np.ndarray, np.ndarray]:
    features = keras.Model(model.input, model.get_layer("features").output)
    kernel, bias = model.get_layer("head").get_weights()
    return features, kernel, bias


INDICES = np.array([[0, 3], [1, 1], [2, 0], [3, 2], [0, 1], [2, 3], [1, 0]])


def test_cam_is_the_class_weighted_sum_of_feature_maps(images):
    model = gap_dense()
    features, kernel, _ = features_and_head(model)
    a = np.asarray(features(images))  # (B, 10, 10, 6)
    _, maps = cams.cam(model, images, INDICES)
    expected = np.einsum("bhwc,bck->bhwk", a, kernel[:, INDICES].transpose(1, 0, 2))
    assert maps.shape == (7, 10, 10, 2)
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    assert (expected < 0).any()  # CAM is signed: no ReLU


def test_gradcam_and_gradcampp_on_gap_dense_have_closed_forms(images):
    model = gap_dense(seed=1)
    features, kernel, _ = features_and_head(model)
    a = np.asarray(features(images))
    w = kernel[:, INDICES].transpose(1, 0, 2)  # (B, c, K)
    # dS/dA_ij = w / (h w) everywhere: Grad-CAM weights are w / 100.
    _, grad_maps = cams.gradcam(model, images, INDICES)
    expected = np.maximum(np.einsum("bhwc,bck->bhwk", a, w) / 100, 0)
    np.testing.assert_allclose(grad_maps, expected, rtol=1e-4, atol=1e-7)
    # Constant gradients make the Grad-CAM++ alphas uniform (1 / hw): weights relu(w) / hw.
    _, pp_maps = cams.gradcampp(model, images, INDICES)
    expected_pp = np.maximum(np.einsum("bhwc,bck->bhwk", a, np.maximum(w, 0)) / 100, 0)
    np.testing.assert_allclose(pp_maps, expected_pp, rtol=1e-4, atol=1e-7)
    assert not np.allclose(grad_maps, pp_maps)


def reference_gradients(model, images, indices):
    features = keras.Model(model.input, model.get_layer("features").output)
    rest = model.layers[model.layers.index(model.get_layer("features")) + 1 :]
    a = tf.constant(features(images))
    grads = []
    for k in range(indices.shape[1]):
        with tf.GradientTape() as tape:
            tape.watch(a)
            h = a
            for layer in rest:
                h = layer(h)
            score = tf.reduce_sum(tf.gather(h, indices[:, k], batch_dims=1))
        grads.append(tape.gradient(score, a).numpy())
    return a.numpy(), np.stack(grads, axis=1)  # (B, h, w, c), (B, K, h, w, c)


def test_gradcam_and_gradcampp_match_hand_written_formulas(images):
    model = flatten_head()
    indices = np.array([[0], [1], [2], [0], [1], [2], [0]])
    a, g = reference_gradients(model, images, indices)
    _, maps = cams.gradcam(model, images, indices, layer="features")
    weights = g.mean(axis=(2, 3))  # (B, K, c)
    np.testing.assert_allclose(
        maps, np.maximum(np.einsum("bhwc,bkc->bhwk", a, weights), 0), rtol=1e-4, atol=1e-7
    )
    _, signed = cams.gradcam(model, images, indices, layer="features", relu=False)
    assert np.asarray(signed).min() < 0

    # Grad-CAM++ (Chattopadhyay et al., eq. 19 and the authors' normalisation), in numpy.
    total = a.sum(axis=(1, 2))[:, None, None, None, :]
    denominator = 2 * g**2 + g**3 * total
    alphas = np.where(denominator != 0, g**2 / np.where(denominator != 0, denominator, 1), 0)
    norm = alphas.sum(axis=(2, 3), keepdims=True)
    alphas = np.where(norm != 0, alphas / np.where(norm != 0, norm, 1), 0)
    pp_weights = (alphas * np.maximum(g, 0)).sum(axis=(2, 3))
    expected = np.maximum(np.einsum("bhwc,bkc->bhwk", a, pp_weights), 0)
    _, pp = cams.gradcampp(model, images, indices, layer="features")
    np.testing.assert_allclose(pp, expected, rtol=1e-3, atol=1e-6)


def recovered_weights(activations, maps):
    """The channel weights ``w`` of signed maps ``Σ_c w_kc A_c``, by least squares.

    The 6 feature maps of ``gap_dense`` are linearly independent over 100 positions, so maps
    of that form determine their weights exactly.
    """
    b, h, w, c = activations.shape
    out = np.empty((b, maps.shape[-1], c))
    for i in range(b):
        basis = activations[i].reshape(h * w, c)
        out[i] = np.linalg.lstsq(basis, np.asarray(maps[i]).reshape(h * w, -1), rcond=None)[0].T
    return out


def test_hirescam_and_xgradcam_on_a_gap_dense_head_equal_gradcam(images):
    """GAP + Dense: ∂S/∂A_ijc = w_c / (h·w) at every position, so HiResCAM's Σ_c g_c ⊙ A_c is
    Grad-CAM's map and XGrad-CAM's weights Σ_ij (A_ij / Σ A) g_ij are the head's w / (h·w)."""
    model = gap_dense(seed=11)
    features, kernel, _ = features_and_head(model)
    a = np.asarray(features(images))
    head_weights = kernel[:, INDICES].transpose(1, 2, 0) / 100  # (B, K, c)
    _, grad = cams.gradcam(model, images, INDICES, relu=False)
    _, hires = cams.hirescam(model, images, INDICES, relu=False)
    _, xgrad = cams.xgradcam(model, images, INDICES, relu=False)
    np.testing.assert_allclose(hires, grad, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(recovered_weights(a, xgrad), head_weights, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(recovered_weights(a, hires), head_weights, rtol=1e-3, atol=1e-6)
    assert np.asarray(grad).min() < 0 < np.asarray(grad).max()
    _, positive = cams.hirescam(model, images, INDICES)
    np.testing.assert_allclose(positive, np.maximum(grad, 0), rtol=1e-4, atol=1e-7)


def test_hirescam_xgradcam_and_layercam_match_their_formulas_where_gradients_vary(images):
    """A Flatten head: the gradient differs per position, and the three CAMs part ways."""
    model = flatten_head()
    indices = np.array([[0, 2], [1, 0], [2, 1], [0, 0], [1, 2], [2, 2], [0, 1]])
    a, g = reference_gradients(model, images, indices)  # (B, h, w, c), (B, K, h, w, c)
    hires_expected = np.einsum("bkhwc,bhwc->bhwk", g, a)
    _, hires = cams.hirescam(model, images, indices, layer="features", relu=False)
    np.testing.assert_allclose(hires, hires_expected, rtol=1e-4, atol=1e-6)

    share = a / np.where(a.sum(axis=(1, 2)) > 0, a.sum(axis=(1, 2)), 1)[:, None, None]
    x_weights = np.einsum("bhwc,bkhwc->bkc", share, g)  # Σ_ij (A_ij / Σ A) g_ij
    _, xgrad = cams.xgradcam(model, images, indices, layer="features")
    expected = np.maximum(np.einsum("bhwc,bkc->bhwk", a, x_weights), 0)
    np.testing.assert_allclose(xgrad, expected, rtol=1e-4, atol=1e-6)

    # LayerCAM: relu(Σ_c relu(g_c) ⊙ A_c), elementwise.
    layer_expected = np.maximum(np.einsum("bkhwc,bhwc->bhwk", np.maximum(g, 0), a), 0)
    _, layer = cams.layercam(model, images, indices, layer="features")
    np.testing.assert_allclose(layer, layer_expected, rtol=1e-4, atol=1e-6)
    assert (g < 0).any() and (g > 0).any()
    assert not np.allclose(layer, np.maximum(hires, 0), atol=1e-4)  # relu(g) is not g
    _, grad = cams.gradcam(model, images, indices, layer="features")
    assert not np.allclose(grad, np.maximum(hires, 0), atol=1e-4)


def nested_and_flat(seed: int = 5) -> tuple[keras.Model, keras.Model]:
    """The same network twice: a backbone nested in a Sequential, and built flat."""

    def backbone_layers():
        return [
            keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c1"),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="c2"),
        ]

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((12, 12, 3))
    h = inputs
    for layer in backbone_layers():
        h = layer(h)
    backbone = keras.Model(inputs, h, name="backbone")
    nested = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            backbone,
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    flat_inputs = keras.Input((12, 12, 3))
    h = flat_inputs
    for layer in backbone_layers():
        h = layer(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    flat = keras.Model(flat_inputs, keras.layers.Dense(4, activation="softmax")(h))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in nested.get_weights()]
    weights[5] = np.abs(weights[5]) + 0.5  # BN moving variance
    nested.set_weights(weights)
    flat.set_weights(weights)
    return nested, flat


# Every registered method that takes a feature layer and returns maps at its resolution.
LAYER_MAPS = [
    name
    for name, spec in METHODS.items()
    if "layer" in {p.name for p in spec.parameters} and name != "guided_gradcam"
]


def test_every_cam_is_checked_on_a_nested_backbone():
    assert len(LAYER_MAPS) == 9 and {"ablationcam", "eigencam", "layercam"} <= set(LAYER_MAPS)


@pytest.mark.parametrize("method", LAYER_MAPS)
def test_cams_on_a_nested_backbone_equal_the_flat_network(images, method):
    nested, flat = nested_and_flat()
    shortcut = getattr(sw, method)
    indices = INDICES[:, :1]
    ref_logits, ref = shortcut(flat, images, indices, resizing=False, postprocessing=None)
    logits, maps = shortcut(nested, images, indices, resizing=False, postprocessing=None)
    assert maps.shape == (7, 5, 5, 1)  # c2: the last 4-D activation, found inside the backbone
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(maps, ref, rtol=1e-4, atol=1e-6)
    assert np.abs(ref).max() > 1e-3
    # Naming the nested layer by path or by bare name gives the same maps.
    _, named = shortcut(
        nested, images, indices, resizing=False, postprocessing=None, layer="backbone/c1"
    )
    _, flat_named = shortcut(flat, images, indices, resizing=False, postprocessing=None, layer="c1")
    assert named.shape == (7, 12, 12, 1)
    np.testing.assert_allclose(named, flat_named, rtol=1e-4, atol=1e-6)


def test_gradcam_on_resnet50v2_nested_in_sequential_equals_the_flat_build():
    """The transfer-learning model of tf-keras-vis #71/#63/#48 and tf-explain #116."""
    keras.utils.set_random_seed(0)
    shape = (64, 64, 3)
    backbone = keras.applications.ResNet50V2(include_top=False, weights=None, input_shape=shape)
    nested = keras.Sequential(
        [backbone, keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)]
    )
    twin = keras.applications.ResNet50V2(include_top=False, weights=None, input_shape=shape)
    head = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(twin.output))
    flat = keras.Model(twin.input, head)
    flat.set_weights(nested.get_weights())
    x = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype(np.float32)
    spatial = sw.inspection.spatial_model(nested)
    assert spatial.path == f"{backbone.name}/post_relu"
    _, maps = sw.gradcam(nested, x, [[0], [2]], resizing=False, postprocessing=None)
    _, ref = sw.gradcam(flat, x, [[0], [2]], resizing=False, postprocessing=None)
    assert maps.shape == (2, 2, 2, 1)
    np.testing.assert_allclose(maps, ref, rtol=1e-3, atol=1e-6)
    assert ref.max() > 0


def test_softmax_heads_are_explained_as_logits(images):
    linear = gap_dense(seed=7)
    softmax = gap_dense(seed=7, activation="softmax")
    for name in ("gradcam", "cam"):
        shortcut = getattr(sw, name)
        ref_logits, ref = shortcut(linear, images, INDICES, resizing=False, postprocessing=None)
        logits, maps = shortcut(softmax, images, INDICES, resizing=False, postprocessing=None)
        np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(maps, ref, rtol=1e-4, atol=1e-7)
    assert softmax.layers[-1].activation is keras.activations.softmax


def test_engine_resizes_low_resolution_maps_and_normalises(images):
    model = gap_dense(seed=8)
    _, maps = sw.gradcam(model, images, INDICES)
    _, low = cams.gradcam(model, images, INDICES)
    assert maps.shape == (7, 12, 12, 2) and low.shape == (7, 10, 10, 2)
    # The registered postprocessing (min-max) runs on the 10x10 maps, then the bilinear resize.
    expected = tf.image.resize(sw.filters.normalize(low), (12, 12))
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
    assert maps.min() >= 0 and maps.max() <= 1 and maps.max() > 0.9


def test_methods_compile_with_xla(images):
    model = gap_dense(seed=9)
    _, eager = cams.gradcampp(model, images, INDICES)
    _, compiled = sw.explain(
        cams.gradcampp, model, images, INDICES, resizing=False, jit_compile=True
    )
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=1e-7)


def test_parameter_errors(images):
    model = gap_dense()
    with pytest.raises(ValueError, match="channel_batch"):
        cams.scorecam(model, images, INDICES, channel_batch=0)
    with pytest.raises(ValueError, match="top_channels"):
        cams.scorecam(model, images, INDICES, top_channels=0)
    with pytest.raises(ValueError, match="activation"):
        cams.scorecam(model, images, INDICES, activation="tanh")
    with pytest.raises(ValueError, match="not found"):
        sw.gradcam(model, images, 0, layer="missing")


def vit_pictures() -> np.ndarray:
    return np.random.default_rng(4).uniform(size=(3, 32, 32, 3)).astype(np.float32)


def test_gradcam_on_a_token_layer_equals_a_hand_written_tape_on_the_folded_grid():
    model = small_vit(seed=2)
    x, units = vit_pictures(), np.array([[0, 3], [1, 1], [2, 0]])
    block = keras.Model(model.input, [model.get_layer("block1_norm1").output, model.output])
    expected = []
    for k in range(2):
        with tf.GradientTape() as tape:
            tokens, logits = block(x)  # (3, 65, 16): the class token first
            score = tf.gather(logits, units[:, k], batch_dims=1)
        grads = tape.gradient(score, tokens)[:, 1:].numpy().reshape(3, 8, 8, 16)
        grid = tokens[:, 1:].numpy().reshape(3, 8, 8, 16)
        weights = grads.mean(axis=(1, 2))  # over the 64 patch tokens only
        expected.append(np.maximum(np.einsum("bhwc,bc->bhw", grid, weights), 0))
    expected = np.stack(expected, axis=-1)
    assert expected.max() > 1e-3 and (expected == 0).any()
    _, maps = cams.gradcam(model, x, units, layer="block1_norm1")
    assert maps.shape == (3, 8, 8, 2)
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)
    # Through the engine, resized to the input the way every map is (bilinear).
    _, resized = sw.gradcam(model, x, units, layer="block1_norm1", postprocessing=None)
    np.testing.assert_allclose(
        resized, tf.image.resize(expected, (32, 32)).numpy(), rtol=1e-5, atol=1e-5
    )


def test_the_class_token_does_not_reach_a_token_layers_map():
    """A class token of ±10⁴ stands out in the residual stream; no cell of the
    folded grid holds it, and the map is the hand-written one on the patch tokens alone."""
    model = small_vit(seed=2)
    x = vit_pictures()
    token = model.get_layer("class_token")
    saved = token.get_weights()
    try:
        token.set_weights([np.where(np.arange(16) % 2, 1e4, -1e4).reshape(1, 1, 16)])
        tokens = keras.Model(model.input, model.get_layer("block1_output").output)(x).numpy()
        assert np.abs(tokens[:, 0]).min() > 5000 > 100 > np.abs(tokens[:, 1:]).max()
        spatial = sw.inspection.spatial_model(model, "block1_output")
        grid, _ = spatial.model(x)
        np.testing.assert_array_equal(grid, tokens[:, 1:].reshape(3, 8, 8, 16))
        _, maps = cams.hirescam(model, x, [[0], [1], [2]], layer="block1_output", relu=False)
        assert np.abs(maps).max() < 100
    finally:
        token.set_weights(saved)


@pytest.mark.parametrize("method", [*LAYER_MAPS, "guided_gradcam"])
def test_every_cam_runs_on_a_vit_from_its_last_token_layer(method):
    model = small_vit(seed=2)
    x = vit_pictures()
    shortcut = getattr(sw, method)
    _, coarse = shortcut(model, x, [[0], [1], [2]], resizing=False, postprocessing=None)
    expected = (3, 32, 32, 1) if method == "guided_gradcam" else (3, 8, 8, 1)
    assert coarse.shape == expected
    assert np.isfinite(coarse).all() and np.abs(coarse).max() > 0
    # The 8 x 8 grid of block1_norm1, not the 8 x 8 patch convolution.
    _, named = shortcut(
        model, x, [[0], [1], [2]], resizing=False, postprocessing=None, layer="block1_norm1"
    )
    np.testing.assert_allclose(coarse, named, rtol=1e-5, atol=1e-7)
    _, maps = shortcut(model, x, [[0], [1], [2]])
    assert maps.shape == (3, 32, 32, 1) and np.isfinite(maps).all()


def test_the_default_vit_layer_is_the_last_token_layer_whose_patches_reach_the_head():
    model = small_vit(seed=2)
    x = vit_pictures()
    options = {"resizing": False, "postprocessing": None}
    _, default = sw.gradcam(model, x, 0, **options)
    _, chosen = sw.gradcam(model, x, 0, layer="block1_norm1", **options)
    _, patches = sw.gradcam(model, x, 0, layer="patches", **options)
    np.testing.assert_array_equal(default, chosen)
    assert default.max() > 1e-3 and not np.allclose(default, patches, atol=1e-4)
    # After the last attention the class-token head reads no patch token: a blank map.
    _, blank = sw.gradcam(model, x, 0, layer="encoder_norm", **options)
    assert not blank.any()
