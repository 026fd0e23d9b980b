"""The trust panel's figures for an explorer: every map scored, then packed small for the page.

:func:`score_methods` asks :func:`saliency_widgets.metrics.scorecard` for the figures of every
(image, class, method) of an explorer in one batched call (the maps of every method stacked, so
each image's own forward passes are shared), adds the completeness gap of the methods whose
signed maps add up to the score's change (Integrated Gradients, Input × Gradient), and, when
asked, :func:`saliency_widgets.metrics.sanity_check` per method. :func:`packed_scores` writes
them as the page's ``scores`` object: figures rounded to :data:`DIGITS` decimals, each curve as a
string of :data:`CURVE_LEVELS` levels (one base64url character a point), the random order's
curves and areas once per (image, class), since every method of an image shares them. The
browser (``explorer.js``, ``InlineSource.scores``) unpacks them into the shape of
:meth:`saliency_widgets.metrics.Scorecard.to_dict`, which a live widget sends as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from saliency_widgets.metrics import SanityCheck, Scorecard

DIGITS = 3
"""Decimals of the figures a page stores (the panel shows two)."""
CURVE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""One character a curve point: its level, ``0`` to ``63`` (base64url's order)."""
CURVE_LEVELS = len(CURVE_ALPHABET) - 1
"""Highest level of a stored curve point (a step of 1/63 of the score's range)."""


class NamedMaps(Protocol):
    """A method's maps (as :class:`saliency_widgets.explorer.MethodMaps` holds them)."""

    @property
    def name(self) -> str: ...

    @property
    def maps(self) -> np.ndarray: ...


Cards = dict[str, list[list["Scorecard"]]]
"""By method, ``cards[i][k]``: the figures of image ``i``'s ``k``-th class."""
Checks = dict[str, list[list["SanityCheck"]]]
"""By method, ``checks[i][k]``: the sanity check of image ``i``'s ``k``-th class."""


def complete(method: str, maps: np.ndarray, inputs: np.ndarray) -> bool:
    """Whether ``method``'s signed maps are raw attributions with a completeness gap.

    Args:
        method: Registry name.
        maps: ``(..., h, w)`` signed maps.
        inputs: ``(..., H, W, C)`` the model inputs they explain (the maps must not be resized).
    """
    from saliency_widgets.metrics.comparison import COMPLETE_METHODS

    return method in COMPLETE_METHODS and tuple(maps.shape[-2:]) == tuple(inputs.shape[-3:-1])


def score_methods(
    model: Any,
    x: np.ndarray,
    methods: Sequence[NamedMaps],
    indices: np.ndarray,
    masks: Sequence[np.ndarray] | None,
    batch_size: int = 32,
) -> Cards:
    """The figures of every map of an explorer (see the module's description).

    Args:
        model: The Keras classifier (never modified).
        x: ``(N, H, W, C)`` model inputs.
        methods: Each method's ``(N, K, h, w)`` signed maps.
        indices: ``(N, K)`` the classes they explain.
        masks: A boolean ``(H, W)`` object mask per image, or ``None``.
        batch_size: Images per model call.

    Returns:
        The :data:`Cards`.
    """
    from saliency_widgets.inspection import explained_model
    from saliency_widgets.methods.integrated import completeness_gap
    from saliency_widgets.metrics import scorecard

    k = indices.shape[1]
    stacked = np.concatenate([np.moveaxis(m.maps, 1, -1) for m in methods], axis=-1)
    cards = scorecard(
        model,
        x,
        stacked,
        np.tile(indices, (1, len(methods))),
        masks=None if masks is None else np.stack(masks),
        batch_size=batch_size,
    )
    found: Cards = {}
    for j, method in enumerate(methods):
        rows = [list(row[j * k : (j + 1) * k]) for row in cards]
        if complete(method.name, method.maps, x):
            gaps = completeness_gap(
                explained_model(model).model, x, indices, np.moveaxis(method.maps, 1, -1)
            )
            rows = [
                [
                    dataclasses.replace(card, completeness=float(gap))
                    for card, gap in zip(row, g, strict=True)
                ]
                for row, g in zip(rows, gaps, strict=True)
            ]
        found[method.name] = rows
    return found


