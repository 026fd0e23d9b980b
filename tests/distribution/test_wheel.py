"""The product as users install it: sdist and wheel built, installed outside the repository.

Every check here runs the *installed* wheel in a fresh virtual environment, from a folder outside
the repository, with no ``PYTHONPATH``: packaging bugs (a module left out of the wheel, a data file
missing, an import that only works from the source tree) cannot hide behind the editable install.

Fresh environments are made fast without a download: ``python -m venv --without-pip``, one
``.pth`` line naming the project venv's ``site-packages`` (TensorFlow, Sphinx, Jupyter…), and the
project's pip run with ``--python``. ``.pth`` files inside a folder added that way are not
processed, so the project's editable finder is never loaded; the wheel installed into the new
venv's own ``site-packages`` comes first on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from builders import small_cnn
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path | None = None, timeout: int = 600) -> str:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
    output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert result.returncode == 0, f"{args} failed:\n{output}"
    return result.stdout + result.stderr


def _pip(venv: Path, *args: str | Path) -> str:
    return _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", *args)


def _venv(path: Path, site: Path | None = SITE_PACKAGES) -> Path:
    """A bare venv; ``site`` (if given) is visible through one ``.pth`` line."""
    _run(sys.executable, "-m", "venv", "--without-pip", path)
    if site is not None:
        (_site_packages(path) / "project_site.pth").write_text(f"{site}\n")
    return path


def _site_packages(venv: Path) -> Path:
    (lib,) = (venv / "lib").glob("python3*/site-packages")
    return lib


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built *from the sdist* (as pip would)."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, REPO)
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (path,) = dist.glob("saliency_widgets-*.whl")
    return path


@pytest.fixture(scope="module")
def user_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    venv = _venv(tmp_path_factory.mktemp("user") / "venv")
    _pip(venv, "install", "--no-deps", "--no-index", wheel)
    return venv


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the repository holding a ``.keras`` model and a folder of PNGs."""
    folder = tmp_path_factory.mktemp("outside")
    small_cnn().save(folder / "model.keras")
    images = folder / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        pixels = rng.integers(0, 60, (24, 24, 3)).astype(np.uint8)
        pixels[4 * i : 4 * i + 8, 3 * i : 3 * i + 8] = [230, 200, 40]
        Image.fromarray(pixels).save(images / f"img{i}.png")
    return folder


def test_wheel_holds_the_extension_and_the_package_data(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__.py", "_cache.py", "_files.py", "_pages.py", "_paths.py", "py.typed"):
        assert f"sphinxext/saliency_grid/{module}" in names
    # ``sphinxext`` is a namespace shared with other projects: we ship no __init__ for it
    assert "sphinxext/__init__.py" not in names
    assert not [name for name in names if name.startswith("sphinxext/_saliency_grid")]
    for name in (
        "py.typed",
        "zoo/data/shapes_cnn.keras",
        "zoo/data/shapes_cnn.json",
        "zoo/data/shapes_vit.weights.h5",
        "cli.py",
        "explorer/explorer.js",
        "explorer/explorer.css",
    ):
        assert f"saliency_widgets/{name}" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert not [name for name in names if name.startswith(("tests/", "docs/", "benchmarks/"))]


def test_wheel_metadata_leaves_tensorflow_to_the_user(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(meta).decode())
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("Project-URL")
    assert "Framework :: Sphinx :: Extension" in metadata.get_all("Classifier")
    requires = metadata.get_all("Requires-Dist")
    tensorflow = [r for r in requires if r.startswith("tensorflow")]
    assert tensorflow, "the [cpu]/[gpu] extras name the flavours"
    assert all("extra ==" in r for r in tensorflow), tensorflow
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"cpu", "gpu", "widget", "docs"} <= extras
    sphinx = [r for r in requires if r.startswith("sphinx")]
    assert sphinx and all('extra == "docs"' in r or 'extra == "dev"' in r for r in sphinx)


