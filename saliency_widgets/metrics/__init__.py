"""Metrics that check saliency maps against ground truth, against the model, and for sanity.

- The figures beside a map: :func:`scorecard` gives one :class:`Scorecard` per map (deletion and
  insertion against a random pixel order, localisation, concentration, completeness) from one
  batched pass over the model; :func:`sanity_check` says, on demand, whether the map depends on
  the model.
- Localisation against object masks: :func:`pointing_game` (Zhang et al. 2018) with its
  :func:`centre_baseline`, and :func:`energy_in_mask` (relevance mass, Arras et al. 2022).
- Faithfulness to the model: :func:`deletion` and :func:`insertion` curves and their areas
  (Petsiuk et al. 2018), evaluated in batches.
- Methods compared: :func:`compare_methods` gives each method's mean figures on the same
  images (a :class:`MethodScores`), :func:`rank_methods` orders them by one of :data:`CRITERIA`.
- Concentration: :func:`gini`, the Gini index of a map's magnitudes.
- Sanity: :func:`randomization_check`, the cascading model-parameter randomisation test of
  Adebayo et al. (2018): a map that does not change when the model's weights are re-initialised
  does not explain the model.

Maps are ``(N, H, W)`` or ``(N, H, W, 1)`` (one map per image, e.g. ``maps[..., 0]`` of
:func:`saliency_widgets.explain`; :func:`scorecard` and :func:`sanity_check` also take the
engine's ``(N, H, W, K)``); maps of another size than the masks or images are resized
bilinearly (CAM maps are low resolution).
"""

from saliency_widgets.metrics.comparison import COMPLETE_METHODS, compare_methods
from saliency_widgets.metrics.concentration import gini
from saliency_widgets.metrics.localization import centre_baseline, energy_in_mask, pointing_game
from saliency_widgets.metrics.perturbation import PerturbationCurve, deletion, insertion
from saliency_widgets.metrics.randomization import (
    RandomizationCurve,
    randomization_check,
    spearman,
    weighted_layers,
)
from saliency_widgets.metrics.sanity import (
    SANITY_THRESHOLD,
    SanityCheck,
    sanity_check,
)
from saliency_widgets.metrics.scorecard import (
    CurveScore,
    Localisation,
    Scorecard,
    scorecard,
)
from saliency_widgets.ranking import CRITERIA, Criterion, MethodScores, rank_methods

__all__ = [
    "COMPLETE_METHODS",
    "CRITERIA",
    "SANITY_THRESHOLD",
    "Criterion",
    "CurveScore",
    "Localisation",
    "MethodScores",
    "PerturbationCurve",
    "RandomizationCurve",
    "SanityCheck",
    "Scorecard",
    "centre_baseline",
    "compare_methods",
    "deletion",
    "energy_in_mask",
    "gini",
    "insertion",
    "pointing_game",
    "randomization_check",
    "rank_methods",
    "sanity_check",
    "scorecard",
    "spearman",
    "weighted_layers",
]
