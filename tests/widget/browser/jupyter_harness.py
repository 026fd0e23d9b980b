"""Driving notebooks in a real browser: Debian's chromium, JupyterLab, Notebook 7 and Voila.

Shared by the browser tests (``conftest.py`` wraps these in fixtures) and by
``benchmarks/widget_latency.py``. Everything is set up here, so that ``make test`` needs nothing
installed by hand: chromium is installed with apt when it is missing (as root, the way CI runs),
the servers get free ports and their own Jupyter config/data/runtime folders, and ``notebooks/``
is copied so that a run never writes outputs into the repository.
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chromium import ARGS

REPO = Path(__file__).resolve().parents[3]
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ARGS
START_TIMEOUT = 180.0
"""Seconds a server may take to answer (a shared 2-core machine can be slow)."""
KERNEL_TIMEOUT_MS = 240_000
"""Milliseconds a notebook may take to start its kernel and run all its cells."""


class HarnessError(RuntimeError):
    """Something the browser tests need could not be set up."""


def ensure_chromium() -> Path:
    """Debian's chromium, installed with apt when missing (idempotent).

    Raises:
        HarnessError: When chromium is missing and cannot be installed (not root, no apt).
    """
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise HarnessError(
            "the browser tests need Debian's chromium at /usr/bin/chromium: "
            "run `apt-get update && apt-get install -y chromium` as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    if not CHROMIUM.exists():
        raise HarnessError("apt installed chromium but /usr/bin/chromium is missing")
    return CHROMIUM


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_jupyter_home(home: Path) -> dict[str, Path]:
    """Isolated Jupyter folders under ``home``, and a copy of ``notebooks/`` to serve (``root``)."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "root")}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    shutil.copytree(NOTEBOOKS, dirs["root"], dirs_exist_ok=True)
    # No news pop-up: a headless test should see the notebook, and nothing reaches the internet.
    labconfig = dirs["config"] / "labconfig"
    labconfig.mkdir(exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    return dirs


def jupyter_env(home: dict[str, Path]) -> dict[str, str]:
    """The environment of servers (and so kernels) using ``home``'s folders."""
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home["config"]),
        "JUPYTER_DATA_DIR": str(home["data"]),
        "JUPYTER_RUNTIME_DIR": str(home["runtime"]),
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": str(home["config"] / "ipython"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
    }


class Server:
    """A Jupyter server process on 127.0.0.1 (stop it with :meth:`stop`).

    ``documents`` is where the server's front end opens a notebook: ``/lab/tree`` in
    JupyterLab, ``/notebooks`` in Notebook 7 (``None`` for Voila, which serves one notebook).
    ``env`` adds to (or overrides) :func:`jupyter_env`'s variables; ``python`` runs the server
    (and so its kernels: a kernel spec naming ``python`` means the server's interpreter).
    """

    def __init__(
        self,
        args: list[str],
        port: int,
        home: dict[str, Path],
        log: Path,
        documents: str | None = None,
        env: dict[str, str] | None = None,
        python: str | Path = sys.executable,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.documents = documents
        self.home = home
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            [str(python), "-m", *args],
            cwd=home["root"],
            env={**jupyter_env(home), **(env or {})},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
        )

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise HarnessError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_until_up(self, path: str | None) -> None:
        """Waits until ``GET path`` answers 200 (``None``: until the port accepts connections)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if path is None:
                    socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
                    return
                with urllib.request.urlopen(self.url + path, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise HarnessError(f"server did not answer within {START_TIMEOUT} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log."""
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the server (and its kernels)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        self._log_file.close()


def _start_jupyter(
    app: str, home: dict[str, Path], log: Path, documents: str, **options: Any
) -> Server:
    """``python -m app`` (JupyterLab or Notebook 7) on a free port of 127.0.0.1, no token,
    ``window.jupyterapp`` exposed; notebooks open under ``documents``; ``options`` go to
    :class:`Server` (``env``, ``python``)."""
    port = free_port()
    expose = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    server = Server(
        [
            app,
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--port-retries=0",
            "--ServerApp.token=",
            "--ServerApp.password=",
            f"--{expose}.expose_app_in_browser=True",
            f"--ServerApp.root_dir={home['root']}",
        ],
        port,
        home,
        log,
        documents=documents,
        **options,
    )
    server.wait_until_up("/api/status")
    return server


def start_lab(home: dict[str, Path], log: Path, **options: Any) -> Server:
    """JupyterLab on a free port of 127.0.0.1, no token, ``window.jupyterapp`` exposed
    (``options``: ``env``, ``python``, see :class:`Server`)."""
    return _start_jupyter("jupyterlab", home, log, "/lab/tree", **options)


