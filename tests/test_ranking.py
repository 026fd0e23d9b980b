"""Ranking methods by their figures: means of scorecards, order, ties and unknown figures."""

from __future__ import annotations

import pytest

from saliency_widgets.metrics import CurveScore, Localisation, SanityCheck, Scorecard
from saliency_widgets.ranking import CRITERIA, MethodScores, criterion, rank_methods


def card(deletion: float, insertion: float, gini: float, hit: bool, energy: float) -> Scorecard:
    curve = (1.0, 0.5, 0.0)
    return Scorecard(
        index=0,
        score="probability",
        fractions=(0.0, 0.5, 1.0),
        deletion=CurveScore("deletion", deletion, 0.5, curve, curve),
        insertion=CurveScore("insertion", insertion, 0.4, curve, curve),
        gini=gini,
        localisation=Localisation(hit, energy, 0.2),
    )


def check(correlation: float) -> SanityCheck:
    return SanityCheck(correlation, 0.5, ("head",), False)


def test_a_methods_figures_are_the_means_of_its_cards():
    cards = [card(0.1, 0.9, 0.6, True, 0.5), card(0.3, 0.7, 0.2, False, 0.3)]
    row = MethodScores.of("m", "M", cards, [check(0.8), check(-0.2)])
    assert row.maps == 2 and row.score == "probability"
    assert row.deletion == pytest.approx(0.2) and row.insertion == pytest.approx(0.8)
    assert row.deletion_random == pytest.approx(0.5) and row.insertion_random == pytest.approx(0.4)
    assert row.deletion_gain == pytest.approx(0.3) and row.insertion_gain == pytest.approx(0.4)
    assert row.gain == pytest.approx(0.7)
    assert row.gini == pytest.approx(0.4) and row.pointing == pytest.approx(0.5)
    assert row.energy == pytest.approx(0.4) and row.mask_share == pytest.approx(0.2)
    assert row.completeness is None  # no card has one
    assert row.sanity == pytest.approx(0.5)  # mean |ρ|
    assert row.flagged == 1 and row.passes_sanity  # one of two flagged: not more than half
    assert MethodScores.of("m", "M", cards, [check(0.8), check(0.6)]).passes_sanity is False
    assert MethodScores.of("m", "M", cards).sanity is None
    assert MethodScores.from_dict(row.to_dict()) == row
    assert row.to_dict()["gain"] == pytest.approx(0.7)


def test_bad_cards_are_refused():
    with pytest.raises(ValueError, match="no scorecards"):
        MethodScores.of("m", "M", [])
    with pytest.raises(ValueError, match="1 sanity checks for 2 maps"):
        MethodScores.of("m", "M", [card(0.1, 0.9, 0.5, True, 0.5)] * 2, [check(0.1)])


ROWS = [
    MethodScores("a", "A", 8, deletion=0.30, deletion_random=0.5, insertion=0.70,
                 insertion_random=0.4, gini=0.5, energy=0.3, sanity=0.7),
    MethodScores("b", "B", 8, deletion=0.10, deletion_random=0.5, insertion=0.60,
                 insertion_random=0.4, gini=0.5, energy=0.6, sanity=0.2),
    MethodScores("c", "C", error="ValueError: no convolution"),
    MethodScores("d", "D", 8, deletion=0.20, deletion_random=0.5, insertion=0.90,
                 insertion_random=0.4, gini=0.9, energy=0.4, completeness=0.01, sanity=0.4),
]  # fmt: skip


@pytest.mark.parametrize(
    ("by", "order"),
    [
        ("gain", "dbac"),  # gains 0.8, 0.6, 0.5
        ("deletion", "bdac"),  # lower first
        ("deletion-gain", "bdac"),
        ("insertion", "dabc"),
        ("energy", "bdac"),
        ("gini", "dabc"),  # a and b tie: kept in the order given
        ("sanity", "bdac"),  # lower first
        ("completeness", "dabc"),  # only d has one; the rest keep their order, last
    ],
)
def test_methods_are_ranked_by_the_chosen_figure(by, order):
    ranked = rank_methods(ROWS, by=by)
    assert "".join(row.method for row in ranked) == order
    values = [CRITERIA[by].value(row) for row in ranked]
    known = [v for v in values if v is not None]
    assert known == sorted(known, reverse=CRITERIA[by].higher_is_better)


def test_ties_keep_the_order_given():
    same = [MethodScores(name, name, 1, gini=0.5) for name in "qwerty"]
    assert [row.method for row in rank_methods(same, by="gini")] == list("qwerty")
    assert [row.method for row in rank_methods(same[::-1], by="gini")] == list("ytrewq")


def test_an_unknown_figure_names_the_known_ones():
    with pytest.raises(ValueError, match=r"by: unknown figure 'beauty'; expected one of gain, "):
        rank_methods(ROWS, by="beauty")
    assert criterion(" Energy ") is CRITERIA["energy"]
