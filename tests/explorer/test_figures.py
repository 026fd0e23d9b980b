"""The trust figures a page holds: the scorecard's, packed small; the options that ask for them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from saliency_widgets import explorer, metrics, zoo
from saliency_widgets._messages import InputError
from saliency_widgets.explorer import _figures
from saliency_widgets.explorer._sources import explorer_options, sanity_option


@pytest.fixture(scope="module")
def scored():
    samples = zoo.load_samples(3)
    model = zoo.load_shapes_model()
    x = zoo.preprocess(samples.images)
    data = explorer.explain_top_k(
        model,
        samples.images,
        x,
        methods=["gradients", "input_x_gradient"],
        top_k=2,
        class_names=zoo.class_names(),
        masks=samples.masks,
        metrics=True,
        sanity=True,
    )
    return model, x, samples, data


def _stored(text: str) -> dict:
    return json.loads(re.search(r'json">(.*?)</script>', text, flags=re.S).group(1))


def test_the_page_holds_each_maps_scorecard(scored):
    model, x, samples, data = scored
    packed = _stored(explorer.fragment(data))["scores"]
    assert packed["steps"] == 16 and packed["score"] == "probability"
    assert packed["range"] == [0.0, 1.0]
    for method in data.methods:
        maps = np.moveaxis(method.maps, 1, -1)
        raw = maps if method.name == "input_x_gradient" else None
        cards = metrics.scorecard(
            model, x, maps, data.indices, masks=samples.masks, attributions=raw
        )
        for i in range(3):
            for k in range(2):
                card = cards[i][k]
                row = packed["methods"][method.name][i][k]
                random = packed["random"][i][k]
                assert row[:3] == pytest.approx(
                    [card.deletion.auc, card.insertion.auc, card.gini], abs=5e-4
                )
                assert row[3] == int(card.localisation.pointing)
                assert row[4] == pytest.approx(card.localisation.energy, abs=5e-4)
                if raw is None:
                    assert row[5] is None
                else:
                    assert row[5] == pytest.approx(card.completeness, abs=5e-4)
                assert random[:2] == pytest.approx(
                    [card.deletion.random_auc, card.insertion.random_auc], abs=5e-4
                )
                # Curves within half a level (1/126) of the scorecard's.
                for text, values in (
                    (row[6], card.deletion.curve),
                    (row[7], card.insertion.curve),
                    (random[2], card.deletion.random_curve),
                    (random[3], card.insertion.random_curve),
                ):
                    assert len(text) == 17
                    np.testing.assert_allclose(
                        _figures.curve_values(text, 0.0, 1.0), values, atol=0.5 / 63 + 1e-9
                    )
        assert packed["maskShare"][0] == pytest.approx(samples.masks[0].mean(), abs=5e-4)
    meta = _stored(explorer.fragment(data))["meta"]
    assert meta["metrics"] is True and meta["sanity"] is True
    assert [key for key, _ in meta["ranks"]] == ["deletion", "insertion", "energy", "gini"]


def test_the_page_holds_each_maps_sanity_check(scored):
    model, x, _, data = scored
    packed = _stored(explorer.fragment(data))["scores"]["sanity"]
    assert packed["threshold"] == metrics.SANITY_THRESHOLD
    checks = metrics.sanity_check("gradients", model, x, data.indices)
    stored = packed["methods"]["gradients"]
    for i in range(3):
        for k in range(2):
            assert stored[i][k][0] == pytest.approx(checks[i][k].correlation, abs=5e-4)
            assert stored[i][k][1] == int(checks[i][k].constant)


def test_a_page_without_figures_holds_none(scored):
    _, _, _, data = scored
    plain = explorer.ExplorerData(**{**data.__dict__, "scores": None, "sanity": None})
    stored = _stored(explorer.fragment(plain))
    assert stored["scores"] is None and stored["meta"]["metrics"] is False


def test_logit_curves_are_packed_between_their_extremes():
    card = metrics.Scorecard(
        index=0,
        score="logit",
        fractions=(0.0, 0.5, 1.0),
        deletion=metrics.CurveScore("deletion", 1.0, 2.0, (5.0, 1.0, -3.0), (5.0, 2.0, -3.0)),
        insertion=metrics.CurveScore("insertion", 2.0, 1.0, (-3.0, 4.0, 5.0), (-3.0, 0.0, 5.0)),
        gini=0.5,
    )
    packed = _figures.packed_scores({"m": [[card]]})
    assert packed["range"] == [-3.0, 5.0] and packed["maskShare"] is None
    row = packed["methods"]["m"][0][0]
    assert row[6] == "_" + _figures.CURVE_ALPHABET[round(4 / 8 * 63)] + "A"
    np.testing.assert_allclose(_figures.curve_values(row[7], -3.0, 5.0), [-3, 4, 5], atol=8 / 126)


def test_explorer_options_take_metrics_and_sanity():
    options, _, _ = explorer_options({"metrics": ""})
    assert options.metrics is True
    assert explorer._sources.DEFAULT_METRICS is True  # applied by explorer_from_sources
    assert explorer_options({"metrics": "no"})[0].metrics is False
    assert sanity_option({"sanity": ""}) is True and sanity_option({}) is False
    with pytest.raises(InputError, match="sanity: expected on or off"):
        sanity_option({"sanity": "maybe"})
    with pytest.raises(InputError, match="panels: a grid option that an explorer does not use"):
        explorer_options({"panels": "overlay"})
