"""How methods are ranked: each method's mean figures, and the figures to rank them by.

A :class:`MethodScores` holds one method's figures on a set of images (the means of its
:class:`~saliency_widgets.metrics.Scorecard` records, made by
:func:`saliency_widgets.metrics.compare_methods`); :func:`rank_methods` orders such records by
one of :data:`CRITERIA`. Nothing here imports TensorFlow, so that the Sphinx directive and the
command line can check a ranking's name, and draw a cached table, without loading it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from saliency_widgets.metrics.sanity import SanityCheck
    from saliency_widgets.metrics.scorecard import Scorecard


@dataclass(frozen=True)
class MethodScores:
    """One method's figures, each the mean over its maps (one per image and class).

    Attributes:
        method: The registered name.
        label: Its human-readable label.
        maps: How many maps the means are over (0 when the method failed).
        score: What the deletion and insertion curves track: the class's ``"probability"``
            (a softmax or sigmoid head) or its ``"logit"``.
        deletion: Deletion AUC (lower is better).
        deletion_random: The same for a random pixel order on the same images.
        insertion: Insertion AUC (higher is better).
        insertion_random: The same for a random pixel order.
        gini: Gini index of the maps (higher: more concentrated).
        pointing: Share of maps whose peak lies on the object, when masks were given.
        energy: Share of the maps' positive relevance on the object, when masks were given.
        mask_share: Share of the image the objects cover: a uniform map's ``energy``.
        completeness: Completeness gap, for :data:`COMPLETE_METHODS` (lower is better).
        sanity: Mean ``|ρ|`` between each map and the method's map on a copy of the model whose
            top layers were re-initialised, when the sanity check ran (lower is better).
        flagged: How many maps the sanity check flags (``|ρ| ≥`` the threshold).
        error: Why the method failed (``Type: message``), ``None`` when it ran.
    """

    method: str
    label: str
    maps: int = 0
    score: str | None = None
    deletion: float | None = None
    deletion_random: float | None = None
    insertion: float | None = None
    insertion_random: float | None = None
    gini: float | None = None
    pointing: float | None = None
    energy: float | None = None
    mask_share: float | None = None
    completeness: float | None = None
    sanity: float | None = None
    flagged: int | None = None
    error: str | None = None

    @classmethod
    def of(
        cls,
        method: str,
        label: str,
        cards: Sequence[Scorecard],
        checks: Sequence[SanityCheck] | None = None,
    ) -> MethodScores:
        """The means of a method's scorecards (and sanity checks).

        Args:
            method: The registered name.
            label: Its label.
            cards: One :class:`~saliency_widgets.metrics.Scorecard` per map.
            checks: One :class:`~saliency_widgets.metrics.SanityCheck` per map, or ``None``.

        Returns:
            The record.

        Raises:
            ValueError: For no cards, or not one check per card.
        """
        if not cards:
            raise ValueError(f"{method}: no scorecards to average")
        if checks is not None and len(checks) != len(cards):
            raise ValueError(f"{method}: {len(checks)} sanity checks for {len(cards)} maps")

        def mean(values: Sequence[float | None]) -> float | None:
            known = [float(value) for value in values if value is not None]
            return float(np.mean(known)) if len(known) == len(values) else None

        places = [card.localisation for card in cards if card.localisation is not None]

        def located(name: str) -> float | None:
            if len(places) != len(cards):
                return None
            return mean([float(getattr(place, name)) for place in places])

        return cls(
            method=method,
            label=label,
            maps=len(cards),
            score=cards[0].score,
            deletion=mean([card.deletion.auc for card in cards]),
            deletion_random=mean([card.deletion.random_auc for card in cards]),
            insertion=mean([card.insertion.auc for card in cards]),
            insertion_random=mean([card.insertion.random_auc for card in cards]),
            gini=mean([card.gini for card in cards]),
            pointing=located("pointing"),
            energy=located("energy"),
            mask_share=located("mask_share"),
            completeness=mean([card.completeness for card in cards]),
            sanity=None if checks is None else mean([abs(c.correlation) for c in checks]),
            flagged=None if checks is None else sum(not c.depends_on_model for c in checks),
        )

    @property
    def deletion_gain(self) -> float | None:
        """How far below a random order's the deletion AUC is (positive: better than random)."""
        if self.deletion is None or self.deletion_random is None:
            return None
        return self.deletion_random - self.deletion

    @property
    def insertion_gain(self) -> float | None:
        """How far above a random order's the insertion AUC is (positive: better than random)."""
        if self.insertion is None or self.insertion_random is None:
            return None
        return self.insertion - self.insertion_random

    @property
    def gain(self) -> float | None:
        """Both gains together: ``(insertion − deletion)`` minus the same for a random order."""
        deletion, insertion = self.deletion_gain, self.insertion_gain
        return None if deletion is None or insertion is None else deletion + insertion

    @property
    def passes_sanity(self) -> bool | None:
        """Whether at most half of the maps are flagged (``None`` when the check did not run)."""
        return None if self.flagged is None else 2 * self.flagged <= self.maps

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON types, with the three gains."""
        record = asdict(self)
        for name in ("deletion_gain", "insertion_gain", "gain"):
            record[name] = getattr(self, name)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> MethodScores:
        """The record :meth:`to_dict` wrote (the gains, derived, are dropped)."""
        return cls(**{f.name: record[f.name] for f in fields(cls) if f.name in record})


@dataclass(frozen=True)
class Criterion:
    """A figure the methods can be ranked by.

    Attributes:
        name: The name :func:`rank_methods` takes (``"gain"``, ``"energy"``, …).
        attribute: The :class:`MethodScores` attribute or property holding it.
        higher_is_better: The ranking's direction.
        meaning: What the figure says, and which way is better, in a few words.
    """

    name: str
    attribute: str
    higher_is_better: bool
    meaning: str

    def value(self, scores: MethodScores) -> float | None:
        """The figure of one method (``None`` when it failed or the figure is not defined)."""
        value = getattr(scores, self.attribute)
        return None if value is None else float(value)


CRITERIA: dict[str, Criterion] = {
    criterion.name: criterion
    for criterion in (
        Criterion(
            "gain",
            "gain",
            True,
            "insertion minus deletion AUC, minus the same for a random pixel order: how much "
            "better than chance the map orders the pixels the model needs (higher is better)",
        ),
        Criterion(
            "deletion-gain",
            "deletion_gain",
            True,
            "how far below a random order's the deletion AUC is (higher is better)",
        ),
        Criterion(
            "insertion-gain",
            "insertion_gain",
            True,
            "how far above a random order's the insertion AUC is (higher is better)",
        ),
        Criterion(
            "deletion",
            "deletion",
            False,
            "area under the class score as the map's most relevant pixels are deleted first "
            "(lower is better)",
        ),
        Criterion(
            "insertion",
            "insertion",
            True,
            "area under the class score as the most relevant pixels are restored first onto a "
            "blurred copy (higher is better)",
        ),
        Criterion(
            "pointing",
            "pointing",
            True,
            "share of maps whose peak lies on the object (higher is better)",
        ),
        Criterion(
            "energy",
            "energy",
            True,
            "share of the map's positive relevance on the object (higher is better)",
        ),
        Criterion(
            "gini",
            "gini",
            True,
            "Gini index: how concentrated the map is on few pixels (higher: sparser)",
        ),
        Criterion(
            "completeness",
            "completeness",
            False,
            "|Σ attribution − (f(x) − f(baseline))| relative to |f(x) − f(baseline)| on the "
            "logit, for Integrated Gradients and Input × Gradient (lower is better)",
        ),
        Criterion(
            "sanity",
            "sanity",
            False,
            "mean |ρ| (Spearman) between each map and the method's map on a copy of the model "
            "whose top half of weighted layers is re-initialised (lower is better: the map "
            "depends on what the model learnt)",
        ),
    )
}
"""The figures :func:`rank_methods` ranks by, by name."""
DEFAULT_CRITERION = "gain"
"""The figure methods are ranked by unless told otherwise."""


def criterion(name: str) -> Criterion:
    """Looks a ranking figure up by name.

    Args:
        name: A key of :data:`CRITERIA`.

    Returns:
        The :class:`Criterion`.

    Raises:
        ValueError: For an unknown name (the message lists the known ones).
    """
    if not isinstance(name, str) or name.strip().lower() not in CRITERIA:
        raise ValueError(f"by: unknown figure {name!r}; expected one of {', '.join(CRITERIA)}")
    return CRITERIA[name.strip().lower()]


def rank_methods(scores: Sequence[MethodScores], by: str = DEFAULT_CRITERION) -> list[MethodScores]:
    """The methods, best first by one figure.

    Methods without the figure (failed, or one it is not defined for, such as ``completeness``
    for most methods) come last; ties keep the order given.

    Args:
        scores: One :class:`MethodScores` per method.
        by: A name in :data:`CRITERIA`.

    Returns:
        The same records, reordered.

    Raises:
        ValueError: For an unknown ``by``.

    Example:
        >>> a = MethodScores("a", "A", 1, gini=0.2)
        >>> b = MethodScores("b", "B", 1, gini=0.7)
        >>> [s.method for s in rank_methods([a, b], by="gini")]
        ['b', 'a']
    """
    chosen = criterion(by)
    sign = -1.0 if chosen.higher_is_better else 1.0

    def key(row: MethodScores) -> tuple[bool, float]:
        value = chosen.value(row)
        return (True, 0.0) if value is None else (False, sign * value)

    return sorted(scores, key=key)


__all__ = [
    "CRITERIA",
    "DEFAULT_CRITERION",
    "Criterion",
    "MethodScores",
    "criterion",
    "rank_methods",
]
