"""Indices validation and top-K."""

from __future__ import annotations

import numpy as np
import pytest

from saliency_widgets.targets import as_indices, top_k


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    logits = np.array([[0.1, 3.0, 2.0, 3.0], [5.0, 0.0, 1.0, -1.0]])
    assert top_k(logits, 3).tolist() == [[1, 3, 2], [0, 2, 1]]


@pytest.mark.parametrize("k", [0, 5, 1.5, True])
def test_top_k_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        top_k(np.zeros((2, 4)), k)


def test_as_indices_shapes():
    assert as_indices([1, 2], 2, 4).tolist() == [[1], [2]]
    assert as_indices([[1, 2], [0, 3]], 2, 4).tolist() == [[1, 2], [0, 3]]
    assert as_indices(3, 2, 4).tolist() == [[3], [3]]
    assert as_indices(None, 2, 4) is None


@pytest.mark.parametrize(
    ("indices", "error", "match"),
    [
        ([0.0, 1.0], TypeError, "must be integers"),
        ([True, False], TypeError, "must be integers"),
        ([1, 2, 3], ValueError, "3 rows but x has 2 images"),
        ([[1], [4]], ValueError, "out of range: 4 >= 4"),
        ([-1, 0], ValueError, "non-negative"),
        (np.zeros((2, 1, 1), int), ValueError, "shaped"),
        (np.zeros((2, 0), int), ValueError, "at least one unit"),
    ],
)
def test_as_indices_errors_name_the_problem(indices, error, match):
    with pytest.raises(error, match=match):
        as_indices(indices, 2, 4)
