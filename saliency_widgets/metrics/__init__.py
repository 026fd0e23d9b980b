"""Metrics that check saliency maps against ground truth, against the model, and for sanity.

- Localisation against object masks: :func:`pointing_game` (Zhang et al. 2018) with its
  :func:`centre_baseline`, and :func:`energy_in_mask` (relevance mass, Arras et al. 2022).
- Faithfulness to the model: :func:`deletion` and :func:`insertion` curves and their areas
  (Petsiuk et al. 2018), evaluated in batches.
- Sanity: :func:`randomization_check`, the cascading model-parameter randomisation test of
  Adebayo et al. (2018): a map that does not change when the model's weights are re-initialised
  does not explain the model.

Maps are ``(N, H, W)`` or ``(N, H, W, 1)`` (one map per image, e.g. ``maps[..., 0]`` of
:func:`saliency_widgets.explain`); maps of another size than the masks or images are resized
bilinearly (CAM maps are low resolution).
"""

from saliency_widgets.metrics.localization import centre_baseline, energy_in_mask, pointing_game
from saliency_widgets.metrics.perturbation import PerturbationCurve, deletion, insertion
from saliency_widgets.metrics.randomization import (
    RandomizationCurve,
    randomization_check,
    spearman,
    weighted_layers,
)

__all__ = [
    "PerturbationCurve",
    "RandomizationCurve",
    "centre_baseline",
    "deletion",
    "energy_in_mask",
    "insertion",
    "pointing_game",
    "randomization_check",
    "spearman",
    "weighted_layers",
]
