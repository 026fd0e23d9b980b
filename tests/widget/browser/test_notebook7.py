"""notebooks/quickstart.ipynb in Jupyter Notebook 7, driven by a real chromium: the widget
renders, a thumbnail click and a class click change the map, 50 random rapid clicks end on the
last selection, and the page logs no JavaScript error of ours."""

from __future__ import annotations

from collections.abc import Iterator

import jupyter_harness as harness
import pytest
from quickstart_widget import QuickstartView, open_quickstart


@pytest.fixture(scope="module")
def session(browser, notebook7, artefacts) -> Iterator[QuickstartView]:
    screenshot = artefacts / "notebook7-final.png"
    with open_quickstart(browser, notebook7, screenshot, harness.NOTEBOOK7_KNOWN_ERRORS) as view:
        yield view


def test_the_page_is_notebook_7_not_jupyterlab(session, notebook7):
    assert session.page.url == f"{notebook7.url}/notebooks/quickstart.ipynb"
    assert session.page.evaluate("window.jupyterapp.name") == "Jupyter Notebook"


def test_the_widget_renders_with_its_thumbnails_classes_and_view(session, artefacts):
    session.check_first_view(artefacts / "notebook7-widget.png")


def test_clicking_a_thumbnail_then_a_class_changes_the_map(session):
    session.check_thumbnail_then_class(image=14, row=3)


def test_cosmetic_changes_send_nothing_to_the_kernel(session):
    session.check_cosmetic_changes_stay_in_the_browser()


def test_50_random_rapid_clicks_end_on_the_last_selection(session, artefacts):
    shot = artefacts / "notebook7-after-50-clicks.png"
    session.check_rapid_clicks(50, seed=7_000, screenshot=shot)


def test_no_javascript_errors_and_nothing_fetched_off_the_machine(session):
    assert session.console.errors == []
    assert session.page.off_host_requests == []