def start_notebook(home: dict[str, Path], log: Path) -> Server:
    """Jupyter Notebook 7 on a free port of 127.0.0.1, no token, ``window.jupyterapp`` exposed.

    Notebook 7 is built from JupyterLab's packages: the same shell, notebook panel and cell
    DOM, so everything that drives JupyterLab here drives it too.
    """
    return _start_jupyter("notebook", home, log, "/notebooks")


def start_voila(home: dict[str, Path], notebook: str, log: Path) -> Server:
    """Voila serving ``notebook`` (relative to ``home['root']``) on a free port of 127.0.0.1."""
    port = free_port()
    server = Server(
        [
            "voila",
            notebook,
            "--no-browser",
            f"--port={port}",
            "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0",
            "--show_tracebacks=True",
            # Notebook 7 installs its JupyterLab extension (the interface switcher) where Voila
            # finds it too; Voila's page does not share @jupyterlab/docregistry with it, so it
            # fails to load there and logs a console error: it has nothing to do in Voila.
            "--VoilaConfiguration.extension_denylist=@jupyter-notebook/lab-extension",
        ],
        port,
        home,
        log,
    )
    server.wait_until_up(None)  # GET / would already execute the notebook
    return server


def launch_chromium(playwright: object) -> object:
    """Debian's chromium, headless, through Playwright (never ``playwright install``)."""
    return playwright.chromium.launch(executable_path=str(ensure_chromium()), args=CHROMIUM_ARGS)


OFF_HOST = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")
"""Requests that leave the machine (Voila's page links Font Awesome from a CDN)."""


