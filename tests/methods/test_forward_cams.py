"""Score-CAM, Ablation-CAM and Eigen-CAM against their definitions, computed by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from builders import after, flatten_head, gap_dense, small_vit

import saliency_widgets as sw
from saliency_widgets.methods import forward_cams

INDICES = np.array([[0, 3], [1, 1], [2, 0], [3, 2], [0, 1], [2, 3], [1, 0]])


def features_of(model: keras.Model, images: np.ndarray) -> np.ndarray:
    return np.asarray(keras.Model(model.input, model.get_layer("features").output)(images))


def reference_scorecam(model, images, indices, channels=None):
    """The Score-CAM reference code (haofanwang/Score-CAM), one image and channel at a time."""
    features = keras.Model(model.input, model.get_layer("features").output)
    a = np.asarray(features(images))
    out = np.zeros((*a.shape[:3], indices.shape[1]), np.float32)
    for b in range(len(images)):
        for c in range(a.shape[-1]) if channels is None else channels[b]:
            up = tf.image.resize(a[b : b + 1, ..., c : c + 1], (12, 12)).numpy()[0, ..., 0]
            if up.max() == up.min():
                continue
            mask = (up - up.min()) / (up.max() - up.min())
            probabilities = tf.nn.softmax(model(images[b : b + 1] * mask[None, ..., None]))[0]
            for k, unit in enumerate(indices[b]):
                out[b, ..., k] += float(probabilities[unit]) * a[b, ..., c]
    return np.maximum(out, 0)


@pytest.mark.parametrize("channel_batch", [1, 4, 6])
def test_scorecam_matches_the_reference_code(images, channel_batch):
    model = gap_dense(seed=3)
    indices = INDICES[:3]
    _, maps = forward_cams.scorecam(model, images[:3], indices, channel_batch=channel_batch)
    np.testing.assert_allclose(maps, reference_scorecam(model, images[:3], indices), rtol=1e-4)
    assert np.asarray(maps).max() > 0


def test_faster_scorecam_keeps_the_highest_variance_channels(images):
    model = gap_dense(seed=3)
    indices = INDICES[:3]
    features = keras.Model(model.input, model.get_layer("features").output)
    spread = np.asarray(features(images[:3])).var(axis=(1, 2))
    top = np.argsort(-spread, axis=1)[:, :2]
    _, maps = forward_cams.scorecam(model, images[:3], indices, top_channels=2, channel_batch=3)
    np.testing.assert_allclose(maps, reference_scorecam(model, images[:3], indices, top), rtol=1e-4)
    _, every = forward_cams.scorecam(model, images[:3], indices, top_channels=6)
    np.testing.assert_allclose(every, reference_scorecam(model, images[:3], indices), rtol=1e-4)


def reference_ablationcam(model, images, indices):
    """Ablation-CAM one image and one channel at a time: zero channel k of "features", run the
    layers after it, weight (y - y_k) / y, sum the weighted feature maps, keep the positive part."""
    a = features_of(model, images)
    y = np.asarray(after(model, "features", a))
    out = np.zeros((*a.shape[:3], indices.shape[1]), np.float32)
    for k in range(a.shape[-1]):
        ablated = a.copy()
        ablated[..., k] = 0
        y_k = np.asarray(after(model, "features", ablated))
        for b in range(len(images)):
            for j, unit in enumerate(indices[b]):
                weight = (y[b, unit] - y_k[b, unit]) / y[b, unit]
                out[b, ..., j] += weight * a[b, ..., k]
    return np.maximum(out, 0)


def test_ablationcam_weights_are_the_relative_score_drops_on_a_gap_dense_head(images):
    """GAP + Dense: zeroing channel k removes w_k · mean(A_k) from the logit, so the weight is
    w_k · mean(A_k) / y: the closed form, without running the model again."""
    model = gap_dense(seed=12)
    a = features_of(model, images)
    kernel, bias = model.get_layer("head").get_weights()
    y = a.mean(axis=(1, 2)) @ kernel + bias  # (B, L)
    w = kernel[:, INDICES].transpose(1, 2, 0)  # (B, K, c)
    chosen = np.take_along_axis(y, INDICES, axis=1)  # (B, K)
    weights = w * a.mean(axis=(1, 2))[:, None, :] / chosen[..., None]
    expected = np.maximum(np.einsum("bhwc,bkc->bhwk", a, weights), 0)
    _, maps = forward_cams.ablationcam(model, images, INDICES)
    np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-6)
    assert np.asarray(maps).max() > 0 and (chosen < 0).any()  # negative scores flip the weights


@pytest.mark.parametrize("channel_batch", [1, 3, None])
def test_ablationcam_matches_one_ablation_at_a_time_on_a_nonlinear_head(images, channel_batch):
    model = flatten_head(seed=13)
    indices = np.array([[0, 2], [1, 0], [2, 1], [0, 0], [1, 2], [2, 2], [0, 1]])
    _, maps = forward_cams.ablationcam(
        model, images, indices, layer="features", channel_batch=channel_batch
    )
    np.testing.assert_allclose(
        maps, reference_ablationcam(model, images, indices), rtol=1e-4, atol=1e-6
    )


def test_ablationcam_around_a_skip_connection_runs_the_first_layers_again(images):
    keras.utils.set_random_seed(14)
    inputs = keras.Input((12, 12, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="tanh")(inputs)
    b = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="features")(a)
    h = keras.layers.Concatenate()([a, b])
    model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h)))
    assert sw.inspection.head_model(model, "features").takes_inputs
    indices = np.array([[0], [1], [2], [0], [1], [2], [0]])
    _, maps = forward_cams.ablationcam(model, images, indices, layer="features", channel_batch=3)
    # The reference: the whole model with channel k of "features" zeroed by a multiplication.
    scale = keras.Input((4,))
    zeroed = keras.layers.Multiply()([b, keras.layers.Reshape((1, 1, 4))(scale)])
    h = model.layers[-3]([a, zeroed])
    masked = keras.Model([inputs, scale], model.layers[-1](model.layers[-2](h)))
    y = np.asarray(model(images))
    features = np.asarray(keras.Model(inputs, b)(images))
    expected = np.zeros((7, 12, 12, 1), np.float32)
    for k in range(4):
        keep = np.ones((7, 4), np.float32)
        keep[:, k] = 0
        y_k = np.asarray(masked([images, keep]))
        chosen = np.arange(7), indices[:, 0]
        weight = (y[chosen] - y_k[chosen]) / y[chosen]
        expected[..., 0] += weight[:, None, None] * features[..., k]
    np.testing.assert_allclose(maps, np.maximum(expected, 0), rtol=1e-4, atol=1e-5)


def reference_eigencam(a, center):
    """First principal component projection by numpy's SVD, sign chosen so that the map
    correlates positively with the channel-summed activation, positive part kept."""
    out = []
    for image in a:
        flat = image.reshape(-1, image.shape[-1]).astype(np.float64)
        centred = flat - flat.mean(axis=0) if center else flat
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        projection = centred @ vt[0]
        if projection @ flat.sum(axis=1) < 0:
            projection = -projection
        out.append(np.maximum(projection, 0).reshape(image.shape[:2]))
    return np.stack(out)[..., None]


@pytest.mark.parametrize("center", [False, True])
def test_eigencam_is_the_first_principal_component_projection(images, center):
    model = gap_dense(seed=15)
    a = features_of(model, images)
    expected = reference_eigencam(a, center)
    _, maps = forward_cams.eigencam(model, images, INDICES, center=center)
    assert maps.shape == (7, 10, 10, 2)
    scale = expected.max()
    np.testing.assert_allclose(maps[..., :1], expected, rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(maps[..., 1], maps[..., 0])  # no class enters
    # Non-negative activations and no centring: v₁ has one sign and nothing is cut off.
    if not center:
        assert np.asarray(maps).min() >= 0 and (np.asarray(maps) > 0).mean() > 0.5


@pytest.mark.parametrize("center", [False, True])
def test_eigencam_on_signed_activations_keeps_the_side_the_activations_point_to(images, center):
    """A linear layer: activations of both signs, so the ReLU cuts and the sign rule matters
    (the solver's sign is arbitrary; the map must not depend on it)."""
    keras.utils.set_random_seed(16)
    inputs = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(5, 3, name="features")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(h)))
    a = features_of(model, images)
    assert a.min() < 0 < a.max()
    _, maps = forward_cams.eigencam(model, images, None, layer="features", center=center)
    expected = reference_eigencam(a, center)
    np.testing.assert_allclose(maps[..., :1], expected, rtol=1e-3, atol=1e-4 * expected.max())
    assert 0 < (np.asarray(maps) > 0).mean() < 1


