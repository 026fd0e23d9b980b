"""The agreement harness: its registry, scaling and rank correlation (no reference needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import agreement  # noqa: E402
from harness import venvs  # noqa: E402


def test_every_module_registers_uniquely_named_comparisons_with_known_references():
    found = agreement.groups()
    assert {"cam", "perturbation"} <= set(found)
    sections = venvs.parse_sections((BENCHMARKS / "requirements.txt").read_text())
    for comparisons in found.values():
        for comparison in comparisons:
            assert comparison.reference in sections, comparison.name
            assert agreement.find(comparison.name) is comparison
    names = [c.name for group in found.values() for c in group]
    assert len(names) == len(set(names))
    methods = {c.method for c in found["cam"]}
    assert {"LayerCAM", "HiResCAM", "XGrad-CAM", "Ablation-CAM", "Score-CAM"} <= methods


def test_spearman_is_the_rank_correlation_with_ties_averaged():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert agreement.spearman(a, a**3) == pytest.approx(1.0)  # monotone: same ranks
    assert agreement.spearman(a, -a) == pytest.approx(-1.0)
    # Ties: ranks 0, 1.5, 1.5, 3 against 0, 1, 2, 3 (scipy.stats.spearmanr gives 0.9486833).
    assert agreement.spearman(np.array([1, 2, 2, 3.0]), np.arange(4.0)) == pytest.approx(0.9486833)
    assert agreement.spearman(np.zeros(4), np.zeros(4)) == 1.0
    assert agreement.spearman(np.zeros(4), np.arange(4.0)) == 0.0


def test_agree_scales_each_map_before_comparing():
    rng = np.random.default_rng(0)
    ours = rng.uniform(size=(3, 5, 5))
    theirs = 7 * ours + 2  # the same maps on another scale
    result = agreement.agree(ours, theirs)
    assert result["spearman_min"] == pytest.approx(1.0) and result["max_abs_diff"] < 1e-12
    other = agreement.agree(ours, rng.uniform(size=(3, 5, 5)))
    assert other["spearman_mean"] < 0.6 and other["max_abs_diff"] > 0.3
    with pytest.raises(ValueError, match="shaped"):
        agreement.agree(ours, ours[:, :4])