def new_page(browser: object) -> tuple[object, object]:
    """A fresh browser context and page, large enough for the widget beside JupyterLab's UI.

    Requests off 127.0.0.1 are answered with an empty body, as if the network were there: the
    machine is offline, and the Font Awesome stylesheet Voila's template links from a CDN is
    also bundled in Voila's JavaScript. Their URLs are kept in ``page.off_host_requests``.
    """
    context = browser.new_context(viewport={"width": 1600, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.off_host_requests = []

    def answer_empty(route: object) -> None:
        url = route.request.url
        page.off_host_requests.append(url)
        kind = "text/css" if ".css" in url else "application/octet-stream"
        route.fulfill(status=200, content_type=kind, body="")

    context.route(OFF_HOST, answer_empty)
    return context, page


NOTEBOOK7_KNOWN_ERRORS = (
    # jupyter/notebook#7862: at start-up, JupyterLab's shortcuts plugin reads the settings
    # schema of a plugin the registry has not loaded yet. It is thrown from Notebook 7's own
    # bundle (the first stack frame), while the page loads, before any notebook output exists.
    re.compile(
        r"^TypeError: Cannot read properties of undefined \(reading 'schema'\)\n"
        r"\s+at \S+/static/notebook/notebook_core\.[0-9a-f]+\.js"
    ),
)
"""Uncaught errors of Notebook 7 itself, matched against their stack (see :class:`Console`)."""


class Console:
    """JavaScript errors of a page: ``console.error`` messages and uncaught exceptions.

    An uncaught exception whose stack matches one of ``known`` (compiled regular expressions,
    such as :data:`NOTEBOOK7_KNOWN_ERRORS`) is a known bug of the front end, not of ours: it
    goes to ``known`` instead of ``errors``.
    """

    def __init__(self, page: object, known: Sequence[re.Pattern[str]] = ()) -> None:
        self.errors: list[str] = []
        self.known: list[str] = []
        self._patterns = tuple(known)
        page.on("console", self._message)
        page.on("pageerror", self._uncaught)

    def _message(self, message: object) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text} @ {message.location}")

    def _uncaught(self, error: object) -> None:
        stack = error.stack or ""
        if any(pattern.search(stack) for pattern in self._patterns):
            self.known.append(stack)
        else:
            self.errors.append(f"uncaught: {error}")


BUNDLED_WIDGET = """\
samples = zoo.load_samples(16)
widget = SaliencyWidget(
    zoo.load_shapes_model(),
    samples.images,
    samples.labels,
    preprocess=zoo.preprocess,
    class_names=zoo.class_names(),
    masks=samples.masks,
)
"""
"""Code (for notebooks and apps) making ``widget``: the bundled model on 16 images, with their
labels, class names and masks (``zoo`` and ``SaliencyWidget`` imported)."""
SHOWN = """([root, image, index]) => {
    const state = root.explorer && root.explorer.state;
    return Boolean(state) && state.image === image && (index === null || state.classIndex === index)
        && root.dataset.pending === 'false';
}"""
PIXELS = """(root) => root.explorer.ready.then(() => {
    const canvas = root.querySelector('canvas.sw-overlay');
    return Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data);
})"""
"""The RGBA pixels of a widget's first map canvas (``locator.evaluate(PIXELS)``)."""


def wait_for_view(page: object, widget: object, image: int, class_index: int | None = None) -> dict:
    """Waits until the widget (a locator of its root) draws the map of ``image`` (and of
    ``class_index`` unless ``None``); returns its view's selection."""
    page.wait_for_function(
        SHOWN,
        arg=[widget.element_handle(), image, class_index],
        timeout=120_000,
        polling=50,
    )
    return widget.evaluate("(root) => root.explorer.selection()")


KERNEL_IDLE = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return Boolean(kernel) && kernel.status === 'idle'
        && panel.sessionContext.kernelDisplayStatus === 'idle';
}"""

ERROR_OUTPUTS = """() => {
    const errors = [];
    for (const cell of window.jupyterapp.shell.currentWidget.content.widgets) {
        if (cell.model.type !== 'code') continue;
        for (const output of cell.model.outputs.toJSON()) {
            if (output.output_type === 'error') errors.push(output.ename + ': ' + output.evalue);
        }
    }
    return errors;
}"""


def open_notebook(page: object, server: Server, notebook: str) -> None:
    """Opens ``notebook`` in the server's front end (JupyterLab or Notebook 7) and waits until
    its kernel is idle."""
    if server.documents is None:
        raise HarnessError("this server has no notebook front end to open documents in")
    page.goto(f"{server.url}{server.documents}/{notebook}")
    page.wait_for_function(KERNEL_IDLE, timeout=KERNEL_TIMEOUT_MS, polling=250)


def open_in_lab(page: object, lab: Server, notebook: str) -> None:
    """Opens ``notebook`` in JupyterLab and waits until its kernel is idle."""
    open_notebook(page, lab, notebook)


def run_all_cells(page: object) -> list[str]:
    """Runs every cell of the current notebook as a user would; returns the error outputs."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const cells = panel.content.widgets.filter((cell) => cell.model.type === 'code');
            return cells.every((cell) => cell.model.executionCount !== null)
                && panel.sessionContext.session.kernel.status === 'idle';
        }""",
        timeout=KERNEL_TIMEOUT_MS,
        polling=500,
    )
    return page.evaluate(ERROR_OUTPUTS)


def image_bytes(locator: object) -> bytes:
    """The bytes behind an ``<img>`` (ipywidgets shows pictures through blob URLs)."""
    encoded = locator.evaluate(
        """async (img) => {
            const buffer = await (await fetch(img.src)).arrayBuffer();
            let text = '';
            for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
            return btoa(text);
        }"""
    )
    return base64.b64decode(encoded)


class KernelProbe:
    """Evaluates code in the kernel of a notebook opened in JupyterLab or Notebook 7.

    A second client on the kernel's connection file: it sees the notebook's variables. Results
    come back in the ``execute_reply`` (``user_expressions``), on the shell channel, which never
    drops a message, unlike IOPub, where every widget update is broadcast to this client too.
    """

    def __init__(self, server: Server, notebook: str) -> None:
        from jupyter_client import BlockingKernelClient

        with urllib.request.urlopen(server.url + "/api/sessions", timeout=10) as response:
            sessions = json.load(response)
        kernel = next(s["kernel"]["id"] for s in sessions if s["path"].endswith(notebook))
        self.client = BlockingKernelClient(
            connection_file=str(server.home["runtime"] / f"kernel-{kernel}.json")
        )
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def json(self, code: str, expression: str, timeout: float = 300) -> object:
        """Runs ``code``, then returns ``json.loads`` of the string ``expression`` evaluates to.

        Raises:
            HarnessError: If the code raises or no reply comes within ``timeout`` seconds.
        """
        msg_id = self.client.execute(
            code, silent=True, store_history=False, user_expressions={"value": expression}
        )
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HarnessError(f"no reply from the kernel within {timeout} s to:\n{code}")
            try:
                reply = self.client.get_shell_msg(timeout=remaining)
            except Exception:  # queue.Empty
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content["status"] != "ok":
            raise HarnessError(f"kernel code failed: {content['ename']}: {content['evalue']}")
        value = content["user_expressions"]["value"]
        if value["status"] != "ok":
            raise HarnessError(f"expression failed: {value['ename']}: {value['evalue']}")
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))

    def close(self) -> None:
        """Disconnects (the kernel keeps running)."""
        self.client.stop_channels()
