"""Seed-compatible helpers: ``saliency_widgets.utils.visualize`` and friends.

These are the renderer's functions under the names the seed library used; see
:mod:`saliency_widgets.render` for the full set.
"""

from saliency_widgets.render import figure_to_png, overlay, render_grid, visualize, visualize_png
from saliency_widgets.targets import top_k

__all__ = ["figure_to_png", "overlay", "render_grid", "top_k", "visualize", "visualize_png"]
