"""The scorecard's figures on cases whose answers are known: a linear model (closed-form curves,
the best order, the distribution of a random order), the bundled model's softmax head, and the
completeness of Integrated Gradients."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from bundled_shapes import shapes_batch, shapes_model

import saliency_widgets as sw
from saliency_widgets import metrics

STEPS = 16
SIDE = 16
COUNTS = SIDE**2 // STEPS * np.arange(STEPS + 1)  # 256 pixels: 16 more per step
TRAPEZOID = np.r_[0.5, np.ones(STEPS - 1), 0.5] / STEPS  # weight of each step in the area


def linear_model(seed: int = 0) -> tuple[keras.Model, np.ndarray, float]:
    """Three logits of (16, 16, 2) images; the first is Σ w x + b.

    The weights grow along the raster order (plus noise, both signs), so an order that follows
    the raster (a tie-break that is not random) scores far from a random order.
    """
    rng = np.random.default_rng(seed)
    w = np.linspace(-1.0, 2.0, SIDE**2).reshape(SIDE, SIDE, 1)
    w = w + 0.5 * rng.normal(size=(SIDE, SIDE, 2))
    inputs = keras.Input((SIDE, SIDE, 2))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    kernel = np.stack([w.ravel(), *rng.normal(size=(2, w.size))], axis=1)
    bias = 0.7
    dense.set_weights([kernel.astype(np.float32), np.array([bias, -0.2, 0.1], np.float32)])
    return model, w, bias


def image(seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 1.0, (1, SIDE, SIDE, 2)).astype(np.float32)


def deletion_curve(contributions: np.ndarray, bias: float) -> np.ndarray:
    """Deleting (to zero) the largest contributions first: what remains at each step."""
    ordered = np.sort(contributions.ravel())[::-1]
    removed = np.r_[0.0, np.cumsum(ordered)][COUNTS]
    return bias + ordered.sum() - removed


def random_order_moments(contributions: np.ndarray, insertion: bool) -> tuple[float, float]:
    """Mean and standard deviation of the area (less the bias) for a uniformly random order.

    The area is Σ_p c_p a(r_p): pixel p, at rank r_p, counts at step t while it is present
    (r_p ≥ n_t when deleting, r_p < n_t when inserting), weighted by the trapezoid rule. Over
    random permutations this linear rank statistic has mean n c̄ ā and variance
    Σ(c − c̄)² Σ(a − ā)² / (n − 1) (Hoeffding 1951).
    """
    c = contributions.ravel()
    ranks = np.arange(len(c))[:, None]
    present = ranks < COUNTS if insertion else ranks >= COUNTS
    a = (present * TRAPEZOID).sum(axis=1)
    mean = c.sum() * a.mean()
    variance = ((c - c.mean()) ** 2).sum() * ((a - a.mean()) ** 2).sum() / (len(c) - 1)
    return float(mean), float(np.sqrt(variance))


def test_weight_times_input_gives_the_best_curves_of_all_orders():
    model, w, bias = linear_model()
    x = image()
    best = (w * x[0]).sum(-1)  # each pixel's contribution to the logit
    rng = np.random.default_rng(2)
    others = [
        -best,
        np.abs(best),
        w.sum(-1),
        x[0].sum(-1),
        np.linspace(0, 1, SIDE**2).reshape(SIDE, SIDE),
        np.zeros((SIDE, SIDE)),
        best + 0.3 * rng.normal(size=(SIDE, SIDE)),
        *rng.normal(size=(24, SIDE, SIDE)),
    ]
    maps = np.stack([best, *others], axis=-1)[None]
    cards = metrics.scorecard(
        model, x, maps, 0, steps=STEPS, deletion_baseline="zeros", insertion_baseline="zeros"
    )[0]
    assert len(cards) == 1 + len(others) and cards[0].score == "logit"
    expected = deletion_curve(best, bias)
    np.testing.assert_allclose(cards[0].deletion.curve, expected, rtol=1e-5, atol=1e-5)
    # Inserting onto zeros adds back what deleting took away, largest first.
    inserted = bias + best.sum() - (expected - bias)
    np.testing.assert_allclose(cards[0].insertion.curve, inserted, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(cards[0].deletion.auc, (expected * TRAPEZOID).sum(), rtol=1e-6)
    deletions = [card.deletion.auc for card in cards[1:]]
    insertions = [card.insertion.auc for card in cards[1:]]
    assert cards[0].deletion.auc <= min(deletions) + 1e-6, deletions
    assert cards[0].insertion.auc >= max(insertions) - 1e-6, insertions
    assert cards[0].deletion.gain > 0 and cards[0].insertion.gain > 0
    assert cards[1].deletion.gain < 0 and cards[1].insertion.gain < 0  # the reversed map


def test_the_insertion_canvas_is_the_blurred_image():
    """On the default blurred canvas a pixel adds w (x − blur(x)): that map is the best order."""
    model, w, bias = linear_model()
    x = image()
    canvas = sw.methods.integrated.gaussian_blur(x, SIDE / 10).numpy()  # the default blur
    best = (w * (x - canvas)[0]).sum(-1)
    rng = np.random.default_rng(3)
    maps = np.stack([best, (w * x[0]).sum(-1), *rng.normal(size=(12, SIDE, SIDE))], axis=-1)[None]
    cards = metrics.scorecard(model, x, maps, 0)[0]
    start = bias + (w * canvas[0]).sum()
    assert cards[0].insertion.curve[0] == pytest.approx(start, rel=1e-5)
    assert cards[0].insertion.curve[-1] == pytest.approx(bias + (w * x[0]).sum(), rel=1e-5)
    assert cards[0].insertion.auc >= max(card.insertion.auc for card in cards[1:]) - 1e-6


def test_a_constant_map_scores_as_random():
    """A constant map is ranked in a random order (its ties broken at random): its areas fall
    within the spread of a random order's, which the linear model gives in closed form."""
    model, w, bias = linear_model()
    x = image()
    contributions = (w * x[0]).sum(-1)
    constant, raster = metrics.scorecard(
        model,
        x,
        np.stack([np.full((SIDE, SIDE), 0.3), -np.arange(SIDE**2.0).reshape(SIDE, SIDE)], -1)[None],
        0,
        deletion_baseline="zeros",
        insertion_baseline="zeros",
    )[0]
    for curve, insertion in ((constant.deletion, False), (constant.insertion, True)):
        mean, sd = random_order_moments(contributions, insertion)
        # Two independent random orders differ by sd √2; 4 of those: a 1-in-16,000 event.
        assert abs(curve.auc - curve.random_auc) < 4 * np.sqrt(2) * sd, (curve, sd)
        assert abs(curve.random_auc - bias - mean) < 4 * sd
        assert curve.curve != curve.random_curve  # two orders, not one order twice
        # The test sees a biased order: a map ranking pixels in raster order would fail it.
        biased = raster.insertion if insertion else raster.deletion
        assert abs(biased.auc - biased.random_auc) > 8 * np.sqrt(2) * sd


