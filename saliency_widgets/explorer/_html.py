"""One self-contained HTML fragment: the explorer's data, CSS and ES module, inlined.

The fragment needs nothing from the page around it (no require.js, no widget manager, no CDN,
no request): it works from ``file://``, inside a Sphinx theme, in an nbconvert export and twice
on one page (each explorer mounts once, with its own element ids and radio-group names).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

from saliency_widgets import display
from saliency_widgets.explorer._data import ExplorerData
from saliency_widgets.explorer._encode import DEFAULT_STEPS, payload

COLOUR_MAPS = ("inferno", "magma", "viridis", "plasma", "cividis", "turbo", "jet", "hot", "gray")
"""Colour maps the explorer offers (the widget's picker; 1 KB of table each)."""
COMPARE_MODES = ("single", "classes", "methods")
"""Compare modes: one map, the image's top classes side by side, or every method."""


def asset(name: str) -> str:
    """The text of a file shipped with the package (``explorer.js``, ``explorer.css``)."""
    return resources.files("saliency_widgets.explorer").joinpath(name).read_text("utf-8")


def _json_for_html(value: Any) -> str:
    # "<" escaped so that no "</script>" (or "<!--") inside a string can end the script element.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def fragment(
    data: ExplorerData,
    *,
    sign: str = "absolute",
    cmap: str = display.DEFAULT_CMAP,
    alpha: float = display.DEFAULT_ALPHA,
    blend: str = display.DEFAULT_BLEND,
    clip: float = display.DEFAULT_CLIP,
    compare: str = "single",
    cmaps: tuple[str, ...] = COLOUR_MAPS,
    steps: int = DEFAULT_STEPS,
) -> str:
    """The explorer as an HTML fragment (a ``<div>``, a ``<style>`` and a module ``<script>``).

    Args:
        data: Images, classes and maps (:func:`~saliency_widgets.explorer.explain_top_k`).
        sign: Initial sign mode (``"absolute"`` when the maps are not signed).
        cmap: Initial colour map (added to ``cmaps`` when missing).
        alpha: Initial overlay opacity in ``[0, 1]``.
        blend: Initial blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Percentile of each map drawn at full colour, in ``(0, 100]``.
        compare: Initial compare mode (:data:`COMPARE_MODES`).
        cmaps: Colour maps offered.
        steps: Quantisation steps of the stored maps (see :mod:`._encode`).

    Returns:
        The HTML text.

    Raises:
        ValueError: For an unknown sign, blend, colour map or compare mode, or values out of
            range.
    """
    display.check(clip=clip, blend=blend, alpha=alpha)
    signed = all(method.signed for method in data.methods)
    if sign not in (display.SIGNS if signed else ("absolute",)):
        raise ValueError(f"sign must be one of {display.SIGNS} (absolute without signed maps)")
    if compare not in COMPARE_MODES:
        raise ValueError(f"compare must be one of {COMPARE_MODES}, got {compare!r}")
    cmaps = tuple(dict.fromkeys((cmap, *cmaps)))
    for name in cmaps:
        display.colour_table(name)  # raises for an unknown name
    view = {
        "sign": sign,
        "cmap": cmap,
        "alpha": float(alpha),
        "blend": blend,
        "clip": float(clip),
        "compare": compare,
    }
    text = _json_for_html(payload(data, view, cmaps, steps))
    names = ", ".join(data.names[:3]) + ("…" if len(data.names) > 3 else "")
    summary = html.escape(
        f"Saliency explorer: {len(data.names)} images ({names}), top-{data.indices.shape[1]} "
        f"classes, methods {', '.join(m.label for m in data.methods)}. It needs JavaScript."
    )
    return (
        '<div class="sw-explorer-fragment">\n'
        f"<style>{asset('explorer.css')}</style>\n"
        '<div class="sw-explorer" data-saliency-explorer>'
        f'<script type="application/json">{text}</script>'
        f'<p class="sw-noscript">{summary}</p></div>\n'
        f'<script type="module">\n{asset("explorer.js")}\nmountAll();\n</script>\n'
        "</div>\n"
    )


def page(fragment_html: str, title: str = "Saliency explorer") -> str:
    """A complete HTML page holding a fragment (opens from disk, needs no server)."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:60em;"
        "padding:0 1em;color:#222;background:#fff}</style>\n"
        f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{fragment_html}</body>\n</html>\n"
    )


__all__ = ["COLOUR_MAPS", "COMPARE_MODES", "asset", "fragment", "page"]
