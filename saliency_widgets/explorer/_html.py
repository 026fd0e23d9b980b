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
from saliency_widgets.explorer._meta import ViewOptions


def asset(name: str, compact: bool = False) -> str:
    """The text of a file shipped with the package (``explorer.js``, ``explorer.css``).

    Args:
        name: The file's name.
        compact: Without comment lines (``//`` and one-line ``/** … */``) and indentation
            (what a page inlines: a quarter fewer bytes of code; the module has no multi-line
            string for this to change).
    """
    text = resources.files("saliency_widgets.explorer").joinpath(name).read_text("utf-8")
    if not compact:
        return text
    comment = "//" if name.endswith(".js") else "/*"
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(
        line
        for line in lines
        if line
        and not line.startswith(comment)
        and not (line.startswith("/*") and line.endswith("*/"))  # a one-line doc comment
    )


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
    outline: bool = True,
    cmaps: tuple[str, ...] = display.COLOUR_MAPS,
    steps: int = DEFAULT_STEPS,
    per_page: int = 48,
    start: dict[str, Any] | None = None,
    optimize: bool = True,
) -> str:
    """The explorer as an HTML fragment (a ``<div>``, a ``<style>`` and a module ``<script>``).

    Args:
        data: Images, classes and maps (:func:`~saliency_widgets.explorer.explain_top_k`).
        sign: Initial sign mode (:data:`saliency_widgets.display.SIGNS`).
        cmap: Initial colour map (added to ``cmaps`` when missing).
        alpha: Initial overlay opacity in ``[0, 1]``.
        blend: Initial blend mode (:data:`saliency_widgets.display.BLENDS`).
        clip: Percentile of each map drawn at full colour, in ``(0, 100]``.
        compare: Initial compare mode (:data:`~saliency_widgets.explorer.COMPARE_MODES`).
        outline: Outline the true object when ``data`` has masks.
        cmaps: Colour maps offered.
        steps: Quantisation steps of the stored maps (see :mod:`._encode`).
        per_page: Thumbnails per page.
        start: The initial selection (see :func:`~saliency_widgets.explorer._encode.payload`).
        optimize: Search for the smallest PNGs (``False``: encode fast).

    Returns:
        The HTML text.

    Raises:
        ValueError: For an unknown sign, blend, colour map or compare mode, or values out of
            range.
    """
    view = ViewOptions(sign, cmap, alpha, blend, clip, compare, outline)
    for name in cmaps:
        display.colour_table(name)  # raises for an unknown name
    return wrap(payload(data, view, cmaps, steps, per_page, start, optimize), summary(data))


def summary(data: ExplorerData) -> str:
    """What a reader without JavaScript is told the explorer holds."""
    names = ", ".join(data.names[:3]) + ("…" if len(data.names) > 3 else "")
    return (
        f"Saliency explorer: {len(data.names)} images ({names}), top-{data.indices.shape[1]} "
        f"classes, methods {', '.join(m.label for m in data.methods)}. It needs JavaScript."
    )


def wrap(data: dict[str, Any], text: str) -> str:
    """An explorer fragment around a payload: its CSS, data, no-script text and ES module."""
    return (
        '<div class="sw-explorer-fragment">\n'
        f"<style>{asset('explorer.css', compact=True)}</style>\n"
        '<div class="sw-explorer" data-saliency-explorer>'
        f'<script type="application/json">{_json_for_html(data)}</script>'
        f'<p class="sw-noscript">{html.escape(text)}</p></div>\n'
        f'<script type="module">\n{asset("explorer.js", compact=True)}\nmountAll();\n</script>\n'
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


__all__ = ["asset", "fragment", "page", "summary", "wrap"]
