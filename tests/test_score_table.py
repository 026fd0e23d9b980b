"""The table shared by the saliency-scores directive and ``saliency-widgets scores``."""

from __future__ import annotations

import pytest

from saliency_widgets._messages import InputError
from saliency_widgets.ranking import MethodScores
from saliency_widgets.score_table import ScoreOptions, ScoreTable


def test_options_parse_from_text():
    options = ScoreOptions.from_strings(
        {"methods": "gradcam, gradients,gradcam", "rank-by": " Energy", "sanity": "", "steps": "8"}
    )
    assert options.methods == ("gradcam", "gradients") and options.rank_by == "energy"
    assert options.sanity and options.steps == 8 and options.classes.top == 1
    assert ScoreOptions.from_strings({}) == ScoreOptions()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rank-by": "beauty"}, r"rank-by: 'beauty'; expected one of gain, deletion-gain, "),
        ({"methods": " , "}, "methods: expected one or more method names"),
        ({"sanity": "maybe"}, "sanity: 'maybe': a switch takes no value"),
        ({"steps": "1"}, r"steps: 1 is outside \[2, 256\]"),
        ({"cols": "3"}, r"unknown option\(s\) \['cols'\]"),
    ],
)
def test_bad_options_name_the_option_and_what_it_takes(options, message):
    with pytest.raises(InputError, match=message):
        ScoreOptions.from_strings(options)


def table(**extra: object) -> ScoreTable:
    rows = (
        MethodScores("gradcam", "Grad-CAM", 8, "probability", 0.2, 0.5, 0.86, 0.44, 0.74,
                     0.875, 0.5625, 0.13, None, 0.33, 1),
        MethodScores("gradients", "Vanilla gradient", 8, "probability", 0.07, 0.5, 0.81, 0.44,
                     0.52, 0.5, 0.3, 0.13, None, 0.28, 5),
        MethodScores("lrp", "LRP", error="ValueError: no rule"),
    )  # fmt: skip
    values = {"rows": rows, "rank_by": "energy", "images": "8 images from x:y(8)", "count": 8}
    values.update(classes="each image's predicted class", steps=16, sanity_threshold=0.5)
    values.update(extra)
    return ScoreTable(**values)  # type: ignore[arg-type]


def test_cells_print_each_figure_and_a_failure_says_why():
    scores = table()
    assert [c.header for c in scores.columns()] == [
        "#", "method", "gain ↑", "deletion AUC ↓", "insertion AUC ↑", "pointing ↑", "energy ↑",
        "Gini ↑", "sanity ρ ↓", "sanity verdict",
    ]  # fmt: skip
    first, second, failed = scores.cells()
    assert first == ["1", "Grad-CAM", "+0.720", "0.200", "0.860", "88%", "56%", "0.74", "0.33",
                     "passes (1/8 flagged)"]  # fmt: skip
    assert second[0] == "2" and second[2] == "+0.800" and second[-1] == "fails (5/8 flagged)"
    assert failed[:3] == ["", "LRP", "failed: ValueError: no rule"] and set(failed[3:]) == {""}
    assert scores.failures == (scores.rows[2],) and len(scores.scored) == 2
    caption = scores.caption()
    assert caption.startswith("3 methods ranked by energy (higher is better) on 8 images from")
    assert "of its probability in 16 steps of 1/16 of the pixels" in caption
    assert "deletion 0.500 and insertion 0.440" in scores.baseline()
    assert "The objects cover 13% of the images" in scores.baseline()
    assert ScoreTable.from_dict(scores.to_dict()) == scores


def test_columns_without_masks_or_sanity_are_left_out():
    rows = tuple(
        MethodScores(r.method, r.label, r.maps, r.score, r.deletion, r.deletion_random,
                     r.insertion, r.insertion_random, r.gini, completeness=0.01)
        for r in table().rows[:2]
    )  # fmt: skip
    scores = table(rows=rows, rank_by="completeness", sanity_threshold=None)
    keys = [c.key for c in scores.columns()]
    assert keys == ["rank", "method", "gain", "deletion", "insertion", "gini", "completeness"]
    assert scores.cells()[0][-1] == "1.0%"
    assert "objects cover" not in scores.baseline()


def test_markdown_is_a_table_with_its_caption_and_legend():
    text = table().markdown().splitlines()
    assert text[0] == table().caption()
    assert text[2].startswith("| # | method | gain ↑ |") and text[3].startswith("|---:|---|")
    assert text[4] == (
        "| 1 | Grad-CAM | +0.720 | 0.200 | 0.860 | 88% | 56% | 0.74 | 0.33 | passes (1/8 flagged) |"
    )
    assert all(line.count("|") == text[2].count("|") for line in text[2:7])
    assert any(line.startswith("- **energy ↑**: share of the map's positive") for line in text)