def test_curves_track_the_probability_of_a_softmax_head():
    model = shapes_model()
    batch = shapes_batch()
    x, labels = batch.x[:3], batch.labels[:3]
    _, maps = sw.gradients(model, x, labels)
    cards = metrics.scorecard(model, x, maps, labels)
    rows = np.arange(3)
    probabilities = np.asarray(model(x))[rows, labels]
    at_zero = np.asarray(model(np.zeros_like(x)))[rows, labels]
    blurred = np.asarray(model(sw.methods.integrated.gaussian_blur(x, 6.4)))[rows, labels]
    for card, p, zero, canvas in zip(cards, probabilities, at_zero, blurred, strict=True):
        assert card[0].score == "probability"
        assert len(card[0].fractions) == STEPS + 1
        np.testing.assert_allclose(
            [card[0].deletion.curve[0], card[0].deletion.curve[-1]], [p, zero], atol=1e-5
        )
        np.testing.assert_allclose(
            [card[0].insertion.curve[0], card[0].insertion.curve[-1]], [canvas, p], atol=1e-5
        )
        # The random order starts and ends at the same images.
        assert card[0].deletion.random_curve[::16] == card[0].deletion.curve[::16]
    # Each map's curves follow its own class: a second class per image, stacked.
    other = (labels + 1) % 8
    pairs = metrics.scorecard(
        model, x, np.concatenate([maps, maps], -1), np.stack([labels, other], 1)
    )
    second = np.asarray(model(x))[rows, other]
    np.testing.assert_allclose([card[1].deletion.curve[0] for card in pairs], second, atol=1e-6)
    assert [card[1].index for card in pairs] == other.tolist()
    # The stand-alone deletion curve (the model's softmax outputs) agrees step by step.
    alone = metrics.deletion(model, x, maps, labels, steps=STEPS, baseline="zeros")
    np.testing.assert_allclose([c[0].deletion.curve for c in cards], alone.scores, atol=1e-5)
    logits_model = sw.inspection.explained_model(model).model
    assert metrics.scorecard(logits_model, x[:1], maps[:1], labels[:1])[0][0].score == "logit"