def test_twine_check_passes(dist: Path):
    output = _run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))
    assert output.count("PASSED") == 2


def test_the_sdist_installs_into_a_clean_venv(dist: Path, tmp_path: Path):
    (sdist,) = dist.glob("saliency_widgets-*.tar.gz")
    venv = _venv(tmp_path / "venv")
    _pip(venv, "install", "--no-deps", "--no-index", "--no-build-isolation", sdist)
    installed = _site_packages(venv)
    assert (installed / "sphinxext" / "saliency_grid" / "_cache.py").is_file()
    assert (installed / "saliency_widgets" / "zoo" / "data" / "shapes_cnn.keras").is_file()


def test_installed_modules_come_from_the_wheel(user_venv: Path, tmp_path: Path):
    output = _run(
        user_venv / "bin" / "python",
        "-c",
        "import saliency_widgets, sphinxext.saliency_grid as e; "
        "print(saliency_widgets.__file__); print(e.__file__); print(saliency_widgets.__version__)",
        cwd=tmp_path,
    )
    package, extension, version = output.split()[-3:]
    site = str(_site_packages(user_venv))
    assert package.startswith(site) and extension.startswith(site)
    assert not version.endswith("+source")


MYST_PAGE = """\
# Maps in Markdown

```{saliency-grid}
:images: images/img*.png
:classes: top-2
:alt: four images, two classes each

Grid written in MyST.
```
"""

RST_PAGE = """\
Maps in reStructuredText
========================

.. saliency-grid::
   :images: images/img[01].png
   :panels: image, map
   :method: smoothgrad

   Grid written in rst.
"""


def test_third_party_sphinx_project_builds_with_the_installed_directive(
    user_venv: Path, outside: Path, tmp_path: Path
):
    source = tmp_path / "docs"
    source.mkdir()
    (source / "conf.py").write_text(
        'extensions = ["sphinxext.saliency_grid", "myst_parser"]\n'
        'saliency_grid_model = "model.keras"\n'
    )
    (source / "index.rst").write_text(
        "Third-party docs\n================\n\n.. toctree::\n\n   rst_page\n   myst_page\n"
    )
    (source / "rst_page.rst").write_text(RST_PAGE)
    (source / "myst_page.md").write_text(MYST_PAGE)
    (source / "model.keras").write_bytes((outside / "model.keras").read_bytes())
    (source / "images").mkdir()
    for image in (outside / "images").iterdir():
        (source / "images" / image.name).write_bytes(image.read_bytes())
    out = tmp_path / "html"
    log = _run(
        user_venv / "bin" / "python",
        "-m",
        "sphinx",
        "-W",
        "--no-color",
        "-b",
        "html",
        source,
        out,
        cwd=tmp_path,
    )
    assert "build succeeded" in log
    (tmp_path / "sphinx-build.log").write_text(log)
    captions = {"rst_page": "Grid written in rst.", "myst_page": "Grid written in MyST."}
    for page, caption in captions.items():
        html = (out / f"{page}.html").read_text()
        assert caption in html
        (name,) = {part.split('"')[0] for part in html.split('src="_images/')[1:] if ".png" in part}
        picture = Image.open(out / "_images" / name)
        pixels = np.asarray(picture.convert("RGB"), dtype=np.float32)
        assert picture.width > 200 and pixels.std() > 20  # a real grid, not a blank figure
    assert 'alt="four images, two classes each"' in (out / "myst_page.html").read_text()


def test_installed_cli_renders_a_grid(user_venv: Path, outside: Path, tmp_path: Path):
    target = tmp_path / "grid.png"
    _run(
        user_venv / "bin" / "saliency-widgets",
        "render",
        "--model",
        outside / "model.keras",
        "--images",
        outside / "images",
        "--out",
        target,
        cwd=tmp_path,
    )
    pixels = np.asarray(Image.open(target).convert("RGB"), dtype=np.float32)
    assert pixels.shape[1] > 200 and pixels.std() > 20


