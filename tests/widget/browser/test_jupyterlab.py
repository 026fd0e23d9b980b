"""notebooks/quickstart.ipynb in JupyterLab, driven by a real chromium: clicks change the view,
200 random rapid clicks end on the last selection, and the page logs no JavaScript error."""

from __future__ import annotations

from collections.abc import Iterator

import jupyter_harness as harness
import nbformat
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


def test_the_static_explorer_draws_the_live_views_pixels(session, tmp_path):
    """One module, two sources: the widget's own static page (``save_html`` at the live maps'
    127 steps), set to the live view's selection and options, draws the same canvas bytes."""
    live = session.widget
    state = live.evaluate("(root) => root.explorer.selection()")
    pixels = live.evaluate(harness.PIXELS)
    path = tmp_path / "static.html"
    code = f"widget.save_html({str(path)!r}, images=[{state['image']}], steps=127, progress=False)"
    session.probe.json(code, "'0'")
    page = session.page.context.new_page()
    try:
        page.goto(path.as_uri())
        root = page.locator("[data-saliency-explorer]").first
        options = ("classIndex", "method", "sign", "cmap", "alpha", "blend", "clip", "outline")
        wanted = {key: state[key] for key in options} | {"image": 0, "compare": "single"}
        root.evaluate("(node, wanted) => node.explorer.select(wanted)", wanted)
        harness.wait_for_view(page, root, 0, state["classIndex"])
        assert root.evaluate(harness.PIXELS) == pixels
    finally:
        page.close()


def test_the_trust_panel_shows_the_kernels_figures_and_its_sanity_check(session, artefacts):
    """After the map, the panel beside it prints the figures the kernel computed for it
    (``widget.current_scores()``) and draws their curves; its sanity button runs the check on
    the kernel's worker and prints the kernel's answer."""
    widget = session.widget
    state = widget.evaluate("(root) => root.explorer.ready.then(() => root.explorer.selection())")
    card = session.probe.json("", "json.dumps(widget.current_scores().to_dict())")
    selection = session.probe.json("", "json.dumps(widget.selection)")
    assert (selection["image"], selection["class_index"]) == (state["image"], state["classIndex"])
    panel = widget.locator(".sw-trust-panel[data-state='ready']")
    panel.wait_for(timeout=120_000)
    text = panel.inner_text()
    deletion, insertion = card["deletion"], card["insertion"]
    assert f"Deletion AUC {deletion['auc']:.2f} (random {deletion['random_auc']:.2f})" in text
    assert f"Insertion AUC {insertion['auc']:.2f} (random {insertion['random_auc']:.2f})" in text
    assert f"Gini {card['gini']:.2f}" in text
    assert f"(mask {100 * card['localisation']['mask_share']:.1f}%)" in text
    assert panel.locator("polyline").count() == 4
    panel.locator(".sw-sanity-button").click()
    verdict = panel.locator(".sw-trust-sanity p.sw-sane, .sw-trust-sanity p.sw-insane")
    verdict.wait_for(timeout=120_000)
    check = session.probe.json("", "json.dumps(widget.check_sanity().to_dict())")
    assert f"rank correlation {check['correlation']:.2f}" in verdict.inner_text()
    word = "depends on the model" if check["depends_on_model"] else "does not depend"
    assert word in verdict.inner_text()
    widget.screenshot(path=str(artefacts / "jupyterlab-trust-panel.png"))


def test_no_javascript_errors_and_nothing_fetched_off_the_machine(session):
    assert session.console.errors == []
    assert session.page.off_host_requests == []


FIRST_VIEW_CELL = """\
from saliency_widgets import SaliencyWidget, zoo
samples = zoo.load_samples(30)
widget = SaliencyWidget(zoo.load_shapes_model(), samples.images, preprocess=zoo.preprocess,
                        class_names=zoo.class_names(), masks=samples.masks, prefetch=False)
widget
"""


def test_a_view_made_after_the_first_maps_asks_the_kernel_for_nothing(
    browser, lab, jupyter_home, artefacts
):
    """The cell waits for the selected map before its output exists; the map, the picture and
    the first page of thumbnails are sent then, kept by the page's model, and the view draws
    them without one request (the kernel counts none) - a kernel busy prefetching would
    otherwise answer late."""
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(FIRST_VIEW_CELL)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(notebook, jupyter_home["root"] / "first-view.ipynb")
    context, page = harness.new_page(browser)
    console = harness.Console(page)
    probe = None
    try:
        # a workspace of its own: the default one reopens the quickstart notebook beside it
        page.goto(f"{lab.url}/lab/workspaces/first-view/tree/first-view.ipynb")
        page.wait_for_function(harness.KERNEL_IDLE, timeout=harness.KERNEL_TIMEOUT_MS, polling=250)
        assert harness.run_all_cells(page) == []
        widget = page.locator("[data-saliency-widget]").first
        widget.wait_for(state="visible")
        harness.wait_for_view(page, widget, 0)
        assert widget.locator("label.sw-thumb").count() == 24  # the first page, all drawn
        page.wait_for_function(  # every thumbnail of the page decoded
            """(root) => [...root.querySelectorAll('label.sw-thumb img')].every(
                (img) => img.complete && img.naturalWidth > 0)""",
            arg=widget.element_handle(),
            timeout=60_000,
        )
        probe = harness.KernelProbe(lab, "first-view.ipynb")
        assert probe.json("", "str(widget._link.received)") == 0
        widget.screenshot(path=str(artefacts / "jupyterlab-first-view.png"))
    finally:
        if probe is not None:
            probe.close()
        context.close()
    assert console.errors == []
