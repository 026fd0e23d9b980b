"""notebooks/quickstart.ipynb runs top to bottom in a real kernel (nbclient) as it says."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_quickstart_notebook_runs(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    cells = {cell.id: cell for cell in notebook.cells}
    outputs = {name: cells[name].outputs for name in cells if cells[name].cell_type == "code"}
    for name, cell_outputs in outputs.items():
        assert all(output.output_type != "error" for output in cell_outputs), name

    def stdout(name: str) -> str:
        streams = [o for o in outputs[name] if o.output_type == "stream" and o.name == "stdout"]
        return "".join(o.text for o in streams)

    assert "32 images; classes: circle, square" in stdout("load")
    widget_views = [o for o in outputs["widget"] if WIDGET_VIEW in o.get("data", {})]
    assert len(widget_views) == 1
    results = [o for o in outputs["select"] if o.output_type == "execute_result"]
    assert results[0].data["text/plain"] == "{'image': 5, 'class_index': 2, 'method': 'gradients'}"
    share_line = stdout("mask")
    assert share_line.startswith("the object covers ")
    covered, share = (int(word.rstrip("%")) for word in share_line.split() if word.endswith("%"))
    assert share > covered  # the map is concentrated on the object, not spread evenly
    assert any("image/png" in o.get("data", {}) for o in outputs["figure"])
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs["own"])
    # nbclient saves the widgets' state, as a notebook saved from JupyterLab would
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    saved = [model["state"] for model in state.values() if model["model_module"] == "anywidget"]
    assert saved, [model["model_name"] for model in state.values()]
    assert any(
        s.get("meta", {}).get("count") == 32 and "export default" in s.get("_esm", "")
        for s in saved
    )
