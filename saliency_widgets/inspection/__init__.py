"""Model surgery for explanation, done by building new models and never mutating the user's.

- :func:`explained_model`: the model to differentiate, ending at pre-activation logits when the
  output has a softmax or sigmoid (the user's model is left as it was).
- :func:`spatial_model` / :func:`spatial_layers`: a model that also returns a spatial layer's
  activations, for CAM methods, wherever the layer sits (nested backbones included).
  A vision transformer's token layers count, folded into their patch grid (:class:`TokenLayer`).
- :func:`head_model`: the layers after a spatial layer, fed replaced activations (Ablation-CAM).
- :func:`guided_model`: the same layers with guided back-propagation through every ReLU.
- :func:`relevance_model`: the same layers with LRP rules as their backward passes.
- :func:`recurrent_layers`, :func:`check_cam_layer`: recurrent image models, refused by the
  methods whose maps they would make meaningless.
- :class:`FixedInputs`: a model with several inputs seen as a model of the explained one, the
  others held fixed (the builders above accept it and hold the same inputs fixed).

All results are cached per model object (weakly: a cache never keeps a user's model alive).
"""

from saliency_widgets.inspection._fixed import FixedInputs, fed, repeated, tiled, unwrapped
from saliency_widgets.inspection._guided import PositiveGradientGate, guided_model
from saliency_widgets.inspection._heads import (
    SQUASHING_ACTIVATIONS,
    ExplainedModel,
    explained_model,
)
from saliency_widgets.inspection._recurrent import (
    check_cam_layer,
    check_relevance_layers,
    recurrent_layers,
)
from saliency_widgets.inspection._relevance import Rules, check_layers, relevance_model
from saliency_widgets.inspection._rules import BODY_RULES, FIRST_RULES, Rule
from saliency_widgets.inspection._spatial import (
    HeadModel,
    SpatialModel,
    head_model,
    spatial_layers,
    spatial_model,
)
from saliency_widgets.inspection._tokens import TokenGrid, TokenLayer

__all__ = [
    "BODY_RULES",
    "FIRST_RULES",
    "SQUASHING_ACTIVATIONS",
    "ExplainedModel",
    "FixedInputs",
    "HeadModel",
    "PositiveGradientGate",
    "Rule",
    "Rules",
    "SpatialModel",
    "TokenGrid",
    "TokenLayer",
    "check_cam_layer",
    "check_layers",
    "check_relevance_layers",
    "explained_model",
    "fed",
    "guided_model",
    "head_model",
    "recurrent_layers",
    "relevance_model",
    "repeated",
    "spatial_layers",
    "spatial_model",
    "tiled",
    "unwrapped",
]