def test_installed_cli_writes_an_explorer_page_with_the_packaged_script(
    user_venv: Path, outside: Path, tmp_path: Path
):
    target = tmp_path / "explorer.html"
    _run(
        user_venv / "bin" / "saliency-widgets",
        "explore",
        "--model",
        outside / "model.keras",
        "--images",
        outside / "images",
        "--methods",
        "gradients,gradcam",
        "--out",
        target,
        cwd=tmp_path,
    )
    page = target.read_text()
    script = (
        _site_packages(user_venv) / "saliency_widgets" / "explorer" / "explorer.js"
    ).read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the shipped module, inlined whole: every line of code in order, less comments and indent
    code = [line.strip() for line in script.splitlines()]
    code = [  # without comment lines and one-line doc comments, as explorer.asset(compact=True)
        line
        for line in code
        if line and not line.startswith("//") and not (line[:2] == "/*" and line[-2:] == "*/")
    ]
    assert len(code) > 500
    assert '<script type="module">\n' + "\n".join(code) + "\nmountAll();\n</script>" in page
    assert '<script type="application/json">' in page  # the maps travel inside the page


WIDGET_CELL = """\
import os, sys, numpy as np, keras
import saliency_widgets as sw
from saliency_widgets import SaliencyWidget
assert sw.__file__.startswith(sys.prefix), sw.__file__
model = sw.zoo.load_shapes_model()
samples = sw.zoo.load_samples(4)
widget = SaliencyWidget(model, samples.images, samples.labels, preprocess=sw.zoo.preprocess,
                        class_names=sw.zoo.class_names())
widget.select(image=2)
widget.wait(120)
saliency = widget.current_map()
print("map", saliency.shape, bool(np.isfinite(saliency).all()), float(saliency.max()))
widget
"""


def test_installed_widget_runs_in_a_notebook(user_venv: Path, tmp_path: Path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(WIDGET_CELL)])
    path = tmp_path / "widget.ipynb"
    nbformat.write(notebook, path)
    # nbclient started from the new venv's interpreter: the "python3" kernel is that interpreter
    script = textwrap.dedent(
        f"""
        import nbformat
        from nbclient import NotebookClient
        notebook = nbformat.read({str(path)!r}, as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
        nbformat.write(notebook, {str(path)!r})
        """
    )
    _run(user_venv / "bin" / "python", "-c", script, cwd=tmp_path)
    (cell,) = nbformat.read(path, as_version=4).cells
    assert all(output.output_type != "error" for output in cell.outputs), cell.outputs
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert "map (64, 64) True" in text
    assert any(
        "application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell.outputs
    )


