"""A test hook: find a :class:`SaliencyWidget`'s parts as a browser does, and read what it shows.

Every control and picture of the widget carries a DOM class; the browser tests find them with
CSS selectors (``button.sw-thumb``), and :func:`find` finds the same widgets in Python, so tests
and scripts can click them (``button.click()``, or a front-end message) without knowing how the
widget is built. :func:`shown` returns the last view the widget drew, as plain data.

=====================  ==========================================================================
DOM class              widgets (in display order)
=====================  ==========================================================================
``sw-thumbs``          the thumbnail strip (``page``, ``pages``, ``failed``, ``show_page()``)
``sw-thumb``           a thumbnail's button, one per slot of the page; ``sw-thumb-image`` its
                       picture
``sw-thumb-cell``      a thumbnail's cell (its border marks the current and failed images)
``sw-previous-page``,  the thumbnail pager's buttons; ``sw-page`` its label
``sw-next-page``
``sw-previous``,       the previous/next image buttons; ``sw-caption`` the "image i of n" label
``sw-next``
``sw-class-row``       a class of the picker (``class_index``, ``button``, ``bar``, ``text``,
                       ``note``); ``sw-class`` its button; ``sw-other-class`` the typing box
``sw-method``,         the method, sign, colour map, opacity, blend and clip pickers;
``sw-sign``, …         ``sw-compare-mode`` the compare-mode picker
``sw-view-image``,     the pictures (``Image`` widgets); ``sw-view-overlay-title`` etc. their
``sw-view-map``,       titles; ``sw-scale-bar`` and ``sw-scale-hint`` the map's colour bar
``sw-view-overlay``
``sw-compare``         a compare panel's picture; ``sw-compare-grid`` their grid
``sw-error``           the error box; ``sw-status-line`` the status line; ``sw-progress`` the
                       start-up progress bar
``sw-export``          the export button; ``sw-download`` the download link
=====================  ==========================================================================

Example:
    >>> from saliency_widgets.widget.testing import find, shown
    >>> find(widget, "sw-thumb")[4].click()  # doctest: +SKIP
    >>> widget.wait(); shown(widget).overlay.detail  # doctest: +SKIP
    'image 4 · class 2 · gradients · absolute · ready'
"""

from __future__ import annotations

import ipywidgets as widgets

from saliency_widgets.widget._display import PicturesView
from saliency_widgets.widget._layout import descendants
from saliency_widgets.widget._widget import SaliencyWidget


def find(widget: widgets.Widget, css_class: str) -> list[widgets.Widget]:
    """The widgets under ``widget`` that carry DOM class ``css_class``, in display order.

    Args:
        widget: A :class:`SaliencyWidget` (or any widget, e.g. one of its parts).
        css_class: A DOM class from the table above.

    Returns:
        The matching widgets (visible or not), depth first.
    """
    return [w for w in descendants(widget) if css_class in getattr(w, "_dom_classes", ())]


def shown(widget: SaliencyWidget) -> PicturesView:
    """The last view ``widget`` drew: titles, pictures (PNG bytes), error, status line.

    Raises:
        RuntimeError: If ``widget`` has not drawn anything yet (it draws when it is made).
    """
    view = widget._ui.shown
    if view is None:
        raise RuntimeError("the widget has not drawn a view yet")
    return view


__all__ = ["find", "shown"]
