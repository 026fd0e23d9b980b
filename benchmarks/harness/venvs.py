"""One virtualenv per contender, built from the sections of ``benchmarks/requirements.txt``.

A section that pip cannot install beside the pinned TensorFlow (its dry run would add a second
TensorFlow or CUDA wheels) falls back to ``--no-deps`` for the lines marked ``no-deps-fallback``;
what happened is recorded in the venv's stamp file and in the benchmark results. A line marked
``cpu-only`` (PyTorch) must resolve to a CPU build: if the dry run would add CUDA wheels, the
section fails with that reason before anything is downloaded.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

TENSORFLOWS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tf-nightly", "tf-nightly-cpu")
STAMP = ".benchmark-install.json"
MARKERS = ("no-deps", "no-deps-fallback", "cpu-only")
"""Trailing-comment markers of a requirement line (see ``benchmarks/requirements.txt``)."""
INSTALL_LOGIC = "2"
"""Part of every section's digest: bumping it re-checks every environment."""


@dataclass(frozen=True)
class Requirement:
    """One requirement line and how it is installed.

    Attributes:
        line: The pip requirement, without its trailing comment.
        marker: ``""`` or one of :data:`MARKERS`.
    """

    line: str
    marker: str = ""


@dataclass
class Install:
    """What installing one contender's environment did.

    Attributes:
        name: The section name.
        python: The virtualenv's interpreter.
        status: ``installed``, ``installed --no-deps`` or ``failed``.
        detail: What to know (why ``--no-deps``, the end of pip's error output).
        digest: Hash of the section, to skip unchanged environments.
    """

    name: str
    python: str
    status: str
    detail: str = ""
    digest: str = ""


def parse_sections(text: str) -> dict[str, list[Requirement]]:
    """Splits a requirements file into ``# [name]`` sections.

    Args:
        text: The file's text.

    Returns:
        Requirements by section name, in file order.

    Raises:
        ValueError: For a requirement line before the first section, or a duplicate section.
    """
    sections: dict[str, list[Requirement]] = {}
    current: list[Requirement] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("# [") and line.endswith("]"):
            name = line[3:-1].strip()
            if name in sections:
                raise ValueError(f"line {number}: section [{name}] appears twice")
            current = sections.setdefault(name, [])
            continue
        requirement, _, comment = line.partition("#")
        requirement = requirement.strip()
        if not requirement:
            continue
        if current is None:
            raise ValueError(f"line {number}: requirement {requirement!r} outside a section")
        words = comment.split()
        marker = next((w for w in words if w in MARKERS), "")
        current.append(Requirement(requirement, marker))
    return sections


def conflicts(report: dict, pinned: Sequence[str] = (), cuda: bool = False) -> list[str]:
    """What a ``pip install --dry-run --report`` would install that clashes with the pinned TF.

    Args:
        report: pip's installation report (JSON).
        pinned: The section's requirement lines; a TensorFlow distribution pinned there
            (``name==version``) is expected, any other one is a clash.
        cuda: Whether the pinned TensorFlow is a GPU build (its CUDA wheels are then expected).

    Returns:
        ``name==version`` of every TensorFlow distribution that is not the pinned one and, for a
        CPU build, of every ``nvidia-*`` CUDA wheel; empty when the install is compatible.
    """
    expected = {_normal(line) for line in pinned}
    installs = [
        f"{_normal(item['metadata']['name'])}=={item['metadata']['version']}"
        for item in report.get("install", [])
    ]
    tensorflows = [
        spec for spec in installs if spec.split("==")[0] in TENSORFLOWS and spec not in expected
    ]
    wheels = [] if cuda else [spec for spec in installs if spec.startswith("nvidia-")]
    return tensorflows + wheels


def _normal(spec: str) -> str:
    """``Tensorflow_CPU == 2.21.0`` → ``tensorflow-cpu==2.21.0`` (names compared as pip does)."""
    name, _, version = spec.replace(" ", "").partition("==")
    name = name.split("[")[0].lower().replace("_", "-")
    return f"{name}=={version}" if version else name