def check_methods(
    model: Any, x: np.ndarray, methods: Sequence[str], indices: np.ndarray, batch_size: int = 32
) -> Checks:
    """:func:`saliency_widgets.metrics.sanity_check` of every image's top-K classes, by method."""
    from saliency_widgets.metrics import sanity_check

    return {name: sanity_check(name, model, x, indices, batch_size=batch_size) for name in methods}


def curve_text(values: Sequence[float], low: float, high: float) -> str:
    """A curve as one character a point: its level between ``low`` and ``high``."""
    span = high - low if high > low else 1.0
    levels = np.rint((np.asarray(values, np.float64) - low) / span * CURVE_LEVELS)
    return "".join(CURVE_ALPHABET[int(level)] for level in levels.clip(0, CURVE_LEVELS))


def curve_values(text: str, low: float, high: float) -> np.ndarray:
    """The values a :func:`curve_text` string stands for (what the browser draws)."""
    span = high - low if high > low else 1.0
    levels = np.array([CURVE_ALPHABET.index(c) for c in text], np.float64)
    return low + levels / CURVE_LEVELS * span


def _number(value: float | None) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def packed_scores(cards: Cards, checks: Checks | None = None) -> dict[str, Any]:
    """The page's ``scores`` object (see the module's description).

    Args:
        cards: Every map's figures (:func:`score_methods`).
        checks: Every map's sanity check, or ``None``.

    Returns:
        ``{"steps", "score", "range", "maskShare", "random", "methods", "sanity"}``:
        ``random[i][k]`` is ``[deletion AUC, insertion AUC, deletion curve, insertion curve]``
        of the random order, ``methods[name][i][k]`` is ``[deletion AUC, insertion AUC, gini,
        pointing (0, 1 or null), energy in mask, completeness gap, deletion curve, insertion
        curve]``, ``sanity[name][i][k]`` is ``[correlation, constant (0 or 1)]`` and
        ``sanity`` also holds the ``threshold``.
    """
    every = [card for rows in cards.values() for row in rows for card in row]
    first = every[0]
    curves = [
        value
        for card in every
        for curve in (card.deletion, card.insertion)
        for value in (*curve.curve, *curve.random_curve)
    ]
    low, high = (0.0, 1.0) if first.score == "probability" else (min(curves), max(curves))
    low, high = round(low, DIGITS + 1), round(high, DIGITS + 1)
    any_rows = next(iter(cards.values()))
    random = [
        [
            [
                _number(card.deletion.random_auc),
                _number(card.insertion.random_auc),
                curve_text(card.deletion.random_curve, low, high),
                curve_text(card.insertion.random_curve, low, high),
            ]
            for card in row
        ]
        for row in any_rows
    ]
    places = [row[0].localisation for row in any_rows]
    methods = {
        name: [
            [
                [
                    _number(card.deletion.auc),
                    _number(card.insertion.auc),
                    _number(card.gini),
                    None if card.localisation is None else int(card.localisation.pointing),
                    None if card.localisation is None else _number(card.localisation.energy),
                    _number(card.completeness),
                    curve_text(card.deletion.curve, low, high),
                    curve_text(card.insertion.curve, low, high),
                ]
                for card in row
            ]
            for row in rows
        ]
        for name, rows in cards.items()
    }
    packed: dict[str, Any] = {
        "steps": len(first.fractions) - 1,
        "score": first.score,
        "range": [low, high],
        "maskShare": None
        if any(place is None for place in places)
        else [_number(place.mask_share) for place in places],  # type: ignore[union-attr]
        "random": random,
        "methods": methods,
        "sanity": None,
    }
    if checks:
        threshold = next(iter(checks.values()))[0][0].threshold
        packed["sanity"] = {
            "threshold": threshold,
            "methods": {
                name: [[[_number(c.correlation), int(c.constant)] for c in row] for row in rows]
                for name, rows in checks.items()
            },
        }
    return packed


__all__ = [
    "CURVE_ALPHABET",
    "CURVE_LEVELS",
    "DIGITS",
    "Cards",
    "Checks",
    "NamedMaps",
    "check_methods",
    "complete",
    "curve_text",
    "curve_values",
    "packed_scores",
    "score_methods",
]