def test_batching_and_stacking_methods_leave_the_figures_unchanged():
    model = shapes_model()
    batch = shapes_batch()
    x, labels = batch.x[:2], batch.labels[:2]
    _, gradients = sw.gradients(model, x, labels)
    _, gradcam = sw.gradcam(model, x, labels)
    stacked = np.concatenate([gradients, gradcam], axis=-1)
    together = metrics.scorecard(model, x, stacked, labels, batch_size=64)
    chunked = metrics.scorecard(model, x, stacked, labels, batch_size=5)
    alone = metrics.scorecard(model, x[1:], gradcam[1:], labels[1:], batch_size=7)
    for a, b in zip(together, chunked, strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_allclose(u.deletion.curve, v.deletion.curve, atol=1e-6)
            np.testing.assert_allclose(
                u.insertion.random_curve, v.insertion.random_curve, atol=1e-6
            )
    np.testing.assert_allclose(
        together[1][1].insertion.curve, alone[0][0].insertion.curve, atol=1e-6
    )
    assert together[1][1].deletion.random_auc == pytest.approx(alone[0][0].deletion.random_auc)
    assert together[1][0].deletion.random_auc == together[1][1].deletion.random_auc  # shared


class Counting(keras.Model):
    """A linear classifier that counts the images it scores and the times it is traced."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(3)
        self.seen = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.traces = 0

    def call(self, images: tf.Tensor) -> tf.Tensor:
        self.traces += 1  # Python: runs once per trace
        self.seen.assign_add(tf.cast(tf.shape(images)[0], tf.int64))
        return self.dense(self.flatten(images))


def test_every_step_of_every_map_goes_through_one_compiled_pass():
    model = Counting()
    model(np.zeros((1, 8, 8, 2), np.float32))
    model.seen.assign(0)
    traces = model.traces
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 8, 8, 2)).astype(np.float32)
    metrics.scorecard(model, x, rng.normal(size=(2, 8, 8, 3)), 1, batch_size=8)
    # Per image 3 end points and 2 × 15 random-order steps; per map 2 × 15 steps.
    images = 2 * (3 + 30) + 6 * 30
    assert int(model.seen.numpy()) == 8 * -(-images // 8)  # padded to whole batches
    metrics.scorecard(model, x[:1], rng.normal(size=(1, 8, 8)), [2], batch_size=8)
    assert model.traces == traces + 1  # one trace for both calls: the shape never changes


def test_localisation_beside_the_share_of_the_mask():
    model, _, _ = linear_model()
    x = image()
    masks = np.zeros((1, SIDE, SIDE), bool)
    masks[0, :2, :4] = True
    maps = np.zeros((1, SIDE, SIDE, 2))
    maps[0, 1, 1, 0] = 3.0  # on the object
    maps[0, 13:, :8, 0] = 1.0  # and 24 pixels off it
    maps[0, 7, 7, 1] = 1.0  # a point off the object
    cards = metrics.scorecard(model, x, maps, [[0, 1]], masks=masks)[0]
    assert cards[0].localisation == metrics.Localisation(True, 3.0 / 27.0, 8 / 256)
    assert cards[1].localisation == metrics.Localisation(False, 0.0, 8 / 256)
    assert cards[1].index == 1
    assert metrics.scorecard(model, x, maps, [[0, 1]])[0][0].localisation is None


def test_the_card_reports_the_gini_index_of_the_map():
    model, _, _ = linear_model()
    maps = np.abs(np.random.default_rng(1).normal(size=(1, SIDE, SIDE, 2))) ** 3
    maps[0, 3, 4, 1] = 1e6  # nearly all the mass on one pixel
    cards = metrics.scorecard(model, image(), maps, 0)[0]
    np.testing.assert_allclose(
        [card.gini for card in cards], metrics.gini(np.moveaxis(maps[0], -1, 0))
    )
    assert cards[1].gini > 0.99


def test_completeness_of_input_x_gradient_on_a_linear_model():
    """Σ w x = f(x) − f(0) exactly; declaring the wrong baseline shows as a large gap."""
    model, w, _ = linear_model()
    x = np.concatenate([image(1), image(2)])
    _, raw = sw.input_x_gradient(model, x, 0, postprocessing=None, resizing=False)
    np.testing.assert_allclose(raw[..., 0], (w[None] * x).sum(-1), rtol=1e-5)
    cards = metrics.scorecard(model, x, raw, 0, attributions=raw)
    assert max(card[0].completeness for card in cards) < 1e-5
    wrong = metrics.scorecard(model, x, raw, 0, attributions=raw, attribution_baseline=0.5)
    assert min(card[0].completeness for card in wrong) > 0.1
    assert metrics.scorecard(model, x, raw, 0)[0][0].completeness is None


def test_integrated_gradients_at_256_steps_is_complete_on_the_bundled_model():
    """Within 1 % on every image (measured: 0.21 % at worst over 16 images)."""
    model = shapes_model()
    batch = shapes_batch()
    x, labels = batch.x[:3], batch.labels[:3]
    _, raw = sw.integrated_gradients(
        model, x, labels, steps=256, postprocessing=None, resizing=False
    )
    cards = metrics.scorecard(model, x, raw, labels, attributions=raw)
    gaps = [card[0].completeness for card in cards]
    assert max(gaps) < 0.01, gaps
    # A coarse path misses by more: the figure sees convergence.
    _, coarse = sw.integrated_gradients(
        model, x, labels, steps=2, postprocessing=None, resizing=False
    )
    cards = metrics.scorecard(model, x, coarse, labels, attributions=coarse)
    assert max(card[0].completeness for card in cards) > 0.05


def test_the_record_becomes_plain_json():
    model, w, _ = linear_model()
    card = metrics.scorecard(model, image(), (w * image()[0]).sum(-1)[None], 0)[0][0]
    record = json.loads(json.dumps(card.to_dict()))
    assert record["deletion"]["gain"] == pytest.approx(card.deletion.gain, abs=1e-6)
    assert record["insertion"]["auc"] == round(card.insertion.auc, 6)
    assert len(record["insertion"]["random_curve"]) == STEPS + 1
    assert record["localisation"] is None and record["completeness"] is None
    assert record["score"] == "logit" and record["index"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"maps": np.zeros((2, SIDE, SIDE))}, r"maps must be \(1, H, W\)"),
        ({"maps": np.full((1, SIDE, SIDE), np.nan)}, "maps contain NaN"),
        ({"indices": [[0, 1]]}, "indices has 2 classes per image but maps have 1"),
        ({"indices": [7]}, "out of range"),
        ({"masks": np.ones((1, 4, 4), bool)}, r"masks must be \(1, 16, 16\)"),
        ({"steps": 0}, "steps must be a positive int"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"deletion_baseline": "grey"}, "deletion_baseline='grey'"),
        ({"attributions": np.zeros((1, SIDE, SIDE, 2))}, "attributions have 2 maps"),
        ({"x": np.zeros((SIDE, SIDE, 2))}, "x must be a batch of images"),
    ],
)
def test_bad_input_is_named(change, message):
    model, _, _ = linear_model()
    arguments = {"x": image(), "maps": np.zeros((1, SIDE, SIDE)), "indices": 0, **change}
    x, maps, indices = arguments.pop("x"), arguments.pop("maps"), arguments.pop("indices")
    with pytest.raises(ValueError, match=message):
        metrics.scorecard(model, x, maps, indices, **arguments)