def digest(requirements: list[Requirement]) -> str:
    """A short hash of a section (its lines and markers)."""
    text = "\n".join([INSTALL_LOGIC, *(f"{r.line} #{r.marker}" for r in requirements)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def python_of(venv: Path) -> Path:
    """The interpreter of a virtualenv."""
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _pip(python: Path, *args: str) -> subprocess.CompletedProcess:
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _tail(process: subprocess.CompletedProcess, lines: int = 6) -> str:
    text = (process.stderr or "") + (process.stdout or "")
    kept = [
        line
        for line in text.splitlines()
        if line.strip() and "is ignored: it is neither" not in line
    ]
    return " / ".join(kept[-lines:])


def _install(python: Path, lines: list[str], *options: str) -> subprocess.CompletedProcess | None:
    if not lines:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    try:
        return _pip(python, "install", "--quiet", *options, "-r", handle.name)
    finally:
        Path(handle.name).unlink()


def _dry_run(
    python: Path, lines: list[str]
) -> tuple[subprocess.CompletedProcess | None, list[str]]:
    """pip's dry run of ``lines``: the process and what it would add that clashes (see
    :func:`conflicts`)."""
    with tempfile.TemporaryDirectory() as tmp:
        report_path = Path(tmp) / "report.json"
        dry = _install(python, lines, "--dry-run", "--report", str(report_path))
        cuda = any("[and-cuda]" in line for line in lines)
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return dry, conflicts(report, lines, cuda)


def ensure(name: str, requirements: list[Requirement], root: Path) -> Install:
    """Creates (or reuses) the virtualenv of one contender and installs its section.

    Args:
        name: Section name; the virtualenv is ``root / name``.
        requirements: The section's requirements.
        root: Folder of the virtualenvs (``benchmarks/.venvs``).

    Returns:
        What was done; an unchanged section whose install succeeded before is not redone.
    """
    venv = root / name
    python = python_of(venv)
    wanted = digest(requirements)
    stamp = venv / STAMP
    if python.exists() and stamp.exists():
        previous = Install(**json.loads(stamp.read_text()))
        if previous.digest == wanted and previous.status != "failed":
            return previous
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)

    normal = [r.line for r in requirements if r.marker != "no-deps"]
    fallback = [r.line for r in requirements if r.marker == "no-deps-fallback"]
    always_no_deps = [r.line for r in requirements if r.marker == "no-deps"]
    cpu_only = [r.line for r in requirements if r.marker == "cpu-only"]
    status, detail = "installed", ""
    if fallback or cpu_only:
        dry, clash = _dry_run(python, normal)
        cuda_wheels = [spec for spec in clash if spec.startswith("nvidia-")]
        if cpu_only and cuda_wheels:
            detail = (
                f"{', '.join(cpu_only)} would bring CUDA wheels ({', '.join(cuda_wheels[:3])}); "
                "this section wants the CPU build: put it where pip finds it first"
            )
            result = Install(name, str(python), "failed", detail, wanted)
            stamp.write_text(json.dumps(asdict(result)))
            return result
        if fallback and dry is not None and dry.returncode != 0:
            status, detail = "installed --no-deps", f"pip could not resolve it: {_tail(dry, 2)}"
        elif fallback and clash:
            shown = ", ".join(clash[:3]) + (f" and {len(clash) - 3} more" if len(clash) > 3 else "")
            status = "installed --no-deps"
            detail = f"with its dependencies pip would add {shown} beside the pinned TensorFlow"
        if status != "installed":
            normal = [line for line in normal if line not in fallback]
            always_no_deps = fallback + always_no_deps
            detail += f"; installed {', '.join(fallback)} with --no-deps"
    for step, options in ((normal, ()), (always_no_deps, ("--no-deps",))):
        process = _install(python, step, *options)
        if process is not None and process.returncode != 0:
            status, detail = "failed", f"pip install {' '.join(options)}: {_tail(process)}"
            break
    result = Install(name, str(python), status, detail.strip("; "), wanted)
    stamp.write_text(json.dumps(asdict(result)))
    return result


def check_import(python: Path, module: str) -> str:
    """Imports ``module`` with ``python``; returns ``""`` or the error's last line."""
    process = subprocess.run(
        [str(python), "-c", f"import {module}"], capture_output=True, text=True, check=False
    )
    if process.returncode == 0:
        return ""
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else f"import {module} failed"


def environments(
    names: Sequence[str],
    install: bool,
    root: Path,
    requirements: Path,
    imports: dict[str, str] | None = None,
) -> dict[str, dict]:
    """Installs (or finds) each named virtualenv; returns its status and interpreter.

    Args:
        names: Sections of ``requirements`` (``"project"`` is always present: this interpreter).
        install: Install missing or changed sections (else report them ``not-installed``).
        root: Folder of the virtualenvs.
        requirements: The requirements file.
        imports: Per section, a module whose import proves the environment works.

    Returns:
        Per name, ``{"status", "python", "detail"}``.
    """
    sections = parse_sections(requirements.read_text())
    out: dict[str, dict] = {
        "project": {"status": "installed", "python": sys.executable, "detail": "this process"}
    }
    for name in names:
        if install:
            print(f"environment {name}: checking/installing (first time takes minutes)", flush=True)
            env = asdict(ensure(name, sections[name], root))
        else:
            python = python_of(root / name)
            stamp = root / name / STAMP
            if stamp.exists():
                env = json.loads(stamp.read_text())
            elif python.exists():
                env = {"status": "installed", "python": str(python), "detail": "not stamped"}
            else:
                env = {"status": "not-installed", "python": str(python), "detail": "not installed"}
        module = (imports or {}).get(name)
        if env["status"] != "not-installed" and module:
            error = check_import(Path(env["python"]), module)
            if error:
                env["status"], env["detail"] = "failed", f"import {module}: {error}"
        out[name] = env
    return out