def test_forward_cams_compile_with_xla(images):
    model = gap_dense(seed=17)
    for method in (forward_cams.ablationcam, forward_cams.eigencam):
        _, eager = method(model, images, INDICES)
        _, compiled = sw.explain(method, model, images, INDICES, resizing=False, jit_compile=True)
        np.testing.assert_allclose(compiled, eager, rtol=1e-3, atol=1e-5, err_msg=method.__name__)


def test_chunked_sum_weighs_the_padded_perturbations_out():
    from saliency_widgets.methods.chunks import chunk_size, chunked_sum

    def contribution(numbers, valid):
        return tf.reduce_sum(tf.cast(numbers + 1, tf.float32) * valid)

    for chunk in (1, 3, 4, 10, 11):
        assert float(chunked_sum(10, chunk, contribution)) == 55.0  # 1 + … + 10, once each
    assert chunk_size(5, 100, 10**6, 32) == 5 and chunk_size(500, 100, 1, 1) == 100
    assert chunk_size(None, 1000, 2**20, 32) == 2  # 64 MiB / (32 copies of 1 MiB)
    assert chunk_size(None, 1000, 2**30, 32) == 1


def test_ablationcam_on_a_token_layer_keeps_the_class_token_in_each_ablation():
    """Each channel of the 64 patch tokens zeroed in turn, the class token left as it was, the
    tokens run through the rest of the ViT by hand."""
    model = small_vit(seed=5)
    x = np.random.default_rng(6).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    units = np.array([[1], [3]])
    tokens = np.asarray(keras.Model(model.input, model.get_layer("block0_output").output)(x))
    rest = keras.Model(model.get_layer("block1_norm1").input, model.output)
    scores = np.take_along_axis(np.asarray(model(x)), units, axis=1)  # (2, 1)
    grid = tokens[:, 1:].reshape(2, 8, 8, 16)
    expected = np.zeros((2, 8, 8, 1), np.float32)
    for c in range(16):
        ablated = tokens.copy()
        ablated[:, 1:, c] = 0  # the class token (index 0) is kept
        dropped = np.take_along_axis(np.asarray(rest(ablated)), units, axis=1)
        expected[..., 0] += grid[..., c] * ((scores - dropped) / scores)[:, 0, None, None]
    expected = np.maximum(expected, 0)
    assert expected.max() > 1e-3
    for channel_batch in (None, 5):
        _, maps = forward_cams.ablationcam(
            model, x, units, layer="block0_output", channel_batch=channel_batch
        )
        np.testing.assert_allclose(maps, expected, rtol=1e-4, atol=1e-5)


def test_scorecam_and_eigencam_on_a_token_layer_use_the_folded_grid():
    model = small_vit(seed=5)
    x = np.random.default_rng(6).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    tokens = np.asarray(keras.Model(model.input, model.get_layer("block1_norm1").output)(x))
    flat = tokens[:, 1:]  # (2, 64, 16)
    _, vectors = np.linalg.eigh(np.einsum("bnc,bnd->bcd", flat, flat))
    projection = np.einsum("bnc,bc->bn", flat, vectors[:, :, -1])
    sign = np.sign((projection * flat.sum(axis=2)).sum(axis=1, keepdims=True))
    expected = np.maximum(sign * projection, 0).reshape(2, 8, 8, 1)
    _, maps = forward_cams.eigencam(model, x, [[0], [1]])
    np.testing.assert_allclose(maps, expected, rtol=1e-3, atol=1e-4)
    _, scored = forward_cams.scorecam(model, x, [[0], [1]], top_channels=4)
    scored = np.asarray(scored)
    assert scored.shape == (2, 8, 8, 1) and np.isfinite(scored).all() and scored.max() > 0