def test_installed_widget_shows_in_jupyterlab(user_venv: Path, tmp_path: Path):
    """JupyterLab started by the fresh venv's interpreter, in a folder outside the repository:
    the installed widget renders, and a class click draws that class's map."""
    sys.path.insert(0, str(REPO / "tests" / "widget" / "browser"))
    import jupyter_harness as harness
    from playwright.sync_api import sync_playwright

    home = harness.make_jupyter_home(tmp_path / "jupyter")
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(WIDGET_CELL)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(notebook, home["root"] / "widget.ipynb")
    # pip puts a package's JupyterLab extension (anywidget's, ipywidgets' manager) under
    # sys.prefix/share/jupyter/labextensions, and the server extensions' switches under
    # sys.prefix/etc/jupyter. The fresh venv sees the project venv's packages through a .pth
    # line, not those folders: JUPYTER_PATH and JUPYTER_CONFIG_PATH name them, standing for the
    # files pip would have installed into the fresh venv. PYTHONPATH is emptied (so ignored).
    env = {
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
        "JUPYTER_CONFIG_PATH": str(Path(sys.prefix) / "etc" / "jupyter"),
        "PYTHONPATH": "",
    }
    server = harness.start_lab(
        home, tmp_path / "jupyterlab.log", env=env, python=user_venv / "bin" / "python"
    )
    try:
        with sync_playwright() as playwright:
            browser = harness.launch_chromium(playwright)
            context, page = harness.new_page(browser)
            console = harness.Console(page)
            harness.open_notebook(page, server, "widget.ipynb")
            assert harness.run_all_cells(page) == []  # the kernel imported the installed wheel
            assert "map (64, 64) True" in page.locator(".jp-OutputArea-output").first.inner_text()
            widget = page.locator("[data-saliency-widget]").first
            widget.wait_for(state="visible")
            harness.wait_for_view(page, widget, 2)
            before = widget.evaluate(harness.PIXELS)
            row = widget.locator("label.sw-class").nth(1)
            index = int(row.get_attribute("data-class"))
            assert index != widget.evaluate("(root) => root.explorer.state.classIndex")
            row.click()
            harness.wait_for_view(page, widget, 2, index)
            assert widget.evaluate(harness.PIXELS) != before
            shots = REPO / "build" / "browser-tests"
            shots.mkdir(parents=True, exist_ok=True)
            widget.screenshot(path=str(shots / "wheel-jupyterlab.png"))
            context.close()
            browser.close()
    finally:
        server.stop()
    assert console.errors == [], console.errors
    assert page.off_host_requests == []


def _pip_list(venv: Path) -> dict[str, str]:
    listed = json.loads(_pip(venv, "list", "--format=json").splitlines()[0])
    return {_canonical(item["name"]): item["version"] for item in listed}


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _site_without(folder: Path, *prefixes: str) -> Path:
    """The project venv's ``site-packages`` as symlinks, less the entries named by ``prefixes``.

    Our own editable install is always left out, so pip sees saliency-widgets as not installed.
    """
    folder.mkdir()
    left_out = ("saliency_widgets", "__editable", "sphinxext", *prefixes)
    for entry in SITE_PACKAGES.iterdir():
        if not entry.name.lower().startswith(left_out):
            (folder / entry.name).symlink_to(entry)
    return folder


def test_installing_next_to_tensorflow_cpu_adds_no_tensorflow(dist: Path, tmp_path: Path):
    venv = _venv(tmp_path / "venv", site=_site_without(tmp_path / "site"))
    before = _pip_list(venv)
    assert "tensorflow-cpu" in before
    # --no-index: only our own wheel can be installed; a wish for any other distribution fails
    _pip(venv, "install", "--no-index", "--find-links", dist, "saliency-widgets[cpu]")
    after = _pip_list(venv)
    assert set(after) - set(before) == {"saliency-widgets"}
    assert {name: after[name] for name in before} == before


def test_installing_next_to_gpu_tensorflow_adds_no_tensorflow_cpu(dist: Path, tmp_path: Path):
    """A user with ``tensorflow`` (the GPU-capable distribution) and no ``tensorflow-cpu``."""
    site = _site_without(tmp_path / "site", "tensorflow_cpu-")
    fake = site / "tensorflow-2.21.0.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow\nVersion: 2.21.0\n")
    (fake / "RECORD").write_text("")
    venv = _venv(tmp_path / "venv", site=site)
    before = _pip_list(venv)
    assert "tensorflow" in before and "tensorflow-cpu" not in before
    _pip(venv, "install", "--no-index", "--find-links", dist, "saliency-widgets[widget]")
    after = _pip_list(venv)
    assert set(after) - set(before) == {"saliency-widgets"}


def test_import_without_tensorflow_says_what_to_install(wheel: Path, tmp_path: Path):
    venv = _venv(tmp_path / "venv", site=None)
    _pip(venv, "install", "--no-deps", "--no-index", wheel)
    result = subprocess.run(
        [venv / "bin" / "python", "-c", "import saliency_widgets"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: saliency-widgets needs TensorFlow")
    assert "pip install 'saliency-widgets[cpu]'" in last
