"""notebooks/quickstart.ipynb in JupyterLab, driven by a real chromium: clicks change the view,
200 random rapid clicks end on the last selection, and the page logs no JavaScript error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from quickstart_widget import QuickstartView, open_quickstart


@pytest.fixture(scope="module")
def session(browser, lab, artefacts) -> Iterator[QuickstartView]:
    with open_quickstart(browser, lab, artefacts / "jupyterlab-final.png") as view:
        yield view


def test_the_widget_renders_with_its_thumbnails_classes_and_view(session, artefacts):
    session.check_first_view(artefacts / "jupyterlab-widget.png")


def test_clicking_a_thumbnail_then_a_class_changes_the_map(session):
    session.check_thumbnail_then_class(image=9, row=2)


def test_cosmetic_changes_send_nothing_to_the_kernel(session):
    session.check_cosmetic_changes_stay_in_the_browser()


def test_200_random_rapid_clicks_end_on_the_last_selection(session, artefacts):
    shot = artefacts / "jupyterlab-after-200-clicks.png"
    session.check_rapid_clicks(200, seed=20_240, screenshot=shot)


def test_no_javascript_errors_and_nothing_fetched_off_the_machine(session):
    assert session.console.errors == []
    assert session.page.off_host_requests == []
